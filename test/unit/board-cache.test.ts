// The browser's reconciler of pushed board rows (lib/board-cache.ts): one batch, one pure step over the loaded pages.
// Run: node --import tsx --test test/unit/board-cache.test.ts
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeRows, encodeRows, type AgentRow } from "../../lib/agent-row";
import { applyRows, flattenPages, mergeRowIntoView, pageOf, type PagesQuery, type RowPage } from "../../lib/board-cache";
import { compareRows } from "../../lib/board-query";

const GW = "00000000-0000-4000-8000-000000000001";
const BOARD = "00000000-0000-4000-8000-0000000000b1";
const T = 1_800_000_000_000;

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

function row(n: number, patch: Partial<AgentRow> = {}): AgentRow {
  return {
    id: uuid(n),
    name: `agent-${String(n).padStart(3, "0")}`,
    kind: "board_worker",
    status: "online",
    statusReason: null,
    gatewayId: GW,
    boardId: BOARD,
    wakeAttempts: 0,
    maxWakeAttempts: 3,
    lifecycleGeneration: 1,
    checkinDeadlineAt: null,
    lastSeenAt: T,
    lastProvisionError: null,
    templateStale: false,
    heartbeatsRejected: 0,
    lastRejectedReason: null,
    updatedAt: T,
    ...patch,
  };
}

const BY_NAME: PagesQuery = { sort: "name", dir: "asc" };

/** Agents 1..total by name, split like the server would into pages of `size`, of which `loaded` are loaded. */
function pages(total: number, size: number, loaded: number, q: PagesQuery = BY_NAME): RowPage[] {
  const all = Array.from({ length: total }, (_, i) => row(i + 1)).sort((a, b) => compareRows(a, b, q.sort, q.dir));
  const out: RowPage[] = [];
  for (let i = 0; i < loaded; i++) {
    const rows = all.slice(i * size, (i + 1) * size);
    out.push(pageOf(rows, (i + 1) * size < total ? `cursor-${i + 1}` : null, q.sort));
  }
  return out;
}

const names = (ps: RowPage[]) => flattenPages(ps).map((r) => r.name);

describe("applyRows", () => {
  test("decodes a pushed batch and replaces rows in place when newer, in one step", () => {
    const before = pages(10, 5, 2);
    const pushed = decodeRows(encodeRows([row(2, { status: "offline", updatedAt: T + 1 }), row(7, { wakeAttempts: 2, updatedAt: T + 1 })]));
    const r = applyRows(before, pushed, BY_NAME);
    assert.equal(r.changed, true);
    assert.deepEqual(names(r.pages), names(before));
    const byId = new Map(flattenPages(r.pages).map((x) => [x.id, x]));
    assert.equal(byId.get(uuid(2))!.status, "offline");
    assert.equal(byId.get(uuid(7))!.wakeAttempts, 2);
    assert.equal(r.countsStale, true, "a status changed");
    assert.equal(r.pages[0].nextCursor, "cursor-1", "cursors are the server's and stay");
  });

  test("an older push never replaces a newer row; nothing changes, the same pages come back", () => {
    const before = pages(10, 5, 2);
    const r = applyRows(before, [row(3, { status: "offline", updatedAt: T - 1 })], BY_NAME);
    assert.equal(r.changed, false);
    assert.equal(r.pages, before);
  });

  test("a batch with the same agent twice applies its newest version", () => {
    const r = applyRows(pages(5, 5, 1), [row(1, { wakeAttempts: 2, updatedAt: T + 2 }), row(1, { wakeAttempts: 1, updatedAt: T + 1 })], BY_NAME);
    assert.equal(flattenPages(r.pages)[0].wakeAttempts, 2);
  });

  test("rows that no longer match the filter are dropped; counts go stale", () => {
    const q: PagesQuery = { ...BY_NAME, status: ["online"] };
    const r = applyRows(pages(10, 5, 2, q), [row(4, { status: "offline", updatedAt: T + 1 })], q);
    assert.equal(names(r.pages).includes("agent-004"), false);
    assert.equal(flattenPages(r.pages).length, 9);
    assert.equal(r.countsStale, true);
  });

  test("a row that newly matches is inserted in order inside the loaded range, not beyond it", () => {
    const q: PagesQuery = { ...BY_NAME, status: ["offline"] };
    // Loaded: offline agents 1..10 in 2 pages of 5, more pages exist beyond agent-010.
    const loaded = [pageOf([1, 2, 3, 4, 5].map((n) => row(n, { status: "offline" })), "c1", "name"), pageOf([6, 8, 9, 10, 11].map((n) => row(n, { status: "offline" })), "c2", "name")];
    const inside = row(7, { status: "offline", updatedAt: T + 1 });
    const beyond = row(50, { status: "offline", updatedAt: T + 1 });
    const r = applyRows(loaded, [inside, beyond], q);
    assert.deepEqual(names(r.pages), ["agent-001", "agent-002", "agent-003", "agent-004", "agent-005", "agent-006", "agent-007", "agent-008", "agent-009", "agent-010", "agent-011"]);
    assert.equal(r.beyond, 1, "agent-050 comes with a later page");
    assert.equal(r.pages[0].rows.length, 5, "inserted into the page that covers its key");
    assert.equal(r.countsStale, true);
  });

  test("when every page is loaded, a new row anywhere in the order is inserted", () => {
    const r = applyRows(pages(6, 5, 2), [row(99, { updatedAt: T + 1 })], BY_NAME);
    assert.deepEqual(names(r.pages).slice(-1), ["agent-099"]);
    assert.equal(r.beyond, 0);
  });

  test("a row whose sort key moved is moved, or leaves the loaded range", () => {
    const q: PagesQuery = { sort: "attempts", dir: "desc" };
    const loaded = pages(10, 5, 1, q); // all have 0 attempts: ordered by id descending, 10..6 loaded
    assert.deepEqual(flattenPages(loaded).map((x) => x.id), [10, 9, 8, 7, 6].map(uuid));
    // Agent 3 (not loaded) now has 2 attempts and agent 8 one: both move to the front.
    const r = applyRows(loaded, [row(3, { wakeAttempts: 2, updatedAt: T + 1 }), row(8, { wakeAttempts: 1, updatedAt: T + 1 })], q);
    assert.deepEqual(flattenPages(r.pages).map((x) => x.id), [3, 8, 10, 9, 7, 6].map(uuid));
    const back = applyRows(r.pages, [row(8, { wakeAttempts: 0, updatedAt: T + 2 }), row(10, { wakeAttempts: 0, lastSeenAt: T + 5, updatedAt: T + 2 })], q);
    assert.deepEqual(flattenPages(back.pages).map((x) => x.id), [3, 10, 9, 8, 7, 6].map(uuid));
  });

  test("search matches like the server's ILIKE: case-insensitive, literal", () => {
    const q: PagesQuery = { ...BY_NAME, q: "Agent-00" };
    const r = applyRows(pages(3, 5, 1, q), [row(4, { name: "AGENT-004", updatedAt: T + 1 }), row(5, { name: "other", updatedAt: T + 1 })], q);
    assert.deepEqual(names(r.pages), ["AGENT-004", "agent-001", "agent-002", "agent-003"]);
    const literal: PagesQuery = { ...BY_NAME, q: "agent_00" };
    const wildcard = applyRows([pageOf([row(1, { name: "agent_001" })], null, "name")], [row(9, { updatedAt: T + 1 })], literal);
    assert.equal(wildcard.changed, false, "_ is not a wildcard: agent-009 does not match agent_00");
  });

  test("a deleted agent leaves every page", () => {
    const r = applyRows(pages(10, 5, 2), [], BY_NAME, new Set([uuid(6)]));
    assert.equal(names(r.pages).includes("agent-006"), false);
  });

  test("group order keeps gateway-level agents (no board) after the gateway's boards", () => {
    const q: PagesQuery = { sort: "group", dir: "asc" };
    const main = row(1, { kind: "gateway_main", boardId: null, name: "main" });
    const loaded = [pageOf([row(2), row(3)], null, "group")];
    const r = applyRows(loaded, [{ ...main, updatedAt: T + 1 }], q);
    assert.deepEqual(names(r.pages), ["agent-002", "agent-003", "main"]);
  });
});

test("flattenPages shows each agent once, its newest version where that version sits", () => {
  const old = row(1, { updatedAt: T });
  const moved = row(1, { updatedAt: T + 1, wakeAttempts: 3 });
  const flat = flattenPages([pageOf([moved, row(2)], "c", "name"), pageOf([old, row(3)], null, "name")]);
  assert.deepEqual(flat.map((r) => [r.id, r.wakeAttempts]), [[uuid(1), 3], [uuid(2), 0], [uuid(3), 0]]);
});

describe("mergeRowIntoView", () => {
  const view = { id: uuid(1), status: "waking", updatedAt: new Date(T), lastSeenAt: null as Date | null, lastProvisionError: "x".repeat(300), gateway: { name: "gw" } };

  test("merges the row's fields, epoch ms become Dates, fields the row lacks stay", () => {
    const merged = mergeRowIntoView(view, row(1, { status: "online", lastSeenAt: T + 5, updatedAt: T + 5, lastProvisionError: `${"x".repeat(119)}…` }));
    assert.ok(merged && merged !== "refetch");
    assert.equal(merged.status, "online");
    assert.ok(merged.lastSeenAt instanceof Date && merged.lastSeenAt.getTime() === T + 5);
    assert.equal(merged.lastProvisionError, "x".repeat(300), "the full error stays: the row only has its summary");
    assert.deepEqual(merged.gateway, { name: "gw" });
    assert.equal("templateStale" in merged, false);
  });

  test("a new error asks for the full record; an older row is ignored", () => {
    assert.equal(mergeRowIntoView(view, row(1, { lastProvisionError: "Gateway unreachable", updatedAt: T + 1 })), "refetch");
    assert.equal(mergeRowIntoView(view, row(1, { updatedAt: T - 1 })), null);
  });
});

describe("decodeRows", () => {
  test("a malformed payload decodes to no rows rather than to wrong ones", () => {
    assert.deepEqual(decodeRows(null), []);
    assert.deepEqual(decodeRows({ refs: [], rows: [null, "x", [1, 2, 3]] }), []);
    const good = encodeRows([row(1)]);
    assert.deepEqual(decodeRows({ refs: good.refs, rows: [null, ...good.rows] }).map((r) => r.id), decodeRows(good).map((r) => r.id));
  });
});
