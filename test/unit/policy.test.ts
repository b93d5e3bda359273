// Unit tests of the pure convergence policy (docs/lifecycle.md) and its event names (docs/lifecycle.md, Events).
// Run: node --import tsx --test test/unit/policy.test.ts
import { test, describe } from "node:test";
import assert from "node:assert/strict";

import {
  AGENT_STATUSES,
  HEARTBEAT_LOSS_FACTOR,
  REASON_HEARTBEAT_LOST,
  REASON_MAX_WAKE_ATTEMPTS,
  countsForCycle,
  noCheckinMessage,
  transition,
  type AgentStatus,
  type EmitAction,
  type LifecycleAction,
  type LifecycleInput,
  type LifecycleState,
  type PolicyConfig,
  type Transition,
  type WakeOutcome,
} from "../../server/lifecycle/policy";
import { EVENT_NAMES, type EventName } from "../../lib/events";
import { mulberry32 } from "../support/random";

// ---------------------------------------------------------------------------------------------------------------------
// Fixtures: injected clock, config, state factory, and a checked `run` wrapper.
// ---------------------------------------------------------------------------------------------------------------------

const CONFIG: PolicyConfig = { checkinDeadlineSeconds: 30, maxWakeAttempts: 3 };
const T0 = new Date("2030-01-01T00:00:00.000Z");
/** The injected clock: T0 + seconds. */
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const msAt = (ms: number): Date => new Date(T0.getTime() + ms);
/** Milliseconds since T0 (the simulation's clock). */
const rel = (d: Date): number => d.getTime() - T0.getTime();

function makeState(overrides: Partial<LifecycleState> = {}): LifecycleState {
  return {
    status: "provisioning",
    statusReason: null,
    lifecycleGeneration: 1,
    wakeAttempts: 0,
    lastWakeSentAt: null,
    checkinDeadlineAt: null,
    lastSeenAt: null,
    lastProvisionError: null,
    heartbeatIntervalSeconds: 60,
    cycleTokenGeneration: null,
    ...overrides,
  };
}

/** An agent waiting on wake `attempt` of `generation`, sent at `sentAt` seconds. */
function wakingState(attempt: number, sentAtSeconds = 0, overrides: Partial<LifecycleState> = {}): LifecycleState {
  return makeState({
    status: "waking",
    wakeAttempts: attempt,
    lastWakeSentAt: at(sentAtSeconds),
    checkinDeadlineAt: at(sentAtSeconds + CONFIG.checkinDeadlineSeconds),
    ...overrides,
  });
}

/** A heartbeat with a token of the newest cycle (a generation above any these tests reach). */
const HEARTBEAT: LifecycleInput = { type: "heartbeat", credential: { slot: "current", generation: Number.MAX_SAFE_INTEGER } };

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !(value instanceof Date)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

const EVENT_SET = new Set<string>(EVENT_NAMES);

function assertValidActions(actions: LifecycleAction[]): void {
  for (const action of actions) {
    if (action.type === "emit") {
      assert.ok(EVENT_SET.has(action.event), `event ${action.event} is not in EVENT_NAMES`);
      assert.equal(typeof action.message, "string");
      assert.ok(action.message.length > 0, `event ${action.event} has an empty message`);
    }
  }
}

/** transition() + purity check (input state never mutated) + every event in EVENT_NAMES. */
function run(
  state: LifecycleState | null,
  input: LifecycleInput,
  now: Date,
  config: PolicyConfig = CONFIG,
): Transition<LifecycleState | null> {
  const snapshot = structuredClone(state);
  const inputSnapshot = structuredClone(input);
  const result = transition(state, input, now, config);
  assert.deepEqual(state, snapshot, "transition mutated its input state");
  assert.deepEqual(input, inputSnapshot, "transition mutated its input");
  assertValidActions(result.actions);
  if (result.state !== null) assert.ok(AGENT_STATUSES.includes(result.state.status));
  return result;
}

/** Same as run() for inputs that always have an agent. */
function step(state: LifecycleState, input: LifecycleInput, now: Date, config: PolicyConfig = CONFIG) {
  const result = run(state, input, now, config);
  assert.ok(result.state !== null);
  return { state: result.state, actions: result.actions };
}

const events = (actions: LifecycleAction[]): EventName[] =>
  actions.filter((a): a is EmitAction => a.type === "emit").map((a) => a.event);
const types = (actions: LifecycleAction[]): string[] => actions.map((a) => (a.type === "emit" ? `emit:${a.event}` : a.type));
function only<T extends LifecycleAction["type"]>(actions: LifecycleAction[], type: T): Extract<LifecycleAction, { type: T }> {
  const found = actions.filter((a) => a.type === type);
  assert.equal(found.length, 1, `expected exactly one ${type}, got ${found.length}: ${types(actions).join(", ")}`);
  return found[0] as Extract<LifecycleAction, { type: T }>;
}
function emitted(actions: LifecycleAction[], event: EventName): EmitAction {
  const found = actions.filter((a): a is EmitAction => a.type === "emit" && a.event === event);
  assert.equal(found.length, 1, `expected exactly one ${event}, got ${found.length}: ${types(actions).join(", ")}`);
  return found[0];
}
const none = (actions: LifecycleAction[], type: LifecycleAction["type"]) =>
  assert.equal(actions.filter((a) => a.type === type).length, 0, `unexpected ${type} in ${types(actions).join(", ")}`);

const START_NEW: LifecycleInput = { type: "start_cycle", isNew: true, startedBy: "system", reason: "agent created" };
const START_EXISTING: LifecycleInput = { type: "start_cycle", isNew: false, startedBy: "op@example.com", reason: "reprovision" };
const reconcileJob = (generation: number, attempt: number): LifecycleInput => ({ type: "reconcile", job: { generation, attempt } });

// ---------------------------------------------------------------------------------------------------------------------
// Contract sanity
// ---------------------------------------------------------------------------------------------------------------------

describe("contract", () => {
  test("EVENT_NAMES is the Events list of docs/lifecycle.md plus the product's own additions", () => {
    assert.deepEqual([...EVENT_NAMES].sort(), [
      "agent.heartbeat",
      "agent.heartbeat.rejected",
      "agent.heartbeat_lost",
      "agent.status.changed",
      "fleet.operation.progress",
      "gateway.status.changed",
      "gateway.templates.sync.failed",
      "gateway.templates.sync.started",
      "gateway.templates.sync.succeeded",
      "lifecycle.cycle.started",
      "lifecycle.delete.failed",
      "lifecycle.provision.failed",
      "lifecycle.provision.succeeded",
      "lifecycle.queue.enqueued",
      "lifecycle.reconcile.deferred",
      "lifecycle.reconcile.max_attempts_reached",
      "lifecycle.reconcile.repaired",
      "lifecycle.reconcile.retriggered",
      "lifecycle.reconcile.skip_cycle_ended",
      "lifecycle.reconcile.skip_deleting",
      "lifecycle.reconcile.skip_missing_agent",
      "lifecycle.reconcile.skip_no_wake_outstanding",
      "lifecycle.reconcile.skip_not_stuck",
      "lifecycle.reconcile.skip_stale_generation",
      "lifecycle.run.failed",
      "lifecycle.wake.failed",
      "lifecycle.wake.sent",
      "operator.action",
      "queue.worker.failed",
      "queue.worker.success",
    ]);
    assert.equal(new Set(EVENT_NAMES).size, EVENT_NAMES.length);
  });

  test("status values are exactly the docs/lifecycle.md list", () => {
    assert.deepEqual([...AGENT_STATUSES], ["provisioning", "updating", "waking", "online", "offline", "deleting"]);
  });

  test("noCheckinMessage says why, with and without a gateway error", () => {
    assert.match(noCheckinMessage(3, 30, null), /^No check-in after 3 wakes/);
    assert.doesNotMatch(noCheckinMessage(3, 30, null), /gateway error/);
    assert.match(noCheckinMessage(1, 30, null), /^No check-in after 1 wake\b(?!s)/);
    assert.match(noCheckinMessage(3, 30, "ECONNREFUSED"), /No check-in after 3 wakes.*last gateway error: ECONNREFUSED/);
  });

  test("inputs other than reconcile do nothing without an agent", () => {
    const inputs: LifecycleInput[] = [
      START_NEW,
      { type: "wake_due", generation: 1 },
      { type: "wake_failed", generation: 1, attempt: 1, error: "x" },
      HEARTBEAT,
      { type: "liveness_check" },
      { type: "delete" },
    ];
    for (const input of inputs) {
      assert.deepEqual(run(null, input, at(0)), { state: null, actions: [] }, input.type);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// start_cycle (docs/lifecycle.md, step 1, step 7)
// ---------------------------------------------------------------------------------------------------------------------

describe("start_cycle", () => {
  test("new agent → provisioning, generation bumped, supersede + cycle.started + provision", () => {
    const before = makeState({ status: "provisioning", lifecycleGeneration: 0 });
    const { state, actions } = step(before, START_NEW, at(0));
    assert.equal(state.status, "provisioning");
    assert.equal(state.lifecycleGeneration, 1);
    assert.equal(state.wakeAttempts, 0);
    assert.equal(state.checkinDeadlineAt, null);
    assert.equal(state.lastProvisionError, null);
    assert.equal(state.statusReason, null);
    assert.deepEqual(types(actions), ["supersede_pending_attempts", "emit:lifecycle.cycle.started", "provision"]);
    assert.deepEqual(only(actions, "provision"), { type: "provision", generation: 1 });
    const started = emitted(actions, "lifecycle.cycle.started");
    assert.deepEqual(started.data, { startedBy: "system", reason: "agent created", kind: "provisioning" });
    assert.match(started.message, /system/);
  });

  test("existing agent → updating", () => {
    const before = makeState({ status: "online", lifecycleGeneration: 4, lastSeenAt: at(-5), lastWakeSentAt: at(-20) });
    const { state, actions } = step(before, START_EXISTING, at(0));
    assert.equal(state.status, "updating");
    assert.equal(state.lifecycleGeneration, 5);
    assert.deepEqual(only(actions, "provision"), { type: "provision", generation: 5 });
    assert.deepEqual(emitted(actions, "lifecycle.cycle.started").data, {
      startedBy: "op@example.com",
      reason: "reprovision",
      kind: "updating",
    });
    // History that is not part of the cycle counters is kept.
    assert.deepEqual(state.lastSeenAt, at(-5));
    assert.deepEqual(state.lastWakeSentAt, at(-20));
    assert.equal(state.heartbeatIntervalSeconds, 60);
  });

  test("after offline (max attempts): attempts reset, deadline/error/reason cleared — a fresh cycle (docs/lifecycle.md)", () => {
    const before = makeState({
      status: "offline",
      statusReason: REASON_MAX_WAKE_ATTEMPTS,
      lifecycleGeneration: 2,
      wakeAttempts: 3,
      lastWakeSentAt: at(-60),
      checkinDeadlineAt: at(-30),
      lastProvisionError: "No check-in after 3 wakes (30s deadline each)",
    });
    const { state } = step(before, START_EXISTING, at(0));
    assert.deepEqual(state, {
      ...before,
      status: "updating",
      statusReason: null,
      lifecycleGeneration: 3,
      wakeAttempts: 0,
      checkinDeadlineAt: null,
      lastProvisionError: null,
      cycleTokenGeneration: 3,
    });
  });

  test("a cycle that delivers a new token needs that token; a wake-only cycle relies on the delivered one", () => {
    const before = makeState({ status: "online", lifecycleGeneration: 4, cycleTokenGeneration: 2 });
    assert.equal(step(before, START_EXISTING, at(0)).state.cycleTokenGeneration, 5);
    const wakeOnly: LifecycleInput = { type: "start_cycle", isNew: false, startedBy: "op", reason: "wake", reusesTokenOf: 2 };
    assert.equal(step(before, wakeOnly, at(0)).state.cycleTokenGeneration, 2);
  });

  test("mid-cycle (waking) restarts: new generation, attempts 0, deadline cleared, old attempts superseded", () => {
    const before = wakingState(2, 0, { lifecycleGeneration: 7, lastProvisionError: "timeout" });
    const { state, actions } = step(before, START_EXISTING, at(10));
    assert.equal(state.status, "updating");
    assert.equal(state.lifecycleGeneration, 8);
    assert.equal(state.wakeAttempts, 0);
    assert.equal(state.checkinDeadlineAt, null);
    assert.equal(state.lastProvisionError, null);
    assert.equal(actions[0].type, "supersede_pending_attempts");
  });

  test("isNew decides provisioning vs updating regardless of the current status", () => {
    for (const status of ["provisioning", "updating", "waking", "online", "offline"] as AgentStatus[]) {
      assert.equal(step(makeState({ status }), START_NEW, at(0)).state.status, "provisioning", status);
      assert.equal(step(makeState({ status }), START_EXISTING, at(0)).state.status, "updating", status);
    }
  });

  test("ignored while deleting", () => {
    const before = makeState({ status: "deleting", lifecycleGeneration: 3, wakeAttempts: 1 });
    for (const input of [START_NEW, START_EXISTING]) {
      const result = step(before, input, at(0));
      assert.deepEqual(result.state, before);
      assert.deepEqual(result.actions, []);
    }
  });

  test("does not wake or schedule anything by itself (enqueue nothing yet)", () => {
    const { actions } = step(makeState({ status: "online" }), START_EXISTING, at(0));
    for (const type of ["send_wake", "schedule_reconcile", "insert_attempt", "resolve_attempt"] as const) none(actions, type);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// wake_due (docs/lifecycle.md, step 3, step 6 for a failed provision)
// ---------------------------------------------------------------------------------------------------------------------

describe("wake_due", () => {
  test("provisioning → waking: attempt 1, deadline now+30s, insert + schedule at deadline + enqueued + send_wake", () => {
    const before = makeState({ status: "provisioning", lifecycleGeneration: 2 });
    const now = at(5);
    const deadline = at(35);
    const { state, actions } = step(before, { type: "wake_due", generation: 2 }, now);
    assert.deepEqual(state, {
      ...before,
      status: "waking",
      wakeAttempts: 1,
      lastWakeSentAt: now,
      checkinDeadlineAt: deadline,
    });
    assert.deepEqual(types(actions), ["insert_attempt", "schedule_reconcile", "emit:lifecycle.queue.enqueued", "send_wake", "emit:agent.status.changed"]);
    assert.deepEqual(only(actions, "insert_attempt"), { type: "insert_attempt", generation: 2, attempt: 1, sentAt: now, deadlineAt: deadline });
    assert.deepEqual(only(actions, "schedule_reconcile"), { type: "schedule_reconcile", generation: 2, attempt: 1, at: deadline });
    assert.deepEqual(only(actions, "send_wake"), { type: "send_wake", generation: 2, attempt: 1, deadlineAt: deadline });
    const enq = emitted(actions, "lifecycle.queue.enqueued");
    assert.equal(enq.attempt, 1);
    assert.deepEqual(enq.deadlineAt, deadline);
  });

  test("updating → waking as well", () => {
    const { state, actions } = step(makeState({ status: "updating" }), { type: "wake_due", generation: 1 }, at(0));
    assert.equal(state.status, "waking");
    assert.equal(state.wakeAttempts, 1);
    only(actions, "send_wake");
  });

  test("the deadline job is scheduled before the wake is sent (a crash never leaves a wake without its deadline)", () => {
    const { actions } = step(makeState(), { type: "wake_due", generation: 1 }, at(0));
    const t = types(actions);
    assert.ok(t.indexOf("schedule_reconcile") < t.indexOf("send_wake"));
    assert.ok(t.indexOf("insert_attempt") < t.indexOf("send_wake"));
  });

  test("the deadline follows the configured checkinDeadlineSeconds", () => {
    const { state, actions } = step(makeState(), { type: "wake_due", generation: 1 }, at(100), {
      checkinDeadlineSeconds: 7,
      maxWakeAttempts: 3,
    });
    assert.deepEqual(state.checkinDeadlineAt, at(107));
    assert.deepEqual(only(actions, "schedule_reconcile").at, at(107));
  });

  test("an existing lastProvisionError is kept when the provision succeeded", () => {
    const before = makeState({ lastProvisionError: "earlier" });
    assert.equal(step(before, { type: "wake_due", generation: 1 }, at(0)).state.lastProvisionError, "earlier");
  });

  test("with provisionError: attempt counted and resolved rpc_failed, no send_wake, error recorded, still scheduled", () => {
    const before = makeState({ status: "provisioning", lifecycleGeneration: 3 });
    const now = at(2);
    const { state, actions } = step(before, { type: "wake_due", generation: 3, provisionError: "gateway unreachable" }, now);
    assert.equal(state.status, "waking");
    assert.equal(state.wakeAttempts, 1);
    assert.deepEqual(state.lastWakeSentAt, now);
    assert.deepEqual(state.checkinDeadlineAt, at(32));
    assert.equal(state.lastProvisionError, "gateway unreachable");
    none(actions, "send_wake");
    assert.deepEqual(only(actions, "resolve_attempt"), {
      type: "resolve_attempt",
      generation: 3,
      attempt: 1,
      outcome: "rpc_failed",
      at: now,
      error: "gateway unreachable",
    });
    assert.deepEqual(only(actions, "schedule_reconcile"), { type: "schedule_reconcile", generation: 3, attempt: 1, at: at(32) });
    only(actions, "insert_attempt");
    emitted(actions, "lifecycle.queue.enqueued");
    const t = types(actions);
    assert.ok(t.indexOf("insert_attempt") < t.indexOf("resolve_attempt"), "the attempt row exists before it is resolved");
  });

  test("an empty provisionError string still counts as a failure (no wake sent)", () => {
    const { actions } = step(makeState(), { type: "wake_due", generation: 1, provisionError: "" }, at(0));
    none(actions, "send_wake");
    assert.equal(only(actions, "resolve_attempt").outcome, "rpc_failed");
  });

  test("ignored for a stale (older or newer) generation", () => {
    const before = makeState({ status: "updating", lifecycleGeneration: 5 });
    for (const generation of [4, 6, 0]) {
      const result = step(before, { type: "wake_due", generation }, at(0));
      assert.deepEqual(result.state, before);
      assert.deepEqual(result.actions, []);
    }
  });

  test("ignored unless the status is provisioning or updating", () => {
    for (const status of ["waking", "online", "offline", "deleting"] as AgentStatus[]) {
      const before = makeState({ status, wakeAttempts: status === "waking" ? 1 : 0 });
      for (const provisionError of [undefined, "boom"]) {
        const result = step(before, { type: "wake_due", generation: 1, provisionError }, at(0));
        assert.deepEqual(result.state, before, status);
        assert.deepEqual(result.actions, [], status);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// wake_failed (docs/lifecycle.md, step 6)
// ---------------------------------------------------------------------------------------------------------------------

describe("wake_failed", () => {
  test("current attempt → rpc_failed with its error, lifecycle.wake.failed, error kept, deadline job untouched", () => {
    const before = wakingState(2, 30, { lifecycleGeneration: 4 });
    const now = at(31);
    const { state, actions } = step(before, { type: "wake_failed", generation: 4, attempt: 2, error: "ETIMEDOUT" }, now);
    assert.deepEqual(state, { ...before, lastProvisionError: "ETIMEDOUT" });
    assert.deepEqual(types(actions), ["resolve_attempt", "emit:lifecycle.wake.failed"]);
    assert.deepEqual(only(actions, "resolve_attempt"), {
      type: "resolve_attempt",
      generation: 4,
      attempt: 2,
      outcome: "rpc_failed",
      at: now,
      error: "ETIMEDOUT",
    });
    const failed = emitted(actions, "lifecycle.wake.failed");
    assert.equal(failed.attempt, 2);
    assert.deepEqual(failed.data, { error: "ETIMEDOUT" });
    assert.match(failed.message, /ETIMEDOUT/);
    // Still counts as an attempt; the already-scheduled deadline job is what continues the cycle.
    for (const type of ["schedule_reconcile", "send_wake", "insert_attempt"] as const) none(actions, type);
  });

  test("stale attempt of the same generation is ignored", () => {
    const before = wakingState(2);
    const result = step(before, { type: "wake_failed", generation: 1, attempt: 1, error: "late" }, at(40));
    assert.deepEqual(result.state, before);
    assert.deepEqual(result.actions, []);
  });

  test("stale generation is ignored", () => {
    const before = wakingState(1, 0, { lifecycleGeneration: 3 });
    const result = step(before, { type: "wake_failed", generation: 2, attempt: 1, error: "late" }, at(1));
    assert.deepEqual(result.state, before);
    assert.deepEqual(result.actions, []);
  });

  test("ignored when no wake is outstanding (online, offline, provisioning, updating, deleting)", () => {
    for (const status of ["online", "offline", "provisioning", "updating", "deleting"] as AgentStatus[]) {
      const before = makeState({ status, wakeAttempts: 1 });
      const result = step(before, { type: "wake_failed", generation: 1, attempt: 1, error: "x" }, at(1));
      assert.deepEqual(result.state, before, status);
      assert.deepEqual(result.actions, [], status);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// run_failed (the gateway reported that the run a wake started failed)
// ---------------------------------------------------------------------------------------------------------------------

describe("run_failed", () => {
  const ERROR = 'No API key found for provider "openai"';
  const CAUSE = `agent run failed on the gateway: ${ERROR}`;
  const failed = (attempt: number, generation = 1): LifecycleInput => ({ type: "run_failed", generation, attempt, error: ERROR });

  test("while waking: the gateway's words become the error and are recorded on the attempt; the deadline still decides", () => {
    const before = wakingState(2, 30);
    const { state, actions } = step(before, failed(2), at(31));
    assert.deepEqual(state, { ...before, lastProvisionError: CAUSE });
    assert.deepEqual(only(actions, "record_run_error"), { type: "record_run_error", generation: 1, attempt: 2, error: ERROR });
    assert.match(emitted(actions, "lifecycle.run.failed").message, /^Wake 2 reached the gateway, but the agent's run failed: No API key/);
    none(actions, "resolve_attempt");
  });

  test("a report about an earlier cycle changes nothing and records nothing", () => {
    const before = wakingState(1, 0, { lifecycleGeneration: 2 });
    const { state, actions } = step(before, failed(1, 1), at(1));
    assert.deepEqual(state, before);
    assert.deepEqual(actions, []);
  });

  test("late, after the cycle ended offline for want of a check-in: the cause joins the reason, once", () => {
    const before = makeState({ status: "offline", statusReason: REASON_MAX_WAKE_ATTEMPTS, wakeAttempts: 3, lastProvisionError: noCheckinMessage(3, 30, null) });
    const { state, actions } = step(before, failed(3), at(100));
    assert.deepEqual(state, { ...before, lastProvisionError: noCheckinMessage(3, 30, CAUSE) });
    assert.deepEqual(types(actions), ["record_run_error", "emit:lifecycle.run.failed"]);
    const again = step(state, failed(3), at(101));
    assert.deepEqual(again.state, state);
    assert.deepEqual(types(again.actions), ["record_run_error"]);
  });

  test("an agent that checked in meanwhile stays as it is; only the attempt records the failure", () => {
    const before = makeState({ status: "online", lastSeenAt: at(5) });
    const { state, actions } = step(before, failed(1), at(6));
    assert.deepEqual(state, before);
    assert.deepEqual(types(actions), ["record_run_error"]);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// heartbeat (docs/lifecycle.md, step 4)
// ---------------------------------------------------------------------------------------------------------------------

describe("heartbeat credentials (path 1: a token of an earlier cycle never completes this one)", () => {
  const cred = (slot: "current" | "pending" | "previous", generation: number | null): LifecycleInput => ({ type: "heartbeat", credential: { slot, generation } });

  test("countsForCycle: the cycle's own token (current or pending) counts; an earlier generation or the overlap slot does not", () => {
    const s = wakingState(1, 0, { lifecycleGeneration: 5, cycleTokenGeneration: 5 });
    assert.equal(countsForCycle(s, { slot: "current", generation: 5 }), true);
    assert.equal(countsForCycle(s, { slot: "pending", generation: 5 }), true);
    assert.equal(countsForCycle(s, { slot: "current", generation: 4 }), false);
    assert.equal(countsForCycle(s, { slot: "current", generation: null }), false);
    assert.equal(countsForCycle(s, { slot: "previous", generation: 5 }), false);
    // A wake-only cycle relies on the token delivered in generation 3.
    const wake = wakingState(1, 0, { lifecycleGeneration: 5, cycleTokenGeneration: 3 });
    assert.equal(countsForCycle(wake, { slot: "current", generation: 3 }), true);
    assert.equal(countsForCycle(wake, { slot: "previous", generation: null }), false);
  });

  test("waking + a heartbeat with an earlier cycle's token: stored (lastSeenAt), the agent stays waking, nothing resolved", () => {
    const before = wakingState(1, 0, { lifecycleGeneration: 5, cycleTokenGeneration: 5, lastProvisionError: "gateway unreachable" });
    const { state, actions } = step(before, cred("current", 4), at(3));
    assert.deepEqual(state, { ...before, lastSeenAt: at(3) });
    assert.deepEqual(actions, []);
  });

  test("offline after a failed cycle: an earlier cycle's token does not bring the agent back; its own token does", () => {
    const before = makeState({ status: "offline", statusReason: REASON_MAX_WAKE_ATTEMPTS, lifecycleGeneration: 5, cycleTokenGeneration: 5 });
    assert.equal(step(before, cred("current", 4), at(1)).state.status, "offline");
    assert.equal(step(before, cred("previous", null), at(1)).state.status, "offline");
    assert.equal(step(before, cred("pending", 5), at(1)).state.status, "online");
  });

  test("online: any accepted token keeps it online (routine heartbeat, lastSeenAt only)", () => {
    const before = makeState({ status: "online", lifecycleGeneration: 5, cycleTokenGeneration: 5, lastSeenAt: at(0) });
    const { state, actions } = step(before, cred("previous", null), at(9));
    assert.deepEqual(state, { ...before, lastSeenAt: at(9) });
    assert.deepEqual(actions, []);
  });
});

describe("heartbeat", () => {
  test("waking → online: attempts 0, deadline/error cleared, attempt checked_in, agent.heartbeat + status.changed", () => {
    const before = wakingState(2, 30, { lifecycleGeneration: 6, lastProvisionError: "ETIMEDOUT" });
    const now = at(41);
    const { state, actions } = step(before, HEARTBEAT, now);
    assert.deepEqual(state, {
      ...before,
      status: "online",
      statusReason: null,
      lastSeenAt: now,
      wakeAttempts: 0,
      checkinDeadlineAt: null,
      lastProvisionError: null,
    });
    assert.deepEqual(types(actions), ["resolve_attempt", "emit:agent.heartbeat", "emit:agent.status.changed"]);
    assert.deepEqual(only(actions, "resolve_attempt"), {
      type: "resolve_attempt",
      generation: 6,
      attempt: 2,
      outcome: "checked_in",
      at: now,
      from: ["pending", "rpc_failed"],
    });
    assert.equal(emitted(actions, "agent.heartbeat").attempt, 2);
    assert.deepEqual(emitted(actions, "agent.status.changed").data, { from: "waking", to: "online", reason: null });
  });

  test("online → only lastSeenAt changes, no actions (routine heartbeat)", () => {
    const before = makeState({ status: "online", lastSeenAt: at(0), lastWakeSentAt: at(-3) });
    const { state, actions } = step(before, HEARTBEAT, at(60));
    assert.deepEqual(state, { ...before, lastSeenAt: at(60) });
    assert.deepEqual(actions, []);
  });

  test("offline (max_wake_attempts) → online: reason and error cleared, no attempt resolved", () => {
    const before = makeState({
      status: "offline",
      statusReason: REASON_MAX_WAKE_ATTEMPTS,
      wakeAttempts: 3,
      lastWakeSentAt: at(60),
      lastProvisionError: noCheckinMessage(3, 30, null),
    });
    const { state, actions } = step(before, HEARTBEAT, at(200));
    assert.equal(state.status, "online");
    assert.equal(state.statusReason, null);
    assert.equal(state.wakeAttempts, 0);
    assert.equal(state.lastProvisionError, null);
    assert.equal(state.checkinDeadlineAt, null);
    assert.deepEqual(state.lastSeenAt, at(200));
    assert.deepEqual(types(actions), ["emit:agent.heartbeat", "emit:agent.status.changed"]);
    assert.equal(emitted(actions, "agent.heartbeat").attempt, undefined);
    assert.deepEqual(emitted(actions, "agent.status.changed").data, { from: "offline", to: "online", reason: null });
  });

  test("offline (heartbeat_lost) → online", () => {
    const before = makeState({ status: "offline", statusReason: REASON_HEARTBEAT_LOST, lastSeenAt: at(0) });
    const { state, actions } = step(before, HEARTBEAT, at(500));
    assert.equal(state.status, "online");
    assert.equal(state.statusReason, null);
    assert.deepEqual(events(actions), ["agent.heartbeat", "agent.status.changed"]);
  });

  test("provisioning / updating / deleting → only lastSeenAt (never online before the wake's check-in)", () => {
    for (const status of ["provisioning", "updating", "deleting"] as AgentStatus[]) {
      const before = makeState({ status, wakeAttempts: 0, lastProvisionError: "kept", statusReason: null });
      const { state, actions } = step(before, HEARTBEAT, at(9));
      assert.deepEqual(state, { ...before, lastSeenAt: at(9) }, status);
      assert.deepEqual(actions, [], status);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// reconcile (docs/lifecycle.md, step 5, in that order)
// ---------------------------------------------------------------------------------------------------------------------

describe("reconcile", () => {
  test("agent gone (state null) → skip_missing_agent, nothing else", () => {
    const result = run(null, reconcileJob(1, 2), at(30));
    assert.equal(result.state, null);
    assert.deepEqual(events(result.actions), ["lifecycle.reconcile.skip_missing_agent"]);
    assert.equal(result.actions.length, 1);
    assert.equal(emitted(result.actions, "lifecycle.reconcile.skip_missing_agent").attempt, 2);
  });

  test("job generation ≠ agent generation (older or newer) → skip_stale_generation, state unchanged", () => {
    const before = wakingState(1, 0, { lifecycleGeneration: 5 });
    for (const generation of [4, 6]) {
      const { state, actions } = step(before, reconcileJob(generation, 1), at(30));
      assert.deepEqual(state, before);
      assert.deepEqual(events(actions), ["lifecycle.reconcile.skip_stale_generation"]);
      assert.equal(actions.length, 1);
      assert.deepEqual(emitted(actions, "lifecycle.reconcile.skip_stale_generation").data?.jobGeneration, generation);
    }
  });

  test("checked in during this cycle (online, or online and then lost) → skip_not_stuck", () => {
    const online = makeState({ status: "online", lastSeenAt: at(5), lastWakeSentAt: at(0) });
    let r = step(online, reconcileJob(1, 1), at(30));
    assert.deepEqual(r.state, online);
    assert.deepEqual(types(r.actions), ["emit:lifecycle.reconcile.skip_not_stuck"]);
    const lost = makeState({ status: "offline", statusReason: REASON_HEARTBEAT_LOST, lastSeenAt: at(5), lastWakeSentAt: at(0) });
    r = step(lost, reconcileJob(1, 1), at(300));
    assert.deepEqual(types(r.actions), ["emit:lifecycle.reconcile.skip_not_stuck"]);
  });

  test("path 2: waking is never taken for checked in, whatever lastSeenAt says (another clock, or a heartbeat that committed after the wake)", () => {
    for (const lastSeenAt of [at(0), at(10), at(29), msAt(-1), at(3600)]) {
      const before = wakingState(1, 0, { lastSeenAt });
      const { state, actions } = step(before, reconcileJob(1, 1), at(30));
      assert.ok(events(actions).includes("lifecycle.reconcile.retriggered"), `lastSeenAt ${lastSeenAt.toISOString()}`);
      assert.equal(state.status, "waking");
      assert.equal(state.wakeAttempts, 2);
    }
  });

  test("agent being deleted → skip_deleting", () => {
    const before = makeState({ status: "deleting", wakeAttempts: 1, lastWakeSentAt: at(0), lastSeenAt: null });
    const { state, actions } = step(before, reconcileJob(1, 1), at(30));
    assert.deepEqual(state, before);
    assert.deepEqual(types(actions), ["emit:lifecycle.reconcile.skip_deleting"]);
  });

  test("path 11: a duplicate job after the cycle ended offline → skip_cycle_ended, never skip_not_stuck (no heartbeat landed)", () => {
    const before = makeState({ status: "offline", statusReason: REASON_MAX_WAKE_ATTEMPTS, wakeAttempts: 3, lastWakeSentAt: at(60), lastSeenAt: null });
    const { state, actions } = step(before, reconcileJob(1, 3), at(95));
    assert.deepEqual(state, before);
    assert.deepEqual(types(actions), ["emit:lifecycle.reconcile.skip_cycle_ended"]);
  });

  test("provisioning/updating of the same generation (no wake outstanding) → skip_no_wake_outstanding", () => {
    for (const status of ["provisioning", "updating"] as AgentStatus[]) {
      const before = makeState({ status, wakeAttempts: 0, lastSeenAt: null });
      const { state, actions } = step(before, reconcileJob(1, 1), at(90));
      assert.deepEqual(state, before, status);
      assert.deepEqual(types(actions), ["emit:lifecycle.reconcile.skip_no_wake_outstanding"], status);
    }
  });

  test("job attempt ≠ current attempt → skip_stale_generation", () => {
    const before = wakingState(2, 30);
    for (const attempt of [1, 3]) {
      const { state, actions } = step(before, reconcileJob(1, attempt), at(60));
      assert.deepEqual(state, before);
      assert.deepEqual(types(actions), ["emit:lifecycle.reconcile.skip_stale_generation"]);
      assert.equal(emitted(actions, "lifecycle.reconcile.skip_stale_generation").data?.currentAttempt, 2);
    }
  });

  test("before the deadline → deferred, re-scheduled at the deadline, state unchanged", () => {
    const before = wakingState(1, 0);
    for (const now of [at(0), at(29), msAt(29_999)]) {
      const { state, actions } = step(before, reconcileJob(1, 1), now);
      assert.deepEqual(state, before);
      assert.deepEqual(types(actions), ["schedule_reconcile", "emit:lifecycle.reconcile.deferred"]);
      assert.deepEqual(only(actions, "schedule_reconcile"), { type: "schedule_reconcile", generation: 1, attempt: 1, at: at(30) });
      assert.deepEqual(emitted(actions, "lifecycle.reconcile.deferred").deadlineAt, at(30));
      none(actions, "send_wake");
    }
  });

  test("exactly at the deadline the job acts (not deferred)", () => {
    const { actions } = step(wakingState(1, 0), reconcileJob(1, 1), at(30));
    assert.ok(!events(actions).includes("lifecycle.reconcile.deferred"));
    assert.ok(events(actions).includes("lifecycle.reconcile.retriggered"));
  });

  test("attempts >= max → offline, max_wake_attempts, reason says why, deadline cleared, expired; escalation stops", () => {
    const before = wakingState(3, 60, { lifecycleGeneration: 2 });
    const now = at(90);
    const { state, actions } = step(before, reconcileJob(2, 3), now);
    assert.equal(state.status, "offline");
    assert.equal(state.statusReason, REASON_MAX_WAKE_ATTEMPTS);
    assert.equal(state.checkinDeadlineAt, null);
    assert.equal(state.wakeAttempts, 3);
    assert.equal(state.lifecycleGeneration, 2);
    assert.deepEqual(state.lastWakeSentAt, at(60));
    assert.match(state.lastProvisionError ?? "", /No check-in after 3 wakes/);
    assert.doesNotMatch(state.lastProvisionError ?? "", /gateway error/);
    assert.deepEqual(types(actions), [
      "resolve_attempt",
      "emit:lifecycle.reconcile.max_attempts_reached",
      "emit:agent.status.changed",
    ]);
    assert.deepEqual(only(actions, "resolve_attempt"), {
      type: "resolve_attempt",
      generation: 2,
      attempt: 3,
      outcome: "expired",
      at: now,
    });
    const max = emitted(actions, "lifecycle.reconcile.max_attempts_reached");
    assert.equal(max.attempt, 3);
    assert.equal(max.message, state.lastProvisionError);
    assert.deepEqual(max.data, { maxWakeAttempts: 3 });
    assert.deepEqual(emitted(actions, "agent.status.changed").data, {
      from: "waking",
      to: "offline",
      reason: REASON_MAX_WAKE_ATTEMPTS,
    });
    for (const type of ["schedule_reconcile", "send_wake", "insert_attempt"] as const) none(actions, type);
  });

  test("max attempts: the last gateway error is included in the reason", () => {
    const before = wakingState(3, 60, { lastProvisionError: "connect ECONNREFUSED 10.0.0.1:443" });
    const { state, actions } = step(before, reconcileJob(1, 3), at(90));
    assert.equal(state.status, "offline");
    assert.match(state.lastProvisionError ?? "", /^No check-in after 3 wakes.*last gateway error: connect ECONNREFUSED 10\.0\.0\.1:443/);
    assert.equal(emitted(actions, "lifecycle.reconcile.max_attempts_reached").message, state.lastProvisionError);
  });

  test("max attempts follows the config (1 wake; and attempts above a lowered max)", () => {
    const one = { checkinDeadlineSeconds: 30, maxWakeAttempts: 1 };
    let r = step(wakingState(1, 0), reconcileJob(1, 1), at(30), one);
    assert.equal(r.state.status, "offline");
    assert.match(r.state.lastProvisionError ?? "", /No check-in after 1 wake\b/);
    r = step(wakingState(2, 30), reconcileJob(1, 2), at(60), one);
    assert.equal(r.state.status, "offline");
    const five = { checkinDeadlineSeconds: 30, maxWakeAttempts: 5 };
    r = step(wakingState(3, 60), reconcileJob(1, 3), at(90), five);
    assert.equal(r.state.status, "waking");
    assert.equal(r.state.wakeAttempts, 4);
  });

  test("retrigger keeps the last gateway error for the final reason", () => {
    const { state } = step(wakingState(1, 0, { lastProvisionError: "ETIMEDOUT" }), reconcileJob(1, 1), at(30));
    assert.equal(state.lastProvisionError, "ETIMEDOUT");
  });

  test("otherwise → retriggered: attempt expired, attempt n+1 inserted, scheduled at its deadline, wake sent", () => {
    const before = wakingState(1, 0, { lifecycleGeneration: 3 });
    const now = msAt(30_400); // queue latency after the deadline
    const deadline = msAt(60_400);
    const { state, actions } = step(before, reconcileJob(3, 1), now);
    assert.deepEqual(state, {
      ...before,
      status: "waking",
      wakeAttempts: 2,
      lastWakeSentAt: now,
      checkinDeadlineAt: deadline,
    });
    assert.deepEqual(types(actions), [
      "resolve_attempt",
      "emit:lifecycle.reconcile.retriggered",
      "insert_attempt",
      "schedule_reconcile",
      "emit:lifecycle.queue.enqueued",
      "send_wake",
    ]);
    assert.deepEqual(only(actions, "resolve_attempt"), { type: "resolve_attempt", generation: 3, attempt: 1, outcome: "expired", at: now });
    assert.deepEqual(only(actions, "insert_attempt"), { type: "insert_attempt", generation: 3, attempt: 2, sentAt: now, deadlineAt: deadline });
    assert.deepEqual(only(actions, "schedule_reconcile"), { type: "schedule_reconcile", generation: 3, attempt: 2, at: deadline });
    assert.deepEqual(only(actions, "send_wake"), { type: "send_wake", generation: 3, attempt: 2, deadlineAt: deadline });
    assert.equal(emitted(actions, "lifecycle.reconcile.retriggered").attempt, 1);
    assert.equal(emitted(actions, "lifecycle.queue.enqueued").attempt, 2);
    // The agent is not shown anything but waking while a wake is outstanding.
    assert.ok(!events(actions).includes("agent.status.changed"));
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// The order of the reconcile checks (docs/lifecycle.md, step 5)
// ---------------------------------------------------------------------------------------------------------------------

describe("reconcile check order", () => {
  const skipOf = (state: LifecycleState, job: LifecycleInput, now: Date) => events(step(state, job, now).actions);

  test("stale generation wins over deleting", () => {
    const s = makeState({ status: "deleting", lifecycleGeneration: 4, wakeAttempts: 1, lastWakeSentAt: at(0) });
    assert.deepEqual(skipOf(s, reconcileJob(3, 1), at(30)), ["lifecycle.reconcile.skip_stale_generation"]);
  });

  test("stale generation wins over checked-in", () => {
    const s = makeState({ status: "online", lifecycleGeneration: 4, lastWakeSentAt: at(0), lastSeenAt: at(1) });
    assert.deepEqual(skipOf(s, reconcileJob(3, 1), at(30)), ["lifecycle.reconcile.skip_stale_generation"]);
  });

  test("stale generation wins over max attempts (an old job never takes a new cycle offline)", () => {
    const s = wakingState(3, 60, { lifecycleGeneration: 9 });
    const { state, actions } = step(s, reconcileJob(8, 3), at(90));
    assert.deepEqual(events(actions), ["lifecycle.reconcile.skip_stale_generation"]);
    assert.equal(state.status, "waking");
  });

  test("deleting is decided from the status: a heartbeat seen while deleting does not make it checked in", () => {
    const s = makeState({ status: "deleting", wakeAttempts: 1, lastWakeSentAt: at(0), lastSeenAt: at(3) });
    assert.deepEqual(skipOf(s, reconcileJob(1, 1), at(30)), ["lifecycle.reconcile.skip_deleting"]);
  });

  test("checked-in (online) wins over attempt mismatch and over the deadline checks", () => {
    const s = makeState({ status: "online", wakeAttempts: 0, lastWakeSentAt: at(30), lastSeenAt: at(31) });
    assert.deepEqual(skipOf(s, reconcileJob(1, 1), at(35)), ["lifecycle.reconcile.skip_not_stuck"]);
    assert.deepEqual(skipOf(s, reconcileJob(1, 2), at(35)), ["lifecycle.reconcile.skip_not_stuck"]);
    assert.deepEqual(skipOf(s, reconcileJob(1, 3), at(90)), ["lifecycle.reconcile.skip_not_stuck"]);
  });

  test("deleting wins over deferral and over escalation", () => {
    const early = makeState({ status: "deleting", wakeAttempts: 1, lastWakeSentAt: at(0), checkinDeadlineAt: at(30) });
    assert.deepEqual(types(step(early, reconcileJob(1, 1), at(10)).actions), ["emit:lifecycle.reconcile.skip_deleting"]);
    const late = makeState({ status: "deleting", wakeAttempts: 3, lastWakeSentAt: at(60), checkinDeadlineAt: at(90) });
    assert.deepEqual(types(step(late, reconcileJob(1, 3), at(90)).actions), ["emit:lifecycle.reconcile.skip_deleting"]);
  });

  test("not-waking wins over attempt mismatch and deferral", () => {
    const s = makeState({ status: "updating", wakeAttempts: 0, lastWakeSentAt: at(0), checkinDeadlineAt: null });
    assert.deepEqual(skipOf(s, reconcileJob(1, 1), at(5)), ["lifecycle.reconcile.skip_no_wake_outstanding"]);
  });

  test("attempt mismatch wins over deferral (an old attempt's job is not re-scheduled)", () => {
    const s = wakingState(2, 30);
    const { actions } = step(s, reconcileJob(1, 1), at(40));
    assert.deepEqual(types(actions), ["emit:lifecycle.reconcile.skip_stale_generation"]);
  });

  test("deferral wins over max attempts (never offline before the last deadline)", () => {
    const s = wakingState(3, 60);
    const { state, actions } = step(s, reconcileJob(1, 3), msAt(89_999));
    assert.equal(state.status, "waking");
    assert.deepEqual(events(actions), ["lifecycle.reconcile.deferred"]);
  });

  test("missing agent wins over everything", () => {
    assert.deepEqual(events(run(null, reconcileJob(99, 99), at(0)).actions), ["lifecycle.reconcile.skip_missing_agent"]);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// liveness_check (docs/lifecycle.md, after convergence)
// ---------------------------------------------------------------------------------------------------------------------

describe("liveness_check", () => {
  test("online, silent for longer than 3 × interval → offline heartbeat_lost + agent.heartbeat_lost", () => {
    const before = makeState({ status: "online", lastSeenAt: at(0), lifecycleGeneration: 2 });
    const { state, actions } = step(before, { type: "liveness_check" }, at(181));
    assert.deepEqual(state, { ...before, status: "offline", statusReason: REASON_HEARTBEAT_LOST });
    assert.deepEqual(types(actions), ["emit:agent.heartbeat_lost", "emit:agent.status.changed"]);
    assert.deepEqual(emitted(actions, "agent.heartbeat_lost").data, {
      lastSeenAt: at(0).toISOString(),
      limitSeconds: 180,
    });
    assert.deepEqual(emitted(actions, "agent.status.changed").data, { from: "online", to: "offline", reason: REASON_HEARTBEAT_LOST });
    for (const type of ["schedule_reconcile", "send_wake", "insert_attempt", "resolve_attempt"] as const) none(actions, type);
  });

  test("exactly at the limit → unchanged; 1 ms over → offline", () => {
    assert.equal(HEARTBEAT_LOSS_FACTOR, 3);
    const before = makeState({ status: "online", lastSeenAt: at(0) });
    const exact = step(before, { type: "liveness_check" }, at(180));
    assert.deepEqual(exact.state, before);
    assert.deepEqual(exact.actions, []);
    assert.equal(step(before, { type: "liveness_check" }, msAt(180_001)).state.status, "offline");
  });

  test("the limit follows the agent's own heartbeat interval", () => {
    const before = makeState({ status: "online", lastSeenAt: at(0), heartbeatIntervalSeconds: 10 });
    assert.equal(step(before, { type: "liveness_check" }, at(30)).state.status, "online");
    const lost = step(before, { type: "liveness_check" }, at(31));
    assert.equal(lost.state.status, "offline");
    assert.equal(emitted(lost.actions, "agent.heartbeat_lost").data?.limitSeconds, 30);
  });

  test("recent heartbeat → unchanged", () => {
    const before = makeState({ status: "online", lastSeenAt: at(100) });
    assert.deepEqual(step(before, { type: "liveness_check" }, at(101)), { state: before, actions: [] });
  });

  test("non-online statuses are never touched, however old lastSeenAt is", () => {
    for (const status of ["provisioning", "updating", "waking", "offline", "deleting"] as AgentStatus[]) {
      const before = makeState({ status, lastSeenAt: at(0), wakeAttempts: status === "waking" ? 1 : 0 });
      assert.deepEqual(step(before, { type: "liveness_check" }, at(10_000)), { state: before, actions: [] }, status);
    }
  });

  test("online without any lastSeenAt → unchanged", () => {
    const before = makeState({ status: "online", lastSeenAt: null });
    assert.deepEqual(step(before, { type: "liveness_check" }, at(10_000)), { state: before, actions: [] });
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// delete
// ---------------------------------------------------------------------------------------------------------------------

describe("delete", () => {
  test("→ deleting + supersede + remove_agent, deadline cleared", () => {
    const before = wakingState(2, 30);
    const { state, actions } = step(before, { type: "delete" }, at(40));
    assert.deepEqual(state, { ...before, status: "deleting", statusReason: null, checkinDeadlineAt: null });
    assert.deepEqual(types(actions), ["supersede_pending_attempts", "remove_agent", "emit:agent.status.changed"]);
    assert.deepEqual(emitted(actions, "agent.status.changed").data, { from: "waking", to: "deleting", reason: null });
  });

  test("from every other status", () => {
    for (const status of ["provisioning", "updating", "waking", "online", "offline"] as AgentStatus[]) {
      const { state, actions } = step(makeState({ status, statusReason: "x" }), { type: "delete" }, at(0));
      assert.equal(state.status, "deleting", status);
      assert.equal(state.statusReason, null, status);
      only(actions, "remove_agent");
      only(actions, "supersede_pending_attempts");
    }
  });

  test("idempotent: deleting again does nothing", () => {
    const first = step(makeState({ status: "online", lastSeenAt: at(0) }), { type: "delete" }, at(1));
    const second = step(first.state, { type: "delete" }, at(2));
    assert.deepEqual(second.state, first.state);
    assert.deepEqual(second.actions, []);
  });

  test("a deleting agent cannot be revived by a cycle, a wake or a heartbeat", () => {
    const deleting = step(wakingState(1), { type: "delete" }, at(1)).state;
    assert.equal(step(deleting, START_EXISTING, at(2)).state.status, "deleting");
    assert.deepEqual(step(deleting, { type: "wake_due", generation: 1 }, at(2)).actions, []);
    assert.equal(step(deleting, HEARTBEAT, at(2)).state.status, "deleting");
    assert.equal(step(deleting, { type: "liveness_check" }, at(1000)).state.status, "deleting");
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Purity and event names over the whole input × status matrix
// ---------------------------------------------------------------------------------------------------------------------

describe("purity", () => {
  const statuses = AGENT_STATUSES;
  const inputs: LifecycleInput[] = [
    START_NEW,
    START_EXISTING,
    { type: "wake_due", generation: 1 },
    { type: "wake_due", generation: 1, provisionError: "boom" },
    { type: "wake_failed", generation: 1, attempt: 1, error: "boom" },
    HEARTBEAT,
    reconcileJob(1, 1),
    reconcileJob(1, 3),
    reconcileJob(0, 1),
    { type: "liveness_check" },
    { type: "delete" },
  ];

  test("no input mutates a (deep-frozen) state, and every emitted event is in EVENT_NAMES", () => {
    let emittedCount = 0;
    const seen = new Set<string>();
    for (const status of statuses) {
      for (const attempts of [0, 1, 3]) {
        for (const now of [at(0), at(30), at(1000)]) {
          for (const input of inputs) {
            const before = deepFreeze(
              makeState({
                status,
                wakeAttempts: attempts,
                lastWakeSentAt: attempts ? at(0) : null,
                checkinDeadlineAt: status === "waking" ? at(30) : null,
                lastSeenAt: status === "online" ? at(0) : null,
              }),
            );
            const dates = [before.lastWakeSentAt, before.checkinDeadlineAt, before.lastSeenAt].map((d) => d?.getTime());
            const nowMs = now.getTime();
            const result = run(before, input, now); // throws if a frozen object is written to
            assert.deepEqual([before.lastWakeSentAt, before.checkinDeadlineAt, before.lastSeenAt].map((d) => d?.getTime()), dates);
            assert.equal(now.getTime(), nowMs, "now was mutated");
            if (result.state !== before && result.state !== null) {
              // A changed state is a new object, never an alias of a Date that the caller owns and might mutate.
              assert.notEqual(result.state, before);
            }
            for (const e of events(result.actions)) {
              emittedCount++;
              seen.add(e);
            }
          }
        }
      }
    }
    assert.ok(emittedCount > 100);
    // Every lifecycle event the policy owns is reachable from this matrix.
    for (const e of [
      "lifecycle.cycle.started",
      "lifecycle.queue.enqueued",
      "lifecycle.wake.failed",
      "lifecycle.reconcile.deferred",
      "lifecycle.reconcile.retriggered",
      "lifecycle.reconcile.max_attempts_reached",
      "lifecycle.reconcile.skip_not_stuck",
      "lifecycle.reconcile.skip_stale_generation",
      "lifecycle.reconcile.skip_deleting",
      "agent.heartbeat",
      "agent.status.changed",
      "agent.heartbeat_lost",
    ]) {
      assert.ok(seen.has(e), `${e} never emitted`);
    }
  });

  test("same inputs → same output (deterministic, depends only on the injected clock)", () => {
    for (const input of inputs) {
      const s = wakingState(1);
      assert.deepEqual(transition(s, input, at(30), CONFIG), transition(structuredClone(s), input, at(30), CONFIG));
    }
  });

  test("a transition that changes nothing returns the state as given", () => {
    const s = makeState({ status: "online", lastSeenAt: at(0) });
    assert.equal(transition(s, { type: "liveness_check" }, at(1), CONFIG).state, s);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Simulated runs: feed the policy's own actions back, as the lifecycle service and the queue would.
// ---------------------------------------------------------------------------------------------------------------------

interface AttemptRow {
  generation: number;
  attempt: number;
  sentAt: number;
  deadlineAt: number;
  outcome: WakeOutcome;
  resolvedAt?: number;
  error?: string;
}

interface SimOptions {
  config?: PolicyConfig;
  /** Milliseconds from `provision` to `wake_due`. */
  provisionDelayMs?: number;
  provisionError?: (generation: number) => string | undefined;
  /** The driver's wake call fails with this error. */
  wakeError?: (generation: number, attempt: number) => string | undefined;
  /** Called for every wake that reaches the agent (e.g. to schedule its heartbeat). */
  onWake?: (sim: Sim, generation: number, attempt: number) => void;
  /** remove_agent deletes the row right away (otherwise the agent stays `deleting`). */
  removeImmediately?: boolean;
}

class Sim {
  state: LifecycleState | null;
  clock = 0;
  readonly config: PolicyConfig;
  private queue: { at: number; seq: number; input: LifecycleInput }[] = [];
  private seq = 0;
  readonly rows: AttemptRow[] = [];
  readonly wakes: { generation: number; attempt: number; at: number }[] = [];
  readonly emitted: { event: EventName; at: number; attempt?: number }[] = [];
  readonly scheduled: { generation: number; attempt: number; at: number }[] = [];
  readonly trace: { at: number; input: LifecycleInput; status: AgentStatus | null; wakeAttempts: number | null }[] = [];

  constructor(
    state: LifecycleState | null,
    readonly opts: SimOptions = {},
  ) {
    this.state = state;
    this.config = opts.config ?? CONFIG;
  }

  feed(input: LifecycleInput, atMs: number): void {
    this.queue.push({ at: atMs, seq: this.seq++, input });
  }

  get pending(): number {
    return this.queue.length;
  }

  rowsOf(generation: number): AttemptRow[] {
    return this.rows.filter((r) => r.generation === generation).sort((a, b) => a.attempt - b.attempt);
  }

  count(event: EventName): number {
    return this.emitted.filter((e) => e.event === event).length;
  }

  /** Process everything due up to `untilMs` (or until the queue is empty). */
  run(untilMs = Number.POSITIVE_INFINITY, maxSteps = 10_000): void {
    for (let i = 0; i < maxSteps; i++) {
      if (this.queue.length === 0) return;
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      if (this.queue[0].at > untilMs) return;
      const next = this.queue.shift()!;
      assert.ok(next.at >= this.clock, "time went backwards");
      this.clock = next.at;
      this.apply(next.input);
    }
    assert.fail("simulation did not terminate");
  }

  apply(input: LifecycleInput): void {
    const before = this.state;
    const result = run(before, input, msAt(this.clock), this.config);
    const after = result.state;
    // Never online before a check-in.
    if (after && after.status === "online" && before?.status !== "online") assert.equal(input.type, "heartbeat");
    // Waking always has its deadline = last wake + configured deadline.
    if (after && after.status === "waking") {
      assert.ok(after.checkinDeadlineAt && after.lastWakeSentAt);
      assert.equal(after.checkinDeadlineAt.getTime() - after.lastWakeSentAt.getTime(), this.config.checkinDeadlineSeconds * 1000);
      assert.ok(after.wakeAttempts >= 1 && after.wakeAttempts <= this.config.maxWakeAttempts);
    }
    this.state = after;
    let removed = false;
    for (const action of result.actions) {
      switch (action.type) {
        case "emit":
          this.emitted.push({ event: action.event, at: this.clock, attempt: action.attempt });
          break;
        case "supersede_pending_attempts":
          for (const row of this.rows) {
            if (row.outcome === "pending" && after && row.generation < after.lifecycleGeneration) row.outcome = "superseded";
          }
          break;
        case "provision":
          this.feed(
            { type: "wake_due", generation: action.generation, provisionError: this.opts.provisionError?.(action.generation) },
            this.clock + (this.opts.provisionDelayMs ?? 0),
          );
          break;
        case "insert_attempt":
          assert.ok(
            !this.rows.some((r) => r.generation === action.generation && r.attempt === action.attempt),
            "duplicate attempt row",
          );
          this.rows.push({
            generation: action.generation,
            attempt: action.attempt,
            sentAt: rel(action.sentAt),
            deadlineAt: rel(action.deadlineAt),
            outcome: "pending",
          });
          break;
        case "resolve_attempt": {
          const row = this.rows.find((r) => r.generation === action.generation && r.attempt === action.attempt);
          assert.ok(row, `resolve of unknown attempt ${action.generation}/${action.attempt}`);
          if (row.outcome === "pending") {
            row.outcome = action.outcome;
            row.resolvedAt = rel(action.at);
            row.error = action.error;
          }
          break;
        }
        case "schedule_reconcile":
          assert.ok(rel(action.at) >= this.clock, "reconcile scheduled in the past");
          this.scheduled.push({ generation: action.generation, attempt: action.attempt, at: rel(action.at) });
          this.feed({ type: "reconcile", job: { generation: action.generation, attempt: action.attempt } }, rel(action.at));
          break;
        case "send_wake": {
          this.wakes.push({ generation: action.generation, attempt: action.attempt, at: this.clock });
          const error = this.opts.wakeError?.(action.generation, action.attempt);
          if (error !== undefined) {
            this.feed({ type: "wake_failed", generation: action.generation, attempt: action.attempt, error }, this.clock);
          } else {
            this.opts.onWake?.(this, action.generation, action.attempt);
          }
          break;
        }
        case "remove_agent":
          removed = true;
          break;
      }
    }
    if (removed && this.opts.removeImmediately) this.state = null;
    this.trace.push({
      at: this.clock,
      input,
      status: this.state?.status ?? null,
      wakeAttempts: this.state?.wakeAttempts ?? null,
    });
  }
}

const freshAgent = () => makeState({ status: "provisioning", lifecycleGeneration: 0 });

describe("simulated runs", () => {
  test("silent agent: exactly 3 wakes 30 s apart, then offline at 90 s; nothing further scheduled", () => {
    const sim = new Sim(freshAgent());
    sim.feed(START_NEW, 0);
    sim.run();
    assert.equal(sim.pending, 0, "escalation stopped: nothing left in the queue");
    const s = sim.state!;
    assert.equal(s.status, "offline");
    assert.equal(s.statusReason, REASON_MAX_WAKE_ATTEMPTS);
    assert.equal(s.lifecycleGeneration, 1);
    assert.equal(s.wakeAttempts, 3);
    assert.equal(s.checkinDeadlineAt, null);
    assert.match(s.lastProvisionError ?? "", /No check-in after 3 wakes/);
    assert.deepEqual(
      sim.wakes.map((w) => [w.generation, w.attempt, w.at]),
      [
        [1, 1, 0],
        [1, 2, 30_000],
        [1, 3, 60_000],
      ],
    );
    assert.deepEqual(
      sim.rowsOf(1).map((r) => [r.attempt, r.outcome, r.sentAt, r.deadlineAt]),
      [
        [1, "expired", 0, 30_000],
        [2, "expired", 30_000, 60_000],
        [3, "expired", 60_000, 90_000],
      ],
    );
    assert.deepEqual(
      sim.scheduled.map((j) => [j.attempt, j.at]),
      [
        [1, 30_000],
        [2, 60_000],
        [3, 90_000],
      ],
    );
    assert.equal(sim.clock, 90_000, "worst case first wake → offline = 3 × 30 s");
    assert.equal(sim.count("lifecycle.reconcile.retriggered"), 2);
    assert.equal(sim.count("lifecycle.reconcile.max_attempts_reached"), 1);
    assert.equal(sim.count("lifecycle.queue.enqueued"), 3);
    assert.equal(sim.count("lifecycle.cycle.started"), 1);
    assert.deepEqual(
      sim.trace.map((t) => t.status),
      ["provisioning", "waking", "waking", "waking", "offline"],
    );

    // A duplicate delivery of the last job, or a late sweep, changes nothing and schedules nothing.
    sim.feed(reconcileJob(1, 3), 95_000);
    sim.feed({ type: "liveness_check" }, 400_000);
    sim.run();
    assert.equal(sim.state!.status, "offline");
    assert.equal(sim.pending, 0);
    assert.equal(sim.scheduled.length, 3);
    assert.equal(sim.wakes.length, 3);
  });

  test("healthy agent: checks in 2 s after the first wake → online, one attempt, the deadline job skips", () => {
    const sim = new Sim(freshAgent(), {
      onWake: (s) => s.feed(HEARTBEAT, s.clock + 2_000),
    });
    sim.feed(START_NEW, 0);
    sim.run();
    assert.equal(sim.state!.status, "online");
    assert.equal(sim.state!.wakeAttempts, 0);
    assert.deepEqual(sim.rowsOf(1).map((r) => [r.attempt, r.outcome]), [[1, "checked_in"]]);
    assert.equal(sim.count("lifecycle.reconcile.skip_not_stuck"), 1);
    assert.equal(sim.wakes.length, 1);
    assert.equal(sim.pending, 0);
  });

  test("slow agent (checks in during attempt 2) → online; attempt 1 expired, attempt 2 checked_in, no attempt 3", () => {
    const sim = new Sim(freshAgent(), {
      onWake: (s, _g, attempt) => {
        if (attempt === 2) s.feed(HEARTBEAT, s.clock + 15_000);
      },
    });
    sim.feed(START_NEW, 0);
    sim.run();
    const s = sim.state!;
    assert.equal(s.status, "online");
    assert.equal(s.wakeAttempts, 0);
    assert.equal(s.checkinDeadlineAt, null);
    assert.equal(s.lastProvisionError, null);
    assert.deepEqual(s.lastSeenAt, msAt(45_000));
    assert.deepEqual(
      sim.rowsOf(1).map((r) => [r.attempt, r.outcome, r.resolvedAt]),
      [
        [1, "expired", 30_000],
        [2, "checked_in", 45_000],
      ],
    );
    assert.equal(sim.wakes.length, 2);
    assert.equal(sim.count("lifecycle.reconcile.retriggered"), 1);
    assert.equal(sim.count("lifecycle.reconcile.skip_not_stuck"), 1, "attempt 2's deadline job finds it checked in");
    assert.equal(sim.count("lifecycle.reconcile.max_attempts_reached"), 0);
    assert.equal(sim.pending, 0);
  });

  test("reprovision after offline: 3 fresh attempts again (not one wake and offline)", () => {
    const sim = new Sim(freshAgent());
    sim.feed(START_NEW, 0);
    sim.run();
    assert.equal(sim.state!.status, "offline");

    sim.feed(START_EXISTING, 120_000);
    sim.run(120_000 + 30_000); // through the first deadline of the new cycle
    assert.equal(sim.state!.lifecycleGeneration, 2);
    assert.equal(sim.state!.status, "waking", "the first deadline of the new cycle retriggers instead of going offline");
    assert.equal(sim.state!.wakeAttempts, 2);
    sim.run();
    assert.equal(sim.state!.status, "offline");
    assert.equal(sim.state!.statusReason, REASON_MAX_WAKE_ATTEMPTS);
    assert.deepEqual(
      sim.rowsOf(2).map((r) => [r.attempt, r.outcome, r.sentAt]),
      [
        [1, "expired", 120_000],
        [2, "expired", 150_000],
        [3, "expired", 180_000],
      ],
    );
    assert.equal(sim.wakes.filter((w) => w.generation === 2).length, 3);
    assert.equal(sim.clock, 210_000);
    assert.equal(sim.pending, 0);
    assert.deepEqual(
      sim.trace.filter((t) => t.at >= 120_000).map((t) => t.status),
      ["updating", "waking", "waking", "waking", "offline"],
    );
  });

  test("reprovision after offline: an agent that answers the 3rd wake of the new cycle ends online", () => {
    const sim = new Sim(freshAgent(), {
      onWake: (s, generation, attempt) => {
        if (generation === 2 && attempt === 3) s.feed(HEARTBEAT, s.clock + 1_000);
      },
    });
    sim.feed(START_NEW, 0);
    sim.run();
    sim.feed(START_EXISTING, 100_000);
    sim.run();
    assert.equal(sim.state!.status, "online");
    assert.deepEqual(sim.rowsOf(2).map((r) => r.outcome), ["expired", "expired", "checked_in"]);
  });

  test("reprovision mid-cycle: the old cycle's job is skipped as stale, its attempt superseded, the new cycle runs in full", () => {
    const sim = new Sim(freshAgent());
    sim.feed(START_NEW, 0);
    sim.feed(START_EXISTING, 10_000);
    sim.run();
    assert.deepEqual(sim.rowsOf(1).map((r) => [r.attempt, r.outcome]), [[1, "superseded"]]);
    assert.deepEqual(sim.rowsOf(2).map((r) => [r.attempt, r.outcome]), [
      [1, "expired"],
      [2, "expired"],
      [3, "expired"],
    ]);
    assert.equal(sim.count("lifecycle.reconcile.skip_stale_generation"), 1);
    assert.equal(sim.state!.status, "offline");
    assert.equal(sim.clock, 100_000);
    assert.equal(sim.pending, 0);
  });

  test("gateway unreachable: every wake fails, still exactly 3 attempts, offline with the gateway error in the reason", () => {
    const sim = new Sim(freshAgent(), { wakeError: () => "connect ECONNREFUSED 127.0.0.1:18789" });
    sim.feed(START_NEW, 0);
    sim.run();
    const s = sim.state!;
    assert.equal(s.status, "offline");
    assert.match(s.lastProvisionError ?? "", /No check-in after 3 wakes.*last gateway error: connect ECONNREFUSED/);
    assert.deepEqual(sim.rowsOf(1).map((r) => r.outcome), ["rpc_failed", "rpc_failed", "rpc_failed"]);
    assert.ok(sim.rowsOf(1).every((r) => r.error === "connect ECONNREFUSED 127.0.0.1:18789"));
    assert.equal(sim.count("lifecycle.wake.failed"), 3);
    assert.equal(sim.clock, 90_000);
    assert.equal(sim.pending, 0);
  });

  test("failed provisioning: attempt 1 is rpc_failed without a wake, the cycle still terminates", () => {
    const sim = new Sim(freshAgent(), { provisionDelayMs: 500, provisionError: () => "agents.create: unauthorized" });
    sim.feed(START_NEW, 0);
    sim.run();
    assert.equal(sim.state!.status, "offline");
    assert.deepEqual(sim.rowsOf(1).map((r) => r.outcome), ["rpc_failed", "expired", "expired"]);
    assert.deepEqual(sim.wakes.map((w) => w.attempt), [2, 3], "no wake is sent for the failed provision");
    assert.match(sim.state!.lastProvisionError ?? "", /last gateway error: agents\.create: unauthorized/);
    assert.equal(sim.clock, 500 + 90_000);
  });

  test("a check-in after offline brings the agent online", () => {
    const sim = new Sim(freshAgent());
    sim.feed(START_NEW, 0);
    sim.feed(HEARTBEAT, 95_000);
    sim.run();
    assert.equal(sim.state!.status, "online");
    assert.equal(sim.state!.lastProvisionError, null);
    assert.deepEqual(sim.rowsOf(1).map((r) => r.outcome), ["expired", "expired", "expired"]);
  });

  test("delete mid-cycle: the deadline job skips (deleting, then missing agent); no more wakes", () => {
    const keep = new Sim(freshAgent());
    keep.feed(START_NEW, 0);
    keep.feed({ type: "delete" }, 10_000);
    keep.run();
    assert.equal(keep.state!.status, "deleting");
    assert.equal(keep.count("lifecycle.reconcile.skip_deleting"), 1);
    assert.equal(keep.wakes.length, 1);
    assert.equal(keep.pending, 0);

    const gone = new Sim(freshAgent(), { removeImmediately: true });
    gone.feed(START_NEW, 0);
    gone.feed({ type: "delete" }, 10_000);
    gone.run();
    assert.equal(gone.state, null);
    assert.equal(gone.count("lifecycle.reconcile.skip_missing_agent"), 1);
    assert.equal(gone.wakes.length, 1);
    assert.equal(gone.pending, 0);
  });

  test("crash after check-in: online until 3 × interval of silence, then offline heartbeat_lost; a heartbeat revives it", () => {
    const sim = new Sim(freshAgent(), { onWake: (s) => s.feed(HEARTBEAT, s.clock + 1_000) });
    sim.feed(START_NEW, 0);
    for (let t = 60_000; t <= 300_000; t += 60_000) sim.feed({ type: "liveness_check" }, t);
    sim.run(180_000 + 1_000);
    assert.equal(sim.state!.status, "online", "exactly 180 s after the last heartbeat it is still online");
    sim.run(240_000);
    assert.equal(sim.state!.status, "offline");
    assert.equal(sim.state!.statusReason, REASON_HEARTBEAT_LOST);
    assert.equal(sim.count("agent.heartbeat_lost"), 1);
    sim.run();
    assert.equal(sim.count("agent.heartbeat_lost"), 1, "the sweep does not repeat on an offline agent");
    sim.feed(HEARTBEAT, 310_000);
    sim.run();
    assert.equal(sim.state!.status, "online");
    assert.equal(sim.state!.statusReason, null);
  });

  test("randomised runs always terminate online or offline within max attempts, with no attempt left pending", () => {
    // Seeded, so failures are reproducible.
    const rng = mulberry32;
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const config: PolicyConfig = { checkinDeadlineSeconds: 1 + Math.floor(r() * 60), maxWakeAttempts: 1 + Math.floor(r() * 5) };
      const deadlineMs = config.checkinDeadlineSeconds * 1000;
      const pHeartbeat = r();
      const pWakeFail = r() * 0.5;
      const pProvisionFail = r() * 0.3;
      const cycles = 1 + Math.floor(r() * 3);
      const sim = new Sim(freshAgent(), {
        config,
        provisionDelayMs: Math.floor(r() * 2000),
        provisionError: () => (r() < pProvisionFail ? "provision failed" : undefined),
        wakeError: () => (r() < pWakeFail ? "wake failed" : undefined),
        onWake: (s) => {
          if (r() < pHeartbeat) s.feed(HEARTBEAT, s.clock + Math.floor(r() * 2 * deadlineMs));
        },
      });
      let t = 0;
      for (let c = 0; c < cycles; c++) {
        sim.feed(c === 0 ? START_NEW : START_EXISTING, t);
        sim.run();
        const s = sim.state!;
        const label = `seed ${seed} cycle ${c + 1}`;
        assert.ok(s.status === "online" || s.status === "offline", `${label}: ended ${s.status}`);
        assert.equal(sim.pending, 0, `${label}: queue not drained`);
        const rows = sim.rowsOf(s.lifecycleGeneration);
        assert.ok(rows.length >= 1 && rows.length <= config.maxWakeAttempts, `${label}: ${rows.length} attempts`);
        assert.deepEqual(rows.map((x) => x.attempt), rows.map((_, i) => i + 1), `${label}: attempts numbered 1..n`);
        assert.ok(!sim.rows.some((x) => x.outcome === "pending"), `${label}: attempt left pending`);
        assert.ok(rows.filter((x) => x.outcome === "checked_in").length <= 1, `${label}: more than one check-in`);
        if (s.status === "offline") {
          assert.equal(s.statusReason, REASON_MAX_WAKE_ATTEMPTS, label);
          assert.equal(rows.length, config.maxWakeAttempts, `${label}: offline before the last attempt`);
          assert.ok(s.lastProvisionError?.startsWith(`No check-in after ${config.maxWakeAttempts} wake`), label);
        } else {
          assert.equal(s.checkinDeadlineAt, null, label);
          assert.equal(s.lastProvisionError, null, label);
        }
        const firstSent = rows[0].sentAt;
        const lastDeadline = rows[rows.length - 1].deadlineAt;
        assert.ok(lastDeadline - firstSent <= config.maxWakeAttempts * deadlineMs, `${label}: cycle too long`);
        t = sim.clock + 1 + Math.floor(r() * 10_000);
      }
    }
  });
});
