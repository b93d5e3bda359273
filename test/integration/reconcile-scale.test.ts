// Reconcile at scale (docs/scaling.md): gateway calls are limited per gateway, a hanging gateway delays no other
// gateway's decisions, and a wave of reconcile jobs on a small pool is decided without a single failed job.
import { test, describe, after, before } from "node:test";
import assert from "node:assert/strict";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { FakeHttpGateway } from "../support/fake-http-gateway";
import { failedReconcileJobs, seedWakingFleet } from "../support/waking-fleet";
import { GatewayLimits } from "../../server/lifecycle/gateway-limits";
import { sealSecret } from "../../server/secrets/crypto";

async function httpGateway(h: Harness, gw: FakeHttpGateway, name: string, policy: { checkinDeadlineSeconds?: number; maxWakeAttempts?: number }) {
  const row = await h.app.db.gateway.create({
    data: { name, driver: "http", url: gw.url, tokenSecret: sealSecret("gw-token"), ...policy },
  });
  return row.id;
}

describe("GatewayLimits", () => {
  test("a gateway whose calls hang fills only its own slots, and idle gateways leave nothing behind", async () => {
    const limits = new GatewayLimits(2);
    const releases: (() => void)[] = [];
    const hanging = Array.from({ length: 5 }, () => limits.run("slow", () => new Promise<void>((r) => releases.push(r))));
    let ran = 0;
    await Promise.all(Array.from({ length: 5 }, () => limits.run("fast", async () => void (ran += 1))));
    assert.equal(ran, 5, "another gateway's calls all ran while the slow one hung");
    assert.deepEqual(limits.load("slow"), { active: 2, pending: 3 });
    assert.equal(limits.gateways, 1, "the idle gateway's limiter is gone");
    // Each call that ends lets the next queued one start.
    for (let i = 0; i < 5; i++) {
      for (let spins = 0; releases.length <= i && spins < 100; spins++) await new Promise((r) => setImmediate(r));
      assert.ok(limits.load("slow").active <= 2);
      releases[i]();
    }
    await Promise.all(hanging);
    assert.equal(limits.gateways, 0);
  });
});

describe("reconcile at scale", () => {
  let h: Harness;
  const slow = new FakeHttpGateway();
  const fast = new FakeHttpGateway();

  before(async () => {
    await slow.start();
    await fast.start();
    h = await startHarness({ env: { GATEWAY_CONCURRENCY: "2", DATABASE_POOL_SIZE: "10", RECONCILE_CONCURRENCY: "2", RECONCILE_BATCH_SIZE: "25" } });
  });
  after(async () => {
    slow.releaseWakes();
    await h.stop();
    await slow.stop();
    await fast.stop();
  });

  test("a hanging gateway delays no other gateway's decisions, and no gateway sees more calls at once than its limit", async () => {
    slow.holdWakes = true;
    // The hanging gateway's deadline is long (its wakes stay held); the other's is short, with two attempts.
    const slowId = await httpGateway(h, slow, "slow-gw", { checkinDeadlineSeconds: 60 });
    const fastId = await httpGateway(h, fast, "fast-gw", { checkinDeadlineSeconds: 1, maxWakeAttempts: 2 });
    const create = (gatewayId: string, name: string) =>
      h.app.lifecycle.createAgent({ gatewayId, name, kind: "gateway_main" }, "test").then((v) => v.id);
    const slowAgents = await Promise.all(Array.from({ length: 6 }, (_, i) => create(slowId, `slow-${i}`)));
    const fastAgents = await Promise.all(Array.from({ length: 6 }, (_, i) => create(fastId, `fast-${i}`)));

    await waitFor(async () => slow.wakesHeld === 2, 20_000, "the hanging gateway to hold two wakes");
    // Every fast agent goes through both attempts to offline while the slow gateway still answers nothing.
    await waitFor(
      async () => (await h.app.db.agent.count({ where: { id: { in: fastAgents }, status: "offline" } })) === fastAgents.length,
      20_000,
      "every agent of the other gateway to be decided offline",
    );
    assert.equal(slow.wakesAnswered, 0, "the slow gateway answered nothing meanwhile");
    assert.equal(slow.wakesHeld, 2, "the slow gateway never got more than its 2 slots");
    assert.deepEqual(h.app.lifecycle.gatewayLimits.load(slowId), { active: 2, pending: 4 });
    const fastAttempts = await h.app.db.wakeAttempt.findMany({ where: { agentId: { in: fastAgents } } });
    assert.equal(fastAttempts.length, 12);
    assert.ok(fastAttempts.every((a) => a.outcome === "expired" && a.resolvedAt !== null), "both attempts of every fast agent expired at a decision");
    assert.equal(fast.requests.filter((r) => r.path.endsWith("/wake")).length, 12, "every wake of the fast gateway was sent");

    slow.releaseWakes();
    await waitFor(async () => slow.wakesAnswered === 6, 20_000, "the slow gateway to work through every wake");
    await waitFor(async () => h.app.lifecycle.gatewayLimits.gateways === 0, 10_000, "every limiter to be dropped once idle");
    assert.ok(slow.maxAgentCallsInFlight <= 2, `slow gateway saw ${slow.maxAgentCallsInFlight} calls at once`);
    assert.ok(fast.maxAgentCallsInFlight <= 2, `fast gateway saw ${fast.maxAgentCallsInFlight} calls at once`);
    assert.equal(await h.app.db.agent.count({ where: { id: { in: slowAgents }, status: "waking" } }), 6);
    assert.equal(await failedReconcileJobs(h.databaseUrl), 0);
  });

  test("a wave of reconcile jobs due at once on a small pool: every one decided, none failed", async () => {
    const gw = new FakeHttpGateway();
    await gw.start();
    try {
      const gatewayId = await httpGateway(h, gw, "wave-gw", { checkinDeadlineSeconds: 3, maxWakeAttempts: 2 });
      const fleet = await seedWakingFleet(h.databaseUrl, h.app.boss, { gateways: [{ gatewayId, count: 600 }], deadlineInSeconds: 1 });
      await waitFor(
        async () => (await h.app.db.agent.count({ where: { gatewayId, status: "offline" } })) === fleet.agentIds.length,
        60_000,
        "every agent of the wave to reach offline after two attempts",
      );
      const first = await h.app.db.wakeAttempt.count({ where: { agentId: { in: fleet.agentIds }, attempt: 1, outcome: "expired" } });
      assert.equal(first, 600, "every first attempt expired at a decision");
      // The second wakes go out 2 at a time: one whose turn comes after its deadline is not sent, and says why.
      const second = await h.app.db.wakeAttempt.findMany({ where: { agentId: { in: fleet.agentIds }, attempt: 2 }, select: { outcome: true, error: true } });
      const notSent = second.filter((a) => a.outcome === "rpc_failed");
      assert.equal(second.length, 600);
      assert.ok(second.every((a) => a.outcome === "expired" || a.outcome === "rpc_failed"));
      // Not sent at all, or cut at the deadline: either way the attempt says why.
      assert.ok(notSent.every((a) => a.error?.startsWith("wake not sent before its deadline") || a.error?.startsWith("wake: gave up")), JSON.stringify(notSent[0]));
      // A wake still queued when its attempt was decided is dropped (its cycle moved on): never more than one per attempt.
      const sent = gw.requests.filter((r) => r.path.endsWith("/wake")).length;
      assert.ok(sent > 0 && sent + notSent.length <= 600, `${sent} sent, ${notSent.length} not sent`);
      assert.ok(gw.maxAgentCallsInFlight <= 2, `gateway saw ${gw.maxAgentCallsInFlight} calls at once`);
      assert.equal(await failedReconcileJobs(h.databaseUrl), 0, "no reconcile job failed or was retried");
      const offline = await h.app.db.agent.findMany({ where: { gatewayId }, select: { statusReason: true, wakeAttempts: true } });
      assert.ok(offline.every((a) => a.statusReason === "max_wake_attempts" && a.wakeAttempts === 2));
    } finally {
      await gw.stop();
    }
  });
});
