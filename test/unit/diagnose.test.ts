// The Diagnose verdict (lib/diagnose.ts) as a pure function: one case per cause, in the order the rules rank them,
// and the checklist rows that back each sentence. The agent page renders this (components/agent/diagnose.tsx) and
// notifications quote it, so a rule change shows here before it shows on a page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { diagnose, type DiagnoseEvent, type DiagnoseInput, type GatewayFacts } from "../../lib/diagnose";
import type { AgentDetail } from "../../lib/client/types";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const at = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000);
const REV = "rev-aaaaaaaaaaaa";

type Attempt = AgentDetail["attempts"][number];

function agent(over: Partial<Record<keyof AgentDetail, unknown>> = {}): AgentDetail {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    name: "worker-1",
    kind: "board_worker",
    status: "online",
    statusReason: null,
    gatewayId: "00000000-0000-4000-8000-0000000000aa",
    boardId: "00000000-0000-4000-8000-0000000000bb",
    gateway: { name: "gw", driver: "http", status: "reachable", templateRevision: REV },
    templateRevision: REV,
    lastProvisionError: null,
    heartbeatsAccepted: 5,
    heartbeatsRejected: 0,
    lastRejectedAt: null,
    lastRejectedReason: null,
    lastSeenAt: at(10),
    lastWakeSentAt: at(60),
    cycleStartedAt: at(70),
    checkinDeadlineAt: null,
    wakeAttempts: 1,
    maxWakeAttempts: 3,
    updatedAt: at(10),
    attempts: [],
    ...over,
  } as unknown as AgentDetail;
}

function attempt(over: Partial<Attempt> = {}): Attempt {
  return { generation: 1, attempt: 1, sentAt: at(60), outcome: "pending", error: null, runError: null, ...over } as Attempt;
}

function run(input: Partial<DiagnoseInput> & { agent: AgentDetail }) {
  return diagnose({ health: { workersAlive: 1, queueSchema: "pgboss" }, gateway: undefined, events: [], now: NOW, ...input });
}

const check = (r: ReturnType<typeof diagnose>, key: string) => r.checks.find((c) => c.key === key);

test("an online agent with current templates is healthy and needs nothing", () => {
  const r = run({ agent: agent() });
  assert.equal(r.verdict.cause, "healthy");
  assert.equal(r.verdict.fix, null);
  assert.deepEqual(
    r.checks.map((c) => [c.key, c.state]),
    [
      ["worker", "ok"],
      ["gateway", "ok"],
      ["templates", "ok"],
      ["rejected", "ok"],
      ["error", "ok"],
      ["wake", "unknown"],
    ],
  );
});

test("an online agent on stale templates is healthy, with Reprovision offered", () => {
  const r = run({ agent: agent({ templateRevision: "rev-old" }) });
  assert.equal(r.verdict.cause, "healthy");
  assert.equal(r.verdict.fix, "reprovision");
  assert.equal(check(r, "templates")?.state, "warn");
});

test("a deleting agent is only being deleted, whatever else is wrong", () => {
  const r = run({ agent: agent({ status: "deleting", gateway: { name: "gw", driver: "http", status: "unreachable", templateRevision: REV } }), health: { workersAlive: 0, queueSchema: "pgboss" } });
  assert.equal(r.verdict.cause, "deleting");
  assert.equal(r.verdict.fix, null);
});

test("no worker comes first for an agent that is not online, and sends the operator to System", () => {
  const r = run({ agent: agent({ status: "waking", gateway: { name: "gw", driver: "http", status: "unreachable", templateRevision: REV } }), health: { workersAlive: 0, queueSchema: "pgboss" } });
  assert.equal(r.verdict.cause, "no_worker");
  assert.equal(r.verdict.fix, "worker");
  assert.equal(check(r, "worker")?.state, "fail");
});

test("no worker does not make an online agent unhealthy; unknown health is shown as checking", () => {
  assert.equal(run({ agent: agent(), health: { workersAlive: 0, queueSchema: "pgboss" } }).verdict.cause, "healthy");
  const r = run({ agent: agent(), health: undefined });
  assert.equal(check(r, "worker")?.state, "unknown");
});

test("a pending pairing request names the approve command", () => {
  const gateway: GatewayFacts = { status: "reachable", lastError: null, lastContactAt: at(5), runtimeVersion: "1.0", pairingRequestId: "req-42" };
  const r = run({ agent: agent({ status: "waking" }), gateway });
  assert.equal(r.verdict.cause, "device_not_paired");
  assert.match(r.verdict.sentence, /openclaw devices approve req-42/);
  assert.equal(r.verdict.fix, "gateway");
});

test("an unreachable gateway is the gateway's fault, with its error", () => {
  const gateway: GatewayFacts = { status: "unreachable", lastError: "ECONNREFUSED", lastContactAt: null, runtimeVersion: null };
  const r = run({ agent: agent({ status: "waking" }), gateway });
  assert.equal(r.verdict.cause, "gateway_unreachable");
  assert.match(r.verdict.sentence, /\(ECONNREFUSED\)/);
  assert.equal(check(r, "gateway")?.state, "fail");
});

test("a wake the gateway refused counts as the gateway being down even before a probe", () => {
  const a = agent({ status: "waking", gateway: { name: "gw", driver: "http", status: "unknown", templateRevision: REV }, attempts: [attempt({ outcome: "rpc_failed", error: "timeout" })] });
  const r = run({ agent: a });
  assert.equal(r.verdict.cause, "gateway_unreachable");
  assert.equal(check(r, "gateway")?.state, "fail");
  assert.equal(check(r, "wake")?.state, "fail");
  assert.match(check(r, "wake")!.detail, /timeout/);
});

test("heartbeats after the last wake that did not count mean an old token", () => {
  const r = run({ agent: agent({ status: "waking", lastWakeSentAt: at(60), lastSeenAt: at(5) }) });
  assert.equal(r.verdict.cause, "old_token");
  assert.equal(r.verdict.fix, "reprovision");
});

test("a run the gateway reports failed quotes the gateway's words", () => {
  const r = run({ agent: agent({ status: "waking", lastSeenAt: null, lastProvisionError: "agent run failed on the gateway: no model configured" }) });
  assert.equal(r.verdict.cause, "run_failed");
  assert.match(r.verdict.sentence, /"no model configured"/);
});

test("heartbeats rejected during this cycle ask for Reprovision; rejected before it only warn", () => {
  const during = run({ agent: agent({ status: "waking", lastSeenAt: null, heartbeatsRejected: 2, lastRejectedAt: at(30), lastRejectedReason: "bad token" }) });
  assert.equal(during.verdict.cause, "heartbeats_rejected");
  assert.match(during.verdict.sentence, /bad token/);
  assert.equal(check(during, "rejected")?.state, "fail");

  const before = run({ agent: agent({ heartbeatsRejected: 2, lastRejectedAt: at(3600) }) });
  assert.equal(before.verdict.cause, "healthy");
  assert.equal(check(before, "rejected")?.state, "warn");
});

test("stale templates on an agent that is not online ask for Reprovision", () => {
  const r = run({ agent: agent({ status: "waking", lastSeenAt: null, templateRevision: "rev-old", checkinDeadlineAt: new Date(NOW + 60_000) }) });
  assert.equal(r.verdict.cause, "stale_templates");
});

test("offline after heartbeats stopped asks for Wake", () => {
  const r = run({ agent: agent({ status: "offline", statusReason: "heartbeat_lost" }) });
  assert.equal(r.verdict.cause, "heartbeat_lost");
  assert.equal(r.verdict.fix, "wake");
});

test("offline after every wake went unanswered is no check-in", () => {
  const r = run({ agent: agent({ status: "offline", statusReason: "max_wake_attempts", lastSeenAt: null, wakeAttempts: 3, lastProvisionError: "no check-in after 3 attempts" }) });
  assert.equal(r.verdict.cause, "no_checkin");
  assert.match(r.verdict.sentence, /after 3 attempts/);
});

test("offline for any other reason is a failed provisioning", () => {
  const r = run({ agent: agent({ status: "offline", lastSeenAt: null, lastProvisionError: "disk full" }) });
  assert.equal(r.verdict.cause, "provision_failed");
  assert.match(r.verdict.sentence, /disk full/);
});

test("a cycle inside its deadline is converging; one 15 s past it is stuck", () => {
  const waiting = run({ agent: agent({ status: "waking", lastSeenAt: null, checkinDeadlineAt: new Date(NOW + 30_000) }) });
  assert.equal(waiting.verdict.cause, "converging");
  assert.equal(waiting.verdict.fix, null);
  const grace = run({ agent: agent({ status: "waking", lastSeenAt: null, checkinDeadlineAt: new Date(NOW - 15_000) }) });
  assert.equal(grace.verdict.cause, "converging");
  const stuck = run({ agent: agent({ status: "waking", lastSeenAt: null, checkinDeadlineAt: new Date(NOW - 16_000) }) });
  assert.equal(stuck.verdict.cause, "stuck");
  assert.equal(stuck.verdict.fix, "reprovision");
});

test("a wake.sent event for the last attempt shows the wake reached the gateway", () => {
  const a = agent({ status: "waking", lastSeenAt: null, checkinDeadlineAt: new Date(NOW + 30_000), attempts: [attempt({ generation: 2, attempt: 1 })] });
  const other: DiagnoseEvent = { event: "lifecycle.wake.sent", generation: 1, attempt: 1, at: at(120), message: "older cycle" } as DiagnoseEvent;
  assert.equal(check(run({ agent: a, events: [other] }), "wake")?.state, "unknown");
  const sent: DiagnoseEvent = { event: "lifecycle.wake.sent", generation: 2, attempt: 1, at: at(59), message: "sent" } as DiagnoseEvent;
  assert.equal(check(run({ agent: a, events: [sent] }), "wake")?.state, "ok");
});
