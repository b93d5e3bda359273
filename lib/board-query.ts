// What a board page asks for (filters, sort, cursor) and the order and filter it means, as pure functions. The server
// builds its SQL from the same definitions (server/agents/page.ts), and the browser uses them to decide where a pushed
// row belongs in the pages it has loaded, so both sides agree on order and membership. Client-safe.
import { AGENT_KINDS, type AgentKind, type AgentRow } from "./agent-row";
import { AGENT_STATUSES, type AgentStatus } from "./status";
import { z } from "zod";
import { agentFilter } from "./contract/schemas";

export const BOARD_SORTS = ["group", "name", "status", "lastSeen", "attempts"] as const;
export type BoardSort = (typeof BOARD_SORTS)[number];
export type SortDir = "asc" | "desc";

export const PAGE_LIMIT_MAX = 1000;
export const PAGE_LIMIT_DEFAULT = 200;

/** `agents.page`: one page of board rows under the board's filters, in keyset order. */
export const boardPageInput = z
  .object({
    ...agentFilter,
    sort: z.enum(BOARD_SORTS).default("group"),
    dir: z.enum(["asc", "desc"]).default("asc"),
    cursor: z.string().max(1000).nullish(),
    limit: z.number().int().min(1).max(PAGE_LIMIT_MAX).default(PAGE_LIMIT_DEFAULT),
  })
  .strict();

export interface PageFilter {
  status?: AgentStatus[];
  gatewayId?: string;
  boardId?: string;
  kind?: AgentKind[];
  q?: string;
}

/** One sort column: which row field, whether it can be NULL (NULLs sort last ascending, first descending, as in SQL). */
export interface SortColumn {
  field: "gatewayId" | "boardId" | "kind" | "status" | "name" | "id" | "lastSeenAt" | "wakeAttempts";
  nullable: boolean;
}

const col = (field: SortColumn["field"], nullable = false): SortColumn => ({ field, nullable });

/**
 * Every sort ends with the id, so the order is total and a (sort key, id) cursor is exact. "group" keeps an agent's
 * gateway and board together (by id, not name: the order an index can serve); gateway-level agents come after the
 * gateway's boards because NULL sorts last.
 */
export const SORT_COLUMNS: Record<BoardSort, SortColumn[]> = {
  group: [col("gatewayId"), col("boardId", true), col("kind"), col("name"), col("id")],
  name: [col("name"), col("id")],
  status: [col("status"), col("name"), col("id")],
  lastSeen: [col("lastSeenAt", true), col("id")],
  attempts: [col("wakeAttempts"), col("id")],
};

export type KeyValue = string | number | null;

export function sortKeyOf(row: AgentRow, sort: BoardSort): KeyValue[] {
  return SORT_COLUMNS[sort].map((c) => row[c.field]);
}

/** Orders like PostgreSQL: enums by declaration order, uuids and (C-collated) names by code units, NULLs last. */
function compareValue(field: SortColumn["field"], a: KeyValue, b: KeyValue): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (field === "status") return AGENT_STATUSES.indexOf(a as AgentStatus) - AGENT_STATUSES.indexOf(b as AgentStatus);
  if (field === "kind") return AGENT_KINDS.indexOf(a as AgentKind) - AGENT_KINDS.indexOf(b as AgentKind);
  if (typeof a === "number" && typeof b === "number") return a - b;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareKeys(a: KeyValue[], b: KeyValue[], sort: BoardSort, dir: SortDir): number {
  const cols = SORT_COLUMNS[sort];
  for (let i = 0; i < cols.length; i++) {
    const c = compareValue(cols[i].field, a[i] ?? null, b[i] ?? null);
    if (c !== 0) return dir === "asc" ? c : -c;
  }
  return 0;
}

export function compareRows(a: AgentRow, b: AgentRow, sort: BoardSort, dir: SortDir): number {
  return compareKeys(sortKeyOf(a, sort), sortKeyOf(b, sort), sort, dir);
}

/** ILIKE '%q%' as the server runs it (q is matched literally: % and _ are not wildcards). */
export function nameMatches(name: string, q: string | undefined): boolean {
  const needle = q?.trim();
  if (!needle) return true;
  return name.toLowerCase().includes(needle.toLowerCase());
}

/** Whether a row belongs in a page with this filter; mirrors the server's where clause. */
export function matchesPageFilter(row: AgentRow, f: PageFilter, ignoreStatus = false): boolean {
  if (!ignoreStatus && f.status?.length && !f.status.includes(row.status)) return false;
  if (f.gatewayId && row.gatewayId !== f.gatewayId) return false;
  if (f.boardId && row.boardId !== f.boardId) return false;
  if (f.kind?.length && !f.kind.includes(row.kind)) return false;
  return nameMatches(row.name, f.q);
}
