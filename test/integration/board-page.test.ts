// Board pages against the real database: paging with the keyset cursor visits every matching agent exactly once, in
// the order lib/board-query.ts defines (the order the browser uses to place pushed rows), under every sort and filter,
// and the counts agree with the same filter applied in the browser.
// Run: node --import tsx --test test/integration/board-page.test.ts
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase } from "../support/database";
import { createPrisma, type Db } from "../../server/db/prisma";
import { agentCounts, agentPage, decodeCursor, encodeCursor, type PageInput } from "../../server/agents/page";
import { rowColumns, rowFromRecord, type RowRecord } from "../../server/agent-model/row";
import { decodeRows, type AgentRow } from "../../lib/agent-row";
import { BOARD_SORTS, compareRows, matchesPageFilter, type PageFilter } from "../../lib/board-query";
import { seedFleetSql } from "../../scripts/seed-fleet-sql";

const MAX_WAKE = 3;
let db: Db;
let drop: () => Promise<void>;
let all: AgentRow[];
let gatewayId: string;
let boardId: string;

before(async () => {
  const database = await createTestDatabase();
  drop = database.drop;
  await seedFleetSql(database.url, { agents: 400, gateways: 3, boardsPerGateway: 3 });
  db = createPrisma(database.url, 2);
  // Gateway-level agents (no board) and names that need care: LIKE wildcards, case, a backslash.
  await db.$executeRaw`
    INSERT INTO "Agent" (id, name, kind, "gatewayId", "sessionKey", status, "updatedAt")
    SELECT gen_random_uuid(), 'main', 'gateway_main', id, 'agent:main:' || id, 'online', now() FROM "Gateway"`;
  const gw = await db.gateway.findFirstOrThrow({ orderBy: { name: "asc" } });
  const board = await db.board.findFirstOrThrow({ where: { gatewayId: gw.id }, orderBy: { name: "asc" } });
  gatewayId = gw.id;
  boardId = board.id;
  for (const name of ["100%_done", "100x done", "Back\\slash", "UPPER-Case"]) {
    await db.$executeRaw`
      INSERT INTO "Agent" (id, name, kind, "gatewayId", "boardId", "sessionKey", status, "updatedAt")
      VALUES (gen_random_uuid(), ${name}, 'board_worker', ${gw.id}::uuid, ${board.id}::uuid, 'agent:' || ${name}, 'waking', now())`;
  }
  const records = await db.$queryRaw<RowRecord[]>`SELECT ${rowColumns(MAX_WAKE)} FROM "Agent" a JOIN "Gateway" g ON g.id = a."gatewayId"`;
  all = records.map(rowFromRecord);
});

after(async () => {
  await db?.$disconnect();
  await drop?.();
});

async function pageThrough(input: Omit<PageInput, "cursor">): Promise<AgentRow[]> {
  const out: AgentRow[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await agentPage(db, MAX_WAKE, { ...input, cursor: cursor ?? undefined }, cursor ? decodeCursor(cursor, input.sort) : null);
    out.push(...decodeRows(page.rows));
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
  throw new Error("paging did not end");
}

const FILTERS: [string, () => PageFilter][] = [
  ["no filter", () => ({})],
  ["status", () => ({ status: ["offline", "waking"] })],
  ["gateway + kind", () => ({ gatewayId, kind: ["board_worker"] })],
  ["board", () => ({ boardId })],
  ["search, case-insensitive", () => ({ q: "upper-c" })],
  ["search with LIKE wildcards is literal", () => ({ q: "100%_" })],
  ["search with a backslash", () => ({ q: "k\\s" })],
  ["search by number", () => ({ q: "agent-00001" })],
];

for (const sort of BOARD_SORTS) {
  for (const dir of ["asc", "desc"] as const) {
    test(`paging by ${sort} ${dir} visits every matching agent once, in the browser's order`, async () => {
      for (const [label, filter] of FILTERS) {
        const f = filter();
        const expected = all.filter((r) => matchesPageFilter(r, f)).sort((a, b) => compareRows(a, b, sort, dir));
        const got = await pageThrough({ ...f, sort, dir, limit: 37 });
        assert.deepEqual(
          got.map((r) => r.name + " " + r.id),
          expected.map((r) => r.name + " " + r.id),
          `${sort} ${dir}, ${label}`,
        );
      }
    });
  }
}

test("the search filter really narrows (the parity above is not vacuous)", async () => {
  assert.equal((await pageThrough({ q: "100%_", sort: "name", dir: "asc", limit: 10 })).map((r) => r.name).join(), "100%_done");
  assert.equal((await pageThrough({ q: "upper", sort: "name", dir: "asc", limit: 10 })).length, 1);
  assert.ok(all.some((r) => r.lastSeenAt === null) && all.some((r) => r.boardId === null), "the fleet has NULLs in nullable sort columns");
});

test("counts per status leave the status filter out and match the browser's filter", async () => {
  for (const [label, filter] of FILTERS) {
    const f = { ...filter(), status: ["online" as const] };
    const counts = await agentCounts(db, f);
    const matching = all.filter((r) => matchesPageFilter(r, f, true));
    for (const s of Object.keys(counts) as (keyof typeof counts)[]) {
      assert.equal(counts[s], matching.filter((r) => r.status === s).length, `${label}: ${s}`);
    }
  }
});

test("a page is at most 200 bytes per agent on the wire", async () => {
  const page = await agentPage(db, MAX_WAKE, { sort: "group", dir: "asc", limit: 200 }, null);
  const bytes = Buffer.byteLength(JSON.stringify(page));
  assert.equal(page.rows.rows.length, 200);
  assert.ok(bytes / 200 <= 200, `${bytes / 200} bytes per agent`);
});

test("a cursor from another sort or a forged one is refused", () => {
  const row = all[0];
  const byName = encodeCursor([row.name, row.id]);
  assert.deepEqual(decodeCursor(byName, "name"), [row.name, row.id]);
  assert.equal(decodeCursor(byName, "group"), null);
  assert.equal(decodeCursor(encodeCursor([null, row.id]), "name"), null);
  assert.equal(decodeCursor(encodeCursor(["x'; DROP TABLE", "not-a-uuid"]), "name"), null);
  assert.equal(decodeCursor("%%%", "name"), null);
  assert.deepEqual(decodeCursor(encodeCursor([null, row.id]), "lastSeen"), [null, row.id]);
});
