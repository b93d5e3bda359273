// Fleet operations: the provisioning of a bulk create, a bulk reprovision, a gateway-wide wake and a gateway delete. A
// request only records the operation and enqueues its job (in one transaction); the job (jobs/fleet-operation.ts) walks
// the agents in id order, a chunk at a time, through the lifecycle's own cycle start and provisioning path (or its agent
// delete), and stores after each chunk how far it got together with its counts. A job that dies is retried and resumes after that cursor; an agent
// whose cycle started after the operation was created is not started again (docs/fleet.md).
import type { PgBoss } from "pg-boss";
import pLimit from "p-limit";
import { dbNow, type Db, type Tx } from "../db/prisma";
import type { EventBus, EventInput } from "../events/bus";
import type { LifecycleService } from "../lifecycle/service";
import type { Logger } from "../platform/logger";
import type { Publisher } from "../events/publisher";
import { enqueueFleetOperation } from "../queue/queues";
import { removeDeletedGateway } from "../gateways/service";

export type FleetOperationKind = "provision_created" | "reprovision" | "wake_gateway" | "gateway_delete";
export type FleetOperationStatus = "queued" | "running" | "done" | "failed";

export interface FleetOperationView {
  id: string;
  kind: FleetOperationKind;
  gatewayId: string | null;
  total: number;
  done: number;
  failed: number;
  status: FleetOperationStatus;
  error: string | null;
  startedBy: string;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface FleetOperationsDeps {
  db: Db;
  boss: PgBoss;
  events: EventBus;
  publisher: Publisher;
  lifecycle: LifecycleService;
  logger: Logger;
  /** Agents handled per stored step of the cursor. */
  chunkSize: number;
  /** Agents of a chunk whose cycles start at once (their gateway calls are bounded by the lifecycle itself). */
  concurrency?: number;
  /** Least time between two progress pushes of one operation. */
  progressIntervalMs?: number;
}

export interface EnqueueInput {
  kind: FleetOperationKind;
  gatewayId?: string | null;
  /** The agents to walk; a gateway-wide wake leaves it empty and takes the gateway's agents when its job starts. */
  agentIds: string[];
  startedBy: string;
}

const viewSelect = {
  id: true,
  kind: true,
  gatewayId: true,
  total: true,
  done: true,
  failed: true,
  status: true,
  error: true,
  startedBy: true,
  createdAt: true,
  finishedAt: true,
} as const;

const REASONS: Record<Exclude<FleetOperationKind, "provision_created" | "gateway_delete">, { reason: string; mode: "provision" | "wake" }> = {
  reprovision: { reason: "bulk reprovision", mode: "provision" },
  wake_gateway: { reason: "gateway-wide wake", mode: "wake" },
};

const LABEL: Record<FleetOperationKind, string> = {
  provision_created: "Provisioning of created agents",
  reprovision: "Bulk reprovision",
  wake_gateway: "Gateway-wide wake",
  gateway_delete: "Gateway delete",
};

interface Cursorless {
  id: string;
  kind: FleetOperationKind;
  gatewayId: string | null;
  status: FleetOperationStatus;
  startedBy: string;
  createdAt: Date;
}

export class FleetOperations {
  private readonly lastPush = new Map<string, number>();

  constructor(private readonly deps: FleetOperationsDeps) {}

  /** Records the operation and its job in the caller's transaction: both or neither. Returns the operation id. */
  async enqueue(tx: Tx, input: EnqueueInput): Promise<string> {
    const agentIds = [...new Set(input.agentIds)];
    // The database's clock: cycles are stamped by it, and a resumed job compares the two.
    const now = await dbNow(tx);
    const row = await tx.fleetOperation.create({
      data: { kind: input.kind, gatewayId: input.gatewayId ?? null, agentIds, total: agentIds.length, startedBy: input.startedBy, createdAt: now },
      select: { id: true },
    });
    await enqueueFleetOperation(this.deps.boss, tx, row.id);
    return row.id;
  }

  async start(input: EnqueueInput): Promise<FleetOperationView> {
    const id = await this.deps.db.$transaction((tx) => this.enqueue(tx, input));
    return (await this.announce(id))!;
  }

  /** Pushes the state of an operation enqueued in the caller's transaction, once that committed. */
  async announce(id: string): Promise<FleetOperationView | null> {
    const view = await this.get(id);
    if (view) await this.push(view, true);
    return view;
  }

  get(id: string): Promise<FleetOperationView | null> {
    return this.deps.db.fleetOperation.findUnique({ where: { id }, select: viewSelect });
  }

  recent(opts: { limit: number; gatewayId?: string; since?: Date }): Promise<FleetOperationView[]> {
    return this.deps.db.fleetOperation.findMany({
      where: { gatewayId: opts.gatewayId, createdAt: opts.since ? { gte: opts.since } : undefined },
      select: viewSelect,
      orderBy: { createdAt: "desc" },
      take: opts.limit,
    });
  }

  /** The job: runs the operation to its end from wherever it stopped. Throws (the job retries) on any failure. */
  async run(operationId: string): Promise<FleetOperationView | null> {
    const { db } = this.deps;
    const op = await db.fleetOperation.findUnique({
      where: { id: operationId },
      select: { id: true, kind: true, gatewayId: true, status: true, startedBy: true, createdAt: true },
    });
    if (!op || op.status === "done" || op.status === "failed") return op ? this.get(operationId) : null;
    if (op.status === "queued") {
      // A gateway-wide operation takes the gateway's agents as they are when it starts.
      if (op.kind === "wake_gateway" && op.gatewayId) {
        await db.$executeRaw`
          UPDATE "FleetOperation" o
             SET "agentIds" = COALESCE((SELECT array_agg(a.id ORDER BY a.id) FROM "Agent" a WHERE a."gatewayId" = o."gatewayId"), '{}'),
                 total = (SELECT count(*) FROM "Agent" a WHERE a."gatewayId" = o."gatewayId"),
                 status = 'running'
           WHERE o.id = ${operationId}::uuid AND o.status = 'queued'`;
      } else {
        await db.fleetOperation.updateMany({ where: { id: operationId, status: "queued" }, data: { status: "running" } });
      }
      await this.push((await this.get(operationId))!, true);
    }
    for (;;) {
      const next = await db.$queryRaw<{ id: string }[]>`
        SELECT x.id::text AS id
          FROM "FleetOperation" o, unnest(o."agentIds") AS x(id)
         WHERE o.id = ${operationId}::uuid AND (o.cursor IS NULL OR x.id > o.cursor)
         ORDER BY x.id
         LIMIT ${this.deps.chunkSize}`;
      if (next.length === 0) break;
      const ids = next.map((r) => r.id);
      const failed = op.kind === "gateway_delete" ? await this.deleteChunk(op, ids) : await this.runChunk({ ...op, kind: op.kind }, ids);
      const moved = await db.$executeRaw`
        UPDATE "FleetOperation" SET cursor = ${ids[ids.length - 1]}::uuid, done = done + ${ids.length}, failed = failed + ${failed}
         WHERE id = ${operationId}::uuid AND status = 'running'`;
      if (moved === 0) return this.get(operationId);
      const view = await this.get(operationId);
      if (view) await this.push(view, false);
    }
    // Once its agents are gone, the gateway itself (a retry after a crash here finds it gone already).
    if (op.kind === "gateway_delete" && op.gatewayId) await removeDeletedGateway(db, op.gatewayId);
    await db.fleetOperation.updateMany({ where: { id: operationId, status: "running" }, data: { status: "done", finishedAt: new Date() } });
    const view = await this.get(operationId);
    if (view) await this.finished(view);
    return view;
  }

  /** The job failed for good: the operation ends as failed where it stopped. */
  async fail(operationId: string, error: string): Promise<void> {
    const count = await this.deps.db.fleetOperation.updateMany({
      where: { id: operationId, status: { in: ["queued", "running"] } },
      data: { status: "failed", error: error.slice(0, 500), finishedAt: new Date() },
    });
    const view = count.count > 0 ? await this.get(operationId) : null;
    if (view) await this.finished(view);
  }

  /** Starts (or resumes) the cycles of a chunk and waits for their provisioning. Returns how many failed. */
  private async runChunk(op: Cursorless & { kind: Exclude<FleetOperationKind, "gateway_delete"> }, ids: string[]): Promise<number> {
    const { db, lifecycle } = this.deps;
    const rows = await db.agent.findMany({
      where: { id: { in: ids } },
      select: { id: true, gatewayId: true, status: true, lifecycleGeneration: true, cycleStartedAt: true },
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    let missing = ids.length - rows.length;
    const one = async (agentId: string) => {
      const agent = byId.get(agentId);
      if (!agent) return;
      let generation = agent.lifecycleGeneration;
      let status = agent.status;
      // Started since the operation was created (by this operation before a crash, or by someone else): that cycle
      // serves; only its provisioning is made sure of.
      const fresh = op.kind === "provision_created" || (agent.cycleStartedAt !== null && agent.cycleStartedAt >= op.createdAt);
      if (!fresh && op.kind !== "provision_created") {
        const { reason, mode } = REASONS[op.kind];
        const view = await lifecycle.startCycle(agentId, op.startedBy, reason, mode);
        if (!view) {
          missing += 1;
          return;
        }
        generation = view.lifecycleGeneration;
        status = view.status;
      }
      if (status === "provisioning" || status === "updating") await lifecycle.settleProvisioning(agentId, generation, agent.gatewayId);
    };
    await this.inWindow(ids, one);
    // Failed: gone, or its cycle is not provisioned (the gateway refused or timed out; the lifecycle's wakes retry it
    // as usual). Whether the agent then checks in is the lifecycle's business, not the operation's.
    const [{ failed }] = await db.$queryRaw<{ failed: number }[]>`
      SELECT count(*)::int AS failed FROM "Agent"
       WHERE id = ANY(${ids}::uuid[]) AND status <> 'deleting' AND "provisionedGeneration" IS DISTINCT FROM "lifecycleGeneration"`;
    return failed + missing;
  }

  /**
   * Deletes the agents of a chunk through the lifecycle (removed from their runtime, best effort, and their cycles
   * ended). An agent already gone (deleted by a try that crashed, or by someone else) counts as done. A failure to
   * delete throws: the job retries the chunk.
   */
  private async deleteChunk(op: Cursorless, ids: string[]): Promise<number> {
    await this.inWindow(ids, async (agentId) => {
      await this.deps.lifecycle.deleteAgent(agentId, op.startedBy);
    });
    return 0;
  }

  /** A sliding window: a slow agent holds one place, not its whole group. */
  private async inWindow(ids: string[], fn: (id: string) => Promise<void>): Promise<void> {
    const limit = pLimit(Math.max(1, this.deps.concurrency ?? 16));
    await Promise.all(ids.map((id) => limit(() => fn(id))));
  }

  /**
   * Progress as a stored `fleet.operation.progress` event (timeline, logs, `lifecycle.event` push): at most one per
   * operation per progressIntervalMs, except `force` (start and end). Never fails the operation.
   */
  private async push(view: FleetOperationView, force: boolean): Promise<void> {
    const now = Date.now();
    const last = this.lastPush.get(view.id) ?? 0;
    if (!force && now - last < (this.deps.progressIntervalMs ?? 250)) return;
    this.lastPush.set(view.id, now);
    await this.deps.events.emit(progressEvent(view)).catch((err) => this.deps.logger.warn({ operationId: view.id, err: String(err) }, "could not record fleet operation progress"));
  }

  private async finished(view: FleetOperationView): Promise<void> {
    await this.push(view, true);
    this.lastPush.delete(view.id);
  }
}

function progressEvent(view: FleetOperationView): EventInput {
  const what = LABEL[view.kind];
  const message =
    view.status === "done"
      ? `${what} finished: ${view.done}/${view.total}${view.failed ? `, ${view.failed} failed` : ""}`
      : view.status === "failed"
        ? `${what} stopped at ${view.done}/${view.total}: ${view.error ?? "failed"}`
        : `${what}: ${view.done}/${view.total}${view.failed ? `, ${view.failed} failed` : ""}`;
  return {
    event: "fleet.operation.progress",
    message,
    gatewayId: view.gatewayId,
    actor: view.startedBy,
    data: {
      operationId: view.id,
      kind: view.kind,
      status: view.status,
      total: view.total,
      done: view.done,
      failed: view.failed,
    },
  };
}
