// How the console brings fetched fleet-operation progress forward with pushed progress events (lib/client/fleet-progress.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyPushedProgress, type OperationProgress } from "../../lib/client/fleet-progress";

const push = (operationId: string, done: number, status = "running", failed = 0) => ({ data: { operationId, kind: "reprovision", status, total: 10, done, failed } });

test("a push wins when it says more was done, or that the operation ended; an older push does not roll the fetch back", () => {
  const known = new Map<string, OperationProgress>([["a", { total: 10, done: 5, failed: 0, status: "running" }]]);
  applyPushedProgress(known, [push("a", 3)]);
  assert.deepEqual(known.get("a"), { total: 10, done: 5, failed: 0, status: "running" });
  applyPushedProgress(known, [push("a", 7, "running", 1)]);
  assert.deepEqual(known.get("a"), { total: 10, done: 7, failed: 1, status: "running" });
  applyPushedProgress(known, [push("a", 7, "failed", 1)]);
  assert.equal(known.get("a")?.status, "failed");
});

test("operations not fetched are ignored unless adopted; pushes without progress are skipped", () => {
  const known = new Map<string, OperationProgress>();
  applyPushedProgress(known, [push("b", 2), { data: undefined }, { data: { operationId: "c" } }]);
  assert.equal(known.size, 0);
  applyPushedProgress(known, [push("b", 2), push("c", 4)], (id) => id === "c");
  assert.deepEqual([...known.keys()], ["c"]);
  assert.equal(known.get("c")?.done, 4);
});
