// Properties of the board's row wire form (lib/agent-row.ts) and of applying live pushes to loaded pages
// (lib/board-cache.ts), checked with fast-check over generated fleets, filters and push batches. Replay a failure with
// the seed and path fast-check prints.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AGENT_KINDS, ROW_ERROR_CHARS, clipError, decodeRows, encodeRows, type AgentRow } from "../../lib/agent-row";
import { applyRows, flattenPages, pageOf, type PagesQuery, type RowPage } from "../../lib/board-cache";
import { BOARD_SORTS, compareRows, matchesPageFilter } from "../../lib/board-query";
import { AGENT_STATUSES } from "../../lib/status";

const IDS = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "b1", "b2", "b3"];
const NAMES = ["alpha", "Alpha", "beta", "main", "lead-1", "w"];
const GATEWAYS = ["g1", "g2"];
const BOARDS = ["b1", "b2"];

/** A row with fields drawn from small pools, so that sort keys tie and filters both match and miss. */
const rowWith = (id: fc.Arbitrary<string>): fc.Arbitrary<AgentRow> =>
  fc.record({
    id,
    name: fc.constantFrom(...NAMES),
    kind: fc.constantFrom(...AGENT_KINDS),
    status: fc.constantFrom(...AGENT_STATUSES),
    statusReason: fc.option(fc.string({ maxLength: 20 })),
    gatewayId: fc.constantFrom(...GATEWAYS),
    boardId: fc.option(fc.constantFrom(...BOARDS)),
    wakeAttempts: fc.nat(3),
    maxWakeAttempts: fc.integer({ min: 1, max: 5 }),
    lifecycleGeneration: fc.nat(1000),
    checkinDeadlineAt: fc.option(fc.nat(2_000_000_000_000)),
    lastSeenAt: fc.option(fc.nat(5)),
    lastProvisionError: fc.option(fc.string({ maxLength: ROW_ERROR_CHARS * 2 })),
    templateStale: fc.boolean(),
    heartbeatsRejected: fc.nat(10),
    lastRejectedReason: fc.option(fc.string({ maxLength: 20 })),
    updatedAt: fc.nat(10),
  });

const filterArb = fc.record(
  {
    status: fc.subarray([...AGENT_STATUSES], { minLength: 1 }),
    gatewayId: fc.constantFrom(...GATEWAYS),
    boardId: fc.constantFrom(...BOARDS),
    kind: fc.subarray([...AGENT_KINDS], { minLength: 1 }),
    q: fc.constantFrom("a", "AL", "lead", " e "),
  },
  { requiredKeys: [] },
);

const queryArb: fc.Arbitrary<PagesQuery> = fc
  .tuple(filterArb, fc.constantFrom(...BOARD_SORTS), fc.constantFrom("asc" as const, "desc" as const))
  .map(([filter, sort, dir]) => ({ ...filter, sort, dir }));

/** Splits sorted rows into consecutive pages at the given cut points; only the last has no next page. */
function paginate(rows: AgentRow[], cuts: number[], q: PagesQuery): RowPage[] {
  const at = [...new Set(cuts.map((c) => c % (rows.length + 1)))].filter((c) => c > 0 && c < rows.length).sort((a, b) => a - b);
  const bounds = [0, ...at, rows.length];
  const pages: RowPage[] = [];
  for (let i = 0; i < bounds.length - 1; i++) pages.push(pageOf(rows.slice(bounds[i], bounds[i + 1]), `cursor-${i}`, q.sort));
  if (pages.length === 0) pages.push(pageOf([], null, q.sort));
  pages[pages.length - 1] = { ...pages[pages.length - 1], nextCursor: null };
  return pages;
}

describe("board rows on the wire (lib/agent-row.ts)", () => {
  test("encode → JSON → decode gives back every row, the provision error clipped to one line", () => {
    fc.assert(
      fc.property(fc.uniqueArray(rowWith(fc.constantFrom(...IDS)), { selector: (r) => r.id }), (rows) => {
        const wire = JSON.parse(JSON.stringify(encodeRows(rows)));
        assert.deepEqual(
          decodeRows(wire),
          rows.map((r) => ({ ...r, lastProvisionError: clipError(r.lastProvisionError) })),
        );
        // Gateway and board ids travel once per page, not once per row.
        assert.equal(wire.refs.length, new Set(rows.flatMap((r) => [r.gatewayId, ...(r.boardId ? [r.boardId] : [])])).size);
      }),
    );
  });
});

describe("applying pushes to loaded board pages (lib/board-cache.ts)", () => {
  test("with the whole filtered fleet loaded, applying a batch equals filtering and sorting the newest rows afresh", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(rowWith(fc.constantFrom(...IDS)), { selector: (r) => r.id }),
        fc.array(rowWith(fc.constantFrom(...IDS)), { maxLength: 8 }),
        fc.subarray(IDS, { maxLength: 3 }),
        queryArb,
        fc.array(fc.nat(20), { maxLength: 4 }),
        (fleet, batch, removedIds, q, cuts) => {
          const loaded = fleet.filter((r) => matchesPageFilter(r, q)).sort((a, b) => compareRows(a, b, q.sort, q.dir));
          const pages = paginate(loaded, cuts, q);
          const removed = new Set(removedIds);

          const result = applyRows(pages, batch, q, removed);

          // The model: per id, the newest version wins (a later push on a tie; a push older than what is shown loses);
          // removed agents go; what remains is filtered and sorted as the server would.
          const newest = new Map<string, AgentRow>(loaded.map((r) => [r.id, r]));
          const pushed = new Map<string, AgentRow>();
          for (const r of batch) if (r.updatedAt >= (pushed.get(r.id)?.updatedAt ?? -1)) pushed.set(r.id, r);
          for (const [id, r] of pushed) if (!newest.has(id) || r.updatedAt >= newest.get(id)!.updatedAt) newest.set(id, r);
          const expected = [...newest.values()]
            .filter((r) => !removed.has(r.id) && matchesPageFilter(r, q))
            .sort((a, b) => compareRows(a, b, q.sort, q.dir));

          assert.deepEqual(flattenPages(result.pages), expected);
          assert.equal(result.beyond, 0, "nothing sorts beyond a fully loaded board");
          if (!result.changed) assert.equal(result.pages, pages, "an unchanged board keeps its pages (no re-render)");
        },
      ),
      { numRuns: 500 },
    );
  });
});
