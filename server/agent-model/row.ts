// The board row of an agent (lib/agent-row.ts) as the server builds it: from a full view, or straight from SQL so that
// hot paths (a batched heartbeat's RETURNING, a board page) produce it without a second read.
import { Prisma } from "../db/prisma";
import { clipError, ROW_ERROR_CHARS, type AgentRow } from "../../lib/agent-row";
import type { AgentView } from "./view";

export function rowFromView(v: AgentView): AgentRow {
  const current = v.gateway.templateRevision;
  return {
    id: v.id,
    name: v.name,
    kind: v.kind,
    status: v.status,
    statusReason: v.statusReason,
    gatewayId: v.gatewayId,
    boardId: v.boardId,
    wakeAttempts: v.wakeAttempts,
    maxWakeAttempts: v.maxWakeAttempts,
    lifecycleGeneration: v.lifecycleGeneration,
    checkinDeadlineAt: v.checkinDeadlineAt?.getTime() ?? null,
    lastSeenAt: v.lastSeenAt?.getTime() ?? null,
    lastProvisionError: clipError(v.lastProvisionError),
    templateStale: Boolean(current && current !== v.templateRevision),
    heartbeatsRejected: v.heartbeatsRejected,
    lastRejectedReason: v.lastRejectedReason,
    updatedAt: v.updatedAt.getTime(),
  };
}

/**
 * The row's columns for a raw query over `"Agent" a` joined with its `"Gateway" g`. `maxWakeAttempts` is the
 * process-wide default for gateways without their own.
 */
export function rowColumns(maxWakeAttempts: number): Prisma.Sql {
  return Prisma.sql`a.id::text AS id, a.name, a.kind::text AS kind, a.status::text AS status, a."statusReason",
    a."gatewayId"::text AS "gatewayId", a."boardId"::text AS "boardId", a."wakeAttempts",
    COALESCE(g."maxWakeAttempts", ${maxWakeAttempts}::int) AS "maxWakeAttempts", a."lifecycleGeneration",
    a."checkinDeadlineAt", a."lastSeenAt", left(a."lastProvisionError", ${ROW_ERROR_CHARS}::int) AS "lastProvisionError",
    (g."templateRevision" IS NOT NULL AND a."templateRevision" IS DISTINCT FROM g."templateRevision") AS "templateStale",
    a."heartbeatsRejected", a."lastRejectedReason", a."updatedAt"`;
}

/** What `rowColumns` returns, as pg hands it over. */
export interface RowRecord extends Omit<AgentRow, "checkinDeadlineAt" | "lastSeenAt" | "updatedAt" | "lastProvisionError"> {
  checkinDeadlineAt: Date | null;
  lastSeenAt: Date | null;
  updatedAt: Date;
  lastProvisionError: string | null;
}

export function rowFromRecord(r: RowRecord): AgentRow {
  return {
    ...r,
    checkinDeadlineAt: r.checkinDeadlineAt?.getTime() ?? null,
    lastSeenAt: r.lastSeenAt?.getTime() ?? null,
    lastProvisionError: clipError(r.lastProvisionError),
    updatedAt: r.updatedAt.getTime(),
  };
}
