// The board's filters and sort, kept in the URL (?status=…&gateway=…&sort=…), and the query they make.
import { isAgentKind, isAgentStatus, type AgentKind, type AgentStatus } from "./status";
import { BOARD_SORTS, type BoardSort, type SortDir } from "./board-query";
import type { PagesQuery } from "./board-cache";

export interface BoardFilters {
  status: AgentStatus[];
  gateway: string | null;
  board: string | null;
  kind: AgentKind | null;
  q: string;
  sort: BoardSort;
  dir: SortDir;
}

export const EMPTY_FILTERS: BoardFilters = { status: [], gateway: null, board: null, kind: null, q: "", sort: "group", dir: "asc" };

export function parseFilters(params: URLSearchParams | { get(name: string): string | null }): BoardFilters {
  const status = (params.get("status") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(isAgentStatus);
  const kind = params.get("kind");
  const sort = params.get("sort");
  return {
    status: [...new Set(status)],
    gateway: params.get("gateway") || null,
    board: params.get("board") || null,
    kind: kind && isAgentKind(kind) ? kind : null,
    q: params.get("q") ?? "",
    sort: BOARD_SORTS.includes(sort as BoardSort) ? (sort as BoardSort) : "group",
    dir: params.get("dir") === "desc" ? "desc" : "asc",
  };
}

export function filtersToQuery(f: BoardFilters): string {
  const p = new URLSearchParams();
  if (f.status.length) p.set("status", f.status.join(","));
  if (f.gateway) p.set("gateway", f.gateway);
  if (f.board) p.set("board", f.board);
  if (f.kind) p.set("kind", f.kind);
  if (f.q.trim()) p.set("q", f.q.trim());
  if (f.sort !== "group") p.set("sort", f.sort);
  if (f.dir !== "asc") p.set("dir", f.dir);
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** Filters narrow the board; the sort only orders it. */
export function hasFilters(f: BoardFilters): boolean {
  return f.status.length > 0 || !!f.gateway || !!f.board || !!f.kind || f.q.trim() !== "";
}

/** What the board asks the server for (agents.page and, without status, agents.counts). */
export function pagesQueryOf(f: BoardFilters): PagesQuery {
  const q: PagesQuery = { sort: f.sort, dir: f.dir };
  if (f.status.length) q.status = [...f.status].sort();
  if (f.gateway) q.gatewayId = f.gateway;
  if (f.board) q.boardId = f.board;
  if (f.kind) q.kind = [f.kind];
  if (f.q.trim()) q.q = f.q.trim();
  return q;
}
