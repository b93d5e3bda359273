// Board pages: keyset pagination over (sort key, id) in one raw query that builds board rows straight from SQL, and the
// status counts under the same filters. Order and filters are defined once in lib/board-query.ts; this file turns them
// into SQL. Indexes serving each sort: prisma/schema.prisma (Agent); see docs/board.md.
import { Prisma, type Db } from "../db/prisma";
import { encodeRows, type EncodedRows } from "../../lib/agent-row";
import { SORT_COLUMNS, type BoardSort, type KeyValue, type PageFilter, type SortColumn, type SortDir, sortKeyOf } from "../../lib/board-query";
import { AGENT_KINDS, AGENT_STATUSES, type AgentStatus } from "../../lib/contract/enums";
import { rowColumns, rowFromRecord, type RowRecord } from "../agent-model/row";

export interface PageInput extends PageFilter {
  sort: BoardSort;
  dir: SortDir;
  cursor?: string;
  limit: number;
}

export interface AgentPage {
  rows: EncodedRows;
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

const COLUMN_SQL: Record<SortColumn["field"], Prisma.Sql> = {
  gatewayId: Prisma.sql`a."gatewayId"`,
  boardId: Prisma.sql`a."boardId"`,
  kind: Prisma.sql`a.kind`,
  status: Prisma.sql`a.status`,
  name: Prisma.sql`a.name`,
  id: Prisma.sql`a.id`,
  lastSeenAt: Prisma.sql`a."lastSeenAt"`,
  wakeAttempts: Prisma.sql`a."wakeAttempts"`,
};

function valueSql(field: SortColumn["field"], v: string | number): Prisma.Sql {
  switch (field) {
    case "gatewayId":
    case "boardId":
    case "id":
      return Prisma.sql`${v}::uuid`;
    case "kind":
      return Prisma.sql`${v}::"AgentKind"`;
    case "status":
      return Prisma.sql`${v}::"AgentStatus"`;
    case "lastSeenAt":
      return Prisma.sql`${new Date(v as number).toISOString()}::timestamptz`;
    case "wakeAttempts":
      return Prisma.sql`${v}::int`;
    default:
      return Prisma.sql`${v}::text`;
  }
}

/** Which statuses a filter lets through, as SQL (the page uses it; counts leave it out). */
function filterSql(f: PageFilter, withStatus: boolean): Prisma.Sql {
  const parts: Prisma.Sql[] = [];
  if (withStatus && f.status?.length) parts.push(Prisma.sql`a.status = ANY(${f.status}::"AgentStatus"[])`);
  if (f.gatewayId) parts.push(Prisma.sql`a."gatewayId" = ${f.gatewayId}::uuid`);
  if (f.boardId) parts.push(Prisma.sql`a."boardId" = ${f.boardId}::uuid`);
  if (f.kind?.length) parts.push(Prisma.sql`a.kind = ANY(${f.kind}::"AgentKind"[])`);
  const q = f.q?.trim();
  // Matched literally; the trigram index on name serves it (see the migration agent_board_pages).
  if (q) parts.push(Prisma.sql`a.name ILIKE ${`%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}`);
  return parts.length ? Prisma.join(parts, " AND ") : Prisma.sql`TRUE`;
}

/**
 * Rows strictly after `key` in the order (sort, dir). Without NULLs in play this is one row comparison, which
 * PostgreSQL answers from the sort's index as a range; with a nullable column it is spelled out column by column
 * (NULLs last ascending, first descending, as ORDER BY puts them).
 */
function afterSql(sort: BoardSort, dir: SortDir, key: KeyValue[]): Prisma.Sql {
  const cols = SORT_COLUMNS[sort];
  const op = dir === "asc" ? Prisma.sql`>` : Prisma.sql`<`;
  if (!cols.some((c) => c.nullable)) {
    const lhs = Prisma.join(cols.map((c) => COLUMN_SQL[c.field]));
    const rhs = Prisma.join(cols.map((c, i) => valueSql(c.field, key[i] as string | number)));
    return Prisma.sql`(${lhs}) ${op} (${rhs})`;
  }
  const eq = (c: SortColumn, v: KeyValue) => (v === null ? Prisma.sql`${COLUMN_SQL[c.field]} IS NULL` : Prisma.sql`${COLUMN_SQL[c.field]} = ${valueSql(c.field, v)}`);
  const beyond = (c: SortColumn, v: KeyValue): Prisma.Sql => {
    const column = COLUMN_SQL[c.field];
    if (v === null) return dir === "asc" ? Prisma.sql`FALSE` : Prisma.sql`${column} IS NOT NULL`;
    const strictly = Prisma.sql`${column} ${op} ${valueSql(c.field, v)}`;
    return c.nullable && dir === "asc" ? Prisma.sql`(${strictly} OR ${column} IS NULL)` : strictly;
  };
  const branches = cols.map((c, i) => Prisma.join([...cols.slice(0, i).map((p, j) => eq(p, key[j])), beyond(c, key[i])], " AND "));
  return Prisma.sql`(${Prisma.join(branches.map((b) => Prisma.sql`(${b})`), " OR ")})`;
}

function orderSql(sort: BoardSort, dir: SortDir): Prisma.Sql {
  const d = dir === "asc" ? Prisma.sql`ASC` : Prisma.sql`DESC`;
  return Prisma.join(SORT_COLUMNS[sort].map((c) => Prisma.sql`${COLUMN_SQL[c.field]} ${d}`));
}

export async function agentPage(db: Db, maxWakeAttempts: number, input: PageInput, after: KeyValue[] | null): Promise<AgentPage> {
  const where = after ? Prisma.sql`${filterSql(input, true)} AND ${afterSql(input.sort, input.dir, after)}` : filterSql(input, true);
  const records = await db.$queryRaw<RowRecord[]>`
    SELECT ${rowColumns(maxWakeAttempts)}
    FROM "Agent" a JOIN "Gateway" g ON g.id = a."gatewayId"
    WHERE ${where}
    ORDER BY ${orderSql(input.sort, input.dir)}
    LIMIT ${input.limit + 1}`;
  const rows = records.slice(0, input.limit).map(rowFromRecord);
  const last = rows[rows.length - 1];
  return {
    rows: encodeRows(rows),
    nextCursor: records.length > input.limit && last ? encodeCursor(sortKeyOf(last, input.sort)) : null,
  };
}

/** Agents per status under every filter but the status one (the status strip shows what a status click would leave). */
export async function agentCounts(db: Db, filter: PageFilter): Promise<Record<AgentStatus, number>> {
  const rows = await db.$queryRaw<{ status: AgentStatus; n: number }[]>`
    SELECT a.status::text AS status, count(*)::int AS n FROM "Agent" a WHERE ${filterSql(filter, false)} GROUP BY a.status`;
  const counts = Object.fromEntries(AGENT_STATUSES.map((s) => [s, 0])) as Record<AgentStatus, number>;
  for (const r of rows) counts[r.status] = r.n;
  return counts;
}

// ---- cursors: the last row's sort key, opaque to the browser ---------------------------------------------------------

export function encodeCursor(key: KeyValue[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The key a cursor carries, checked against the sort's columns; null when it is not one of ours. */
export function decodeCursor(cursor: string, sort: BoardSort): KeyValue[] | null {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const cols = SORT_COLUMNS[sort];
  if (!Array.isArray(key) || key.length !== cols.length) return null;
  for (let i = 0; i < cols.length; i++) {
    const v: unknown = key[i];
    const { field, nullable } = cols[i];
    if (v === null) {
      if (!nullable) return null;
      continue;
    }
    let ok: boolean;
    if (field === "gatewayId" || field === "boardId" || field === "id") ok = typeof v === "string" && UUID.test(v);
    else if (field === "status") ok = (AGENT_STATUSES as readonly unknown[]).includes(v);
    else if (field === "kind") ok = (AGENT_KINDS as readonly unknown[]).includes(v);
    else if (field === "name") ok = typeof v === "string" && v.length <= 200;
    else ok = typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
    if (!ok) return null;
  }
  return key as KeyValue[];
}
