// One event, three destinations (docs/lifecycle.md, Events): a JSON log line, a LifecycleEvent row (the timeline) and a Socket.IO push.
// Rows are written inside the caller's transaction; logging and pushing happen only after it commits.
// `operator.action` rows are also written to the operators' audit trail (OperatorAudit), which has its own retention.
// Listeners (notifications, metrics) hear each event after commit, never inside a lifecycle transaction.
import type { Db, Tx } from "../db/prisma";
import type { Logger } from "../platform/logger";
import type { EventName } from "../../lib/events";
import type { Publisher } from "./publisher";

export interface EventInput {
  event: EventName;
  message: string;
  agentId?: string | null;
  gatewayId?: string | null;
  boardId?: string | null;
  generation?: number | null;
  attempt?: number | null;
  deadlineAt?: Date | null;
  data?: Record<string, unknown>;
  actor?: string | null;
}

export interface StoredEvent extends EventInput {
  id: string;
  at: Date;
}

/** Called after commit with the events just published; it must not throw or block (start async work and return). */
export type EventListener = (events: readonly StoredEvent[]) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly publisher: Publisher,
  ) {}

  /** Inserts the rows; call `publish` with the result once the transaction has committed. */
  async record(tx: Tx | Db, events: EventInput[]): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    const rows = await tx.lifecycleEvent.createManyAndReturn({
      // The app's clock, not the transaction's start time, so the timeline shows when each step happened.
      data: events.map((e) => {
        const columns = eventColumns(e);
        return { at: new Date(), ...columns, data: columns.data as object };
      }),
    });
    const audited = events.filter((e) => e.event === "operator.action");
    if (audited.length > 0) {
      await tx.operatorAudit.createMany({
        data: audited.map((e) => {
          const { actor, message, agentId, gatewayId, boardId, data } = eventColumns(e);
          return { at: new Date(), actor, message, agentId, gatewayId, boardId, data: data as object };
        }),
      });
    }
    return rows.map(toStoredEvent);
  }

  /**
   * Like `record`, as one statement with one parameter whatever the number of events (a batch of reconcile decisions
   * writes hundreds): per-row parameters cost more than the insert itself. Operator actions go through `record`.
   */
  async recordBatch(tx: Tx | Db, events: EventInput[]): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    if (events.some((e) => e.event === "operator.action")) return this.record(tx, events);
    const at = new Date();
    const rows = events.map(eventColumns);
    const inserted = await tx.$queryRawUnsafe<{ id: bigint }[]>(
      `INSERT INTO "LifecycleEvent" (at, event, message, "agentId", "gatewayId", "boardId", generation, attempt, "deadlineAt", data, actor)
       SELECT $2::timestamptz, e.event, e.message, e."agentId", e."gatewayId", e."boardId", e.generation, e.attempt, e."deadlineAt", e.data, e.actor
         FROM jsonb_to_recordset($1::jsonb) AS e(event text, message text, "agentId" uuid, "gatewayId" uuid, "boardId" uuid, generation int,
                                                 attempt int, "deadlineAt" timestamptz, data jsonb, actor text)
       RETURNING id`,
      JSON.stringify(rows),
      at,
    );
    // One statement takes its ids from the sequence in row order.
    const ids = inserted.map((r) => BigInt(r.id)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    return rows.map((r, i) => ({ ...r, event: r.event, data: r.data, id: ids[i].toString(), at }));
  }

  /** Returns the function that removes the listener. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(events: StoredEvent[]): void {
    for (const e of events) {
      this.logger.info(
        {
          event: e.event,
          agentId: e.agentId ?? undefined,
          gatewayId: e.gatewayId ?? undefined,
          boardId: e.boardId ?? undefined,
          generation: e.generation ?? undefined,
          attempt: e.attempt ?? undefined,
          deadlineAt: e.deadlineAt?.toISOString(),
          actor: e.actor ?? undefined,
          data: e.data && Object.keys(e.data).length > 0 ? e.data : undefined,
        },
        e.message,
      );
      this.publisher.lifecycleEvent(e);
    }
    if (events.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (err) {
        this.logger.error({ err }, "event listener failed");
      }
    }
  }

  /** Record and publish an event that is not part of a larger transaction. */
  async emit(event: EventInput): Promise<StoredEvent> {
    const [stored] = await this.recordBatch(this.db, [event]);
    this.publish([stored]);
    return stored;
  }
}

type EventRow = {
  id: bigint;
  at: Date;
  event: string;
  message: string;
  agentId: string | null;
  gatewayId: string | null;
  boardId: string | null;
  generation: number | null;
  attempt: number | null;
  deadlineAt: Date | null;
  data: unknown;
  actor: string | null;
};

/** An event's stored columns, absent fields as NULL (the id and time are the caller's). */
function eventColumns(e: EventInput) {
  return {
    event: e.event,
    message: e.message,
    agentId: e.agentId ?? null,
    gatewayId: e.gatewayId ?? null,
    boardId: e.boardId ?? null,
    generation: e.generation ?? null,
    attempt: e.attempt ?? null,
    deadlineAt: e.deadlineAt ?? null,
    data: e.data ?? {},
    actor: e.actor ?? null,
  };
}

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: row.id.toString(),
    at: row.at,
    event: row.event as EventName,
    message: row.message,
    agentId: row.agentId,
    gatewayId: row.gatewayId,
    boardId: row.boardId,
    generation: row.generation,
    attempt: row.attempt,
    deadlineAt: row.deadlineAt,
    data: (row.data ?? {}) as Record<string, unknown>,
    actor: row.actor,
  };
}
