// Applying a batch of pushed board rows (one `agent.updated` message, lib/agent-row.ts) to the board pages a browser has
// loaded, as one pure step: rows are replaced in place when newer, dropped when they no longer match the filter, moved
// when their sort key changed, and inserted when they newly match, but only inside the loaded sort range (beyond it,
// the next page fetch brings them, in order, from the server). Order and filter come from lib/board-query.ts, the
// same definitions the server's SQL is built from.
import { clipError, type AgentRow } from "./agent-row";
import { compareKeys, compareRows, matchesPageFilter, sortKeyOf, type BoardSort, type KeyValue, type PageFilter, type SortDir } from "./board-query";

export interface PagesQuery extends PageFilter {
  sort: BoardSort;
  dir: SortDir;
}

/** A loaded page: its rows in order, the server's cursor after it, and the sort key of its last row as fetched. */
export interface RowPage {
  rows: AgentRow[];
  nextCursor: string | null;
  /** Where this page ends in the sort order (its last row when fetched); null for an empty page. */
  lastKey: KeyValue[] | null;
}

export interface ApplyResult {
  pages: RowPage[];
  /** False when nothing shown changed (the cache is left alone). */
  changed: boolean;
  /** Rows that changed status or newly matched: the status counts are out of date. */
  countsStale: boolean;
  /** Matching rows that changed beyond the loaded range (they show when the operator scrolls there). */
  beyond: number;
}

export function pageOf(rows: AgentRow[], nextCursor: string | null, sort: BoardSort): RowPage {
  const last = rows[rows.length - 1];
  return { rows, nextCursor, lastKey: last ? sortKeyOf(last, sort) : null };
}

/** Newest version of each id in a batch (pushes of one flush may repeat an agent). */
function newestById(rows: readonly AgentRow[]): Map<string, AgentRow> {
  const byId = new Map<string, AgentRow>();
  for (const r of rows) {
    const had = byId.get(r.id);
    if (!had || r.updatedAt >= had.updatedAt) byId.set(r.id, r);
  }
  return byId;
}

/** First index in `rows` (sorted) whose row sorts after `row`. */
function insertionIndex(rows: AgentRow[], row: AgentRow, q: PagesQuery): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareRows(rows[mid], row, q.sort, q.dir) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Which loaded page a row with this key belongs to, or -1 when it sorts beyond what is loaded. Page i holds the keys
 * after page i-1's last key up to its own last key; the last page is open-ended once there is no next page.
 */
function pageFor(pages: RowPage[], key: KeyValue[], q: PagesQuery): number {
  for (let i = 0; i < pages.length; i++) {
    const p = pages[i];
    const isLast = i === pages.length - 1;
    if (isLast && p.nextCursor === null) return i;
    if (p.lastKey && compareKeys(key, p.lastKey, q.sort, q.dir) <= 0) return i;
  }
  return -1;
}

export function applyRows(pages: RowPage[], incoming: readonly AgentRow[], q: PagesQuery, removed: ReadonlySet<string> = new Set()): ApplyResult {
  const batch = newestById(incoming);
  if (batch.size === 0 && removed.size === 0) return { pages, changed: false, countsStale: false, beyond: 0 };

  let changed = false;
  let countsStale = false;
  let beyond = 0;
  const place: AgentRow[] = []; // rows to (re)insert by sort order
  const seen = new Set<string>();

  const next = pages.map((page) => {
    let touched = false;
    const rows: AgentRow[] = [];
    for (const current of page.rows) {
      if (removed.has(current.id)) {
        touched = true;
        countsStale = true;
        continue;
      }
      const update = batch.get(current.id);
      if (!update) {
        rows.push(current);
        continue;
      }
      seen.add(current.id);
      if (update === current || update.updatedAt < current.updatedAt) {
        rows.push(current); // already shown, or an older push than what is shown
        continue;
      }
      if (update.status !== current.status) countsStale = true;
      if (!matchesPageFilter(update, q)) {
        touched = true;
        if (matchesPageFilter(update, q, true)) countsStale = true;
        continue;
      }
      touched = true;
      if (compareKeys(sortKeyOf(update, q.sort), sortKeyOf(current, q.sort), q.sort, q.dir) === 0) rows.push(update);
      else place.push(update); // its sort key moved: reinsert where it now belongs
    }
    if (!touched) return page;
    changed = true;
    return { ...page, rows };
  });

  for (const [id, row] of batch) {
    if (seen.has(id) || removed.has(id)) continue;
    if (matchesPageFilter(row, q, true)) countsStale = true; // unknown before: it may have changed status
    if (matchesPageFilter(row, q)) place.push(row);
  }

  for (const row of place) {
    const i = pageFor(next, sortKeyOf(row, q.sort), q);
    if (i === -1) {
      beyond += 1;
      continue;
    }
    const page = next[i];
    const rows = page === pages[i] ? [...page.rows] : page.rows;
    rows.splice(insertionIndex(rows, row, q), 0, row);
    next[i] = { ...page, rows };
    changed = true;
  }

  return { pages: changed ? next : pages, changed, countsStale, beyond };
}

/**
 * The loaded pages as one list for the table. A page fetched while a push was on its way can repeat a row that a push
 * already moved into an earlier page: each id shows once, in its newest version's place.
 */
export function flattenPages(pages: readonly RowPage[]): AgentRow[] {
  const newest = new Map<string, AgentRow>();
  for (const p of pages) for (const r of p.rows) {
    const had = newest.get(r.id);
    if (!had || r.updatedAt > had.updatedAt) newest.set(r.id, r);
  }
  const out: AgentRow[] = [];
  for (const p of pages) for (const r of p.rows) {
    if (newest.get(r.id) === r) {
      out.push(r);
      newest.delete(r.id); // the same object twice (equal updatedAt): keep the first
    }
  }
  return out;
}

// ---- full agent views (agents.get, agents.list) ---------------------------------------------------------------------

const TIME_FIELDS = ["checkinDeadlineAt", "lastSeenAt", "updatedAt"] as const;

interface ViewLike {
  updatedAt: Date | string;
  lastProvisionError: string | null;
}

/**
 * A full agent view with a pushed row's fields merged in (epoch ms → Date), or "refetch" when the row cannot say
 * everything that changed: its error is a one-line summary, so a new error means reading the full record. Null when the
 * row is older than the view.
 */
export function mergeRowIntoView<T extends ViewLike>(view: T, row: AgentRow): T | "refetch" | null {
  if (row.updatedAt < new Date(view.updatedAt).getTime()) return null;
  if (clipError(view.lastProvisionError) !== row.lastProvisionError) return "refetch";
  const { templateStale: _stale, lastProvisionError: _error, ...fields } = row;
  void _stale;
  void _error;
  const merged = { ...view, ...fields } as unknown as Record<string, unknown>;
  for (const f of TIME_FIELDS) merged[f] = row[f] === null ? null : new Date(row[f]);
  return merged as unknown as T;
}
