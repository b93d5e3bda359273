// The event log as operators page through it (events.list): newest first, filtered by scope and event names.
import type { Db } from "../db/prisma";
import type { EventName } from "../../lib/events";
import { toStoredEvent, type StoredEvent } from "./bus";

export interface EventLogQuery {
  agentId?: string;
  gatewayId?: string;
  boardId?: string;
  events?: EventName[];
  /** Cursor: only events with a smaller id (a decimal string, as ids are bigint). */
  before?: string;
  limit: number;
}

export async function readEventLog(db: Db, query: EventLogQuery): Promise<StoredEvent[]> {
  const rows = await db.lifecycleEvent.findMany({
    where: {
      agentId: query.agentId,
      gatewayId: query.gatewayId,
      boardId: query.boardId,
      event: query.events?.length ? { in: query.events } : undefined,
      id: query.before ? { lt: BigInt(query.before) } : undefined,
    },
    orderBy: { id: "desc" },
    take: query.limit,
  });
  return rows.map(toStoredEvent);
}
