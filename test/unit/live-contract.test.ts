// The browser side of the live contract, without a browser: push payloads keep their types through superjson, room
// names built by `rooms` are the ones the server accepts, room reference counting joins and leaves exactly once, and
// the schema's enums keep the order the board's wire form depends on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeEventPush, decodePush, encodePush } from "../../lib/push";
import { EVENT_GROUPS, EVENT_NAMES, isRoom, rooms, type EventName } from "../../lib/events";
import { RoomRefs } from "../../lib/room-refs";
import { AGENT_KINDS, AGENT_STATUSES, GATEWAY_DRIVERS, WAKE_OUTCOMES } from "../../lib/contract/enums";
import { gatewayInput, id } from "../../lib/contract/schemas";
import { decodeRows, encodeRows, type AgentRow } from "../../lib/agent-row";

const ID = "0b4f9a5e-6d1c-4c1e-9a53-2f0d1b7c9e11";

test("a pushed event keeps its Dates and string id, as a fetched one has them", () => {
  const event = { id: "42", event: "agent.heartbeat", message: "m", at: new Date("2026-01-01T00:00:00.123Z"), deadlineAt: null, data: { n: 1 }, agentId: ID };
  const wire = JSON.parse(JSON.stringify(encodePush(event)));
  const back = decodeEventPush<typeof event>(wire);
  assert.ok(back);
  assert.ok(back.at instanceof Date);
  assert.equal(back.at.toISOString(), "2026-01-01T00:00:00.123Z");
  assert.equal(back.id, "42");
  assert.deepEqual(back.data, { n: 1 });
});

test("payloads that are not superjson's form, or not events, are ignored", () => {
  assert.equal(decodePush({ id: "1", event: "x" }), undefined);
  assert.equal(decodePush(null), undefined);
  assert.equal(decodeEventPush(encodePush({ workersAlive: 1 })), undefined);
  assert.equal(decodeEventPush(encodePush({ id: 1, event: "agent.heartbeat" })), undefined);
});

test("rooms built by `rooms` are accepted; anything else is not", () => {
  for (const room of [rooms.fleet, rooms.gateway(ID), rooms.board(ID), rooms.agent(ID)]) assert.ok(isRoom(room), room);
  for (const room of ["fleet:1", "gateway:", `agents:${ID}`, `agent:${ID}x`, "Fleet"]) assert.equal(isRoom(room), false, room);
});

test("a room is joined when its first view mounts and left when its last view unmounts", () => {
  const refs = new RoomRefs();
  assert.deepEqual(refs.acquire(["fleet", rooms.agent(ID)]), ["fleet", rooms.agent(ID)]);
  assert.deepEqual(refs.acquire(["fleet"]), [], "a second view of the fleet joins nothing");
  refs.release(["fleet"]);
  assert.deepEqual(refs.sweep(["fleet"]), [], "one view still shows the fleet");
  refs.release(["fleet", rooms.agent(ID)]);
  refs.acquire([rooms.agent(ID)]); // a remount before the deferred sweep keeps the room
  assert.deepEqual(refs.sweep(["fleet", rooms.agent(ID)]), ["fleet"]);
  assert.deepEqual(refs.active(), [rooms.agent(ID)]);
});

test("the schema's enums keep their order (the board's wire form indexes into them)", () => {
  assert.deepEqual(AGENT_KINDS, ["gateway_main", "board_lead", "board_worker"]);
  assert.deepEqual(AGENT_STATUSES, ["provisioning", "updating", "waking", "online", "offline", "deleting"]);
  assert.deepEqual(GATEWAY_DRIVERS, ["simulator", "http", "openclaw"]);
  assert.deepEqual(WAKE_OUTCOMES, ["pending", "checked_in", "expired", "rpc_failed", "superseded"]);
  const row: AgentRow = {
    id: ID, name: "a", kind: "board_worker", status: "deleting", statusReason: null, gatewayId: ID, boardId: null, wakeAttempts: 0,
    maxWakeAttempts: 3, lifecycleGeneration: 1, checkinDeadlineAt: null, lastSeenAt: null, lastProvisionError: null, templateStale: false,
    heartbeatsRejected: 0, lastRejectedReason: null, updatedAt: 1,
  };
  assert.deepEqual(decodeRows(JSON.parse(JSON.stringify(encodeRows([row])))), [row]);
});

test("the shared input schemas refuse what the routers refused", () => {
  assert.equal(id.safeParse("not-a-uuid").success, false);
  assert.equal(id.safeParse(ID).success, true);
  assert.equal(gatewayInput.safeParse({ name: "gw", driver: "docker" }).success, false);
  assert.equal(gatewayInput.safeParse({ name: "gw", driver: "http", url: "https://u:p@host" }).success, false);
  assert.equal(gatewayInput.safeParse({ name: "gw", driver: "http", url: "https://host", extra: 1 }).success, false);
  assert.equal(gatewayInput.safeParse({ name: "gw", driver: "openclaw", url: "wss://host:18789" }).success, true);
});

test("the event log's filter groups name only real events, and 'Errors only' is every failure and nothing else", () => {
  for (const g of EVENT_GROUPS) {
    if (g.key === "all") {
      assert.equal(g.events, null);
      continue;
    }
    assert.ok(g.events && g.events.length > 0, `group ${g.key} is empty`);
    for (const e of g.events) assert.ok((EVENT_NAMES as readonly string[]).includes(e), `${g.key}: ${e}`);
  }
  const errors = EVENT_GROUPS.find((g) => g.key === "errors")!.events!;
  for (const e of ["lifecycle.wake.failed", "lifecycle.run.failed", "agent.heartbeat_lost", "agent.heartbeat.rejected", "gateway.templates.sync.failed"]) {
    assert.ok(errors.includes(e as EventName), e);
  }
  for (const e of errors) assert.ok(!/succeeded|success|\.sent$|started/.test(e), e);
  const queue = EVENT_GROUPS.find((g) => g.key === "queue")!.events!;
  assert.ok(queue.includes("lifecycle.reconcile.repaired") && queue.includes("queue.worker.failed") && !queue.includes("agent.heartbeat"));
});
