// The convergence policy end to end on the real stack: PostgreSQL, pg-boss delayed jobs, the HTTP heartbeat API and
// simulated agents. Deadline 1.5 s, 3 attempts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startHarness, waitFor, eventsOf, simulatorToken, type Harness } from "../support/harness";
import { createDriverFactory } from "../../server/drivers";
import { GatewayCallError } from "../../server/drivers/types";
import { QUEUES } from "../../server/queue/queues";

const DEADLINE_MS = 1500;
const MAX = 3;

async function agentRow(h: Harness, id: string) {
  return h.app.db.agent.findUniqueOrThrow({ where: { id } });
}

async function attempts(h: Harness, id: string) {
  return h.app.db.wakeAttempt.findMany({ where: { agentId: id }, orderBy: [{ generation: "asc" }, { attempt: "asc" }] });
}

async function pendingJobs(h: Harness, agentId: string): Promise<number> {
  const rows = await h.app.db.$queryRawUnsafe<{ n: bigint }[]>(
    `SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state IN ('created','retry','active') AND data->>'agentId' = $2`,
    QUEUES.reconcile,
    agentId,
  );
  return Number(rows[0].n);
}

const statusIs = (h: Harness, id: string, status: string) => async () => {
  const a = await agentRow(h, id);
  return a.status === status ? a : null;
};

describe("convergence on the real stack", { concurrency: true }, () => {
  let h: Harness;
  let gatewayId: string;
  before(async () => {
    h = await startHarness();
    gatewayId = await h.gateway();
  });
  after(async () => {
    await h.stop();
  });

  test("silent agent: exactly MAX wakes, then offline with the reason, nothing scheduled afterwards", async () => {
    const id = await h.agent(gatewayId, "silent");
    const offline = await waitFor(statusIs(h, id, "offline"), MAX * DEADLINE_MS + 4000, "silent agent offline");
    const first = (await attempts(h, id))[0];
    const elapsed = offline.updatedAt.getTime() - first.sentAt.getTime();
    assert.ok(elapsed <= MAX * DEADLINE_MS + 2000, `offline ${elapsed} ms after the first wake, limit ${MAX * DEADLINE_MS + 2000} ms`);
    assert.match(offline.lastProvisionError ?? "", /No check-in after 3 wakes/);
    assert.equal(offline.checkinDeadlineAt, null);
    assert.equal(offline.statusReason, "max_wake_attempts");
    const rows = await attempts(h, id);
    assert.equal(rows.length, MAX);
    assert.deepEqual(rows.map((r) => r.outcome), ["expired", "expired", "expired"]);
    const events = await eventsOf(h.app, id);
    assert.equal(events.filter((e) => e === "lifecycle.wake.sent").length, MAX);
    assert.equal(events.filter((e) => e === "lifecycle.reconcile.retriggered").length, MAX - 1);
    assert.equal(events.filter((e) => e === "lifecycle.reconcile.max_attempts_reached").length, 1);
    // The job that decided is completed right after its transaction commits.
    await waitFor(async () => (await pendingJobs(h, id)) === 0, 2000, "no reconcile job left");
    // And it stays that way: no further wake after another deadline.
    await new Promise((r) => setTimeout(r, DEADLINE_MS + 600));
    assert.equal((await attempts(h, id)).length, MAX);
    assert.equal((await agentRow(h, id)).status, "offline");
  });

  test("healthy agent: online after the first wake, attempts reset, deadline cleared, attempt checked_in", async () => {
    const id = await h.agent(gatewayId, "healthy");
    const online = await waitFor(statusIs(h, id, "online"), DEADLINE_MS + 3000, "healthy agent online");
    assert.equal(online.wakeAttempts, 0);
    assert.equal(online.checkinDeadlineAt, null);
    assert.equal(online.lastProvisionError, null);
    assert.ok(online.lastSeenAt);
    const rows = await attempts(h, id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].outcome, "checked_in");
    assert.ok(rows[0].checkedInAt);
    // The deadline job of that attempt still fires and skips because the agent checked in.
    await waitFor(async () => (await eventsOf(h.app, id)).includes("lifecycle.reconcile.skip_not_stuck"), DEADLINE_MS + 3000, "skip_not_stuck");
    await waitFor(async () => (await pendingJobs(h, id)) === 0, 2000, "no reconcile job left");
  });

  test("slow agent: online on attempt 2, attempt 1 expired", async () => {
    const id = await h.agent(gatewayId, "slow");
    await waitFor(statusIs(h, id, "online"), 2 * DEADLINE_MS + 3000, "slow agent online");
    const rows = await attempts(h, id);
    assert.deepEqual(
      rows.map((r) => [r.attempt, r.outcome]),
      [
        [1, "expired"],
        [2, "checked_in"],
      ],
    );
  });

  test("a gateway that lost the agent (restart): the next wake provisions it again and it converges", async () => {
    const id = await h.agent(gatewayId, "slow");
    await waitFor(async () => (await agentRow(h, id)).wakeAttempts === 1, 3000, "first wake");
    await h.app.simulator.remove(id);
    await waitFor(statusIs(h, id, "online"), 2 * DEADLINE_MS + 4000, "online after re-provisioning");
    const events = await eventsOf(h.app, id);
    assert.equal(events.filter((e) => e === "lifecycle.provision.succeeded").length, 2);
    assert.ok(!events.includes("lifecycle.wake.failed"));
  });

  test("a job of an older generation skips with skip_stale_generation", async () => {
    const id = await h.agent(gatewayId, "silent");
    await waitFor(async () => (await agentRow(h, id)).wakeAttempts === 1, 3000, "first wake");
    const view = await h.app.lifecycle.startCycle(id, "test", "reprovision mid-cycle");
    assert.equal(view?.lifecycleGeneration, 2);
    await waitFor(
      async () => (await eventsOf(h.app, id)).includes("lifecycle.reconcile.skip_stale_generation"),
      DEADLINE_MS + 3000,
      "stale job skipped",
    );
    const first = (await attempts(h, id)).find((a) => a.generation === 1);
    assert.equal(first?.outcome, "superseded");
  });

  test("a job that fires before its deadline is deferred, and the duplicate it leaves never causes a second wake", async () => {
    const id = await h.agent(gatewayId, "silent");
    const first = await waitFor(async () => {
      const a = await agentRow(h, id);
      return a.wakeAttempts === 1 ? a : null;
    }, 3000, "first wake");
    // An early job for the current attempt, as clock skew between app and database could produce.
    await h.app.boss.send(QUEUES.reconcile, { agentId: id, generation: first.lifecycleGeneration, attempt: 1 });
    await waitFor(async () => (await eventsOf(h.app, id)).includes("lifecycle.reconcile.deferred"), DEADLINE_MS, "deferred");
    await waitFor(statusIs(h, id, "offline"), MAX * DEADLINE_MS + 4000, "offline");
    const events = await eventsOf(h.app, id);
    assert.equal(events.filter((e) => e === "lifecycle.wake.sent").length, MAX, "no extra wake from the duplicate job");
    assert.ok(events.includes("lifecycle.reconcile.skip_stale_generation"), "the duplicate skipped as stale");
    assert.equal((await attempts(h, id)).length, MAX);
  });

  test("reprovision after offline starts a new cycle with fresh attempts (MAX wakes again, not one)", async () => {
    const id = await h.agent(gatewayId, "silent");
    await waitFor(statusIs(h, id, "offline"), MAX * DEADLINE_MS + 4000, "offline");
    const view = await h.app.lifecycle.startCycle(id, "test", "reprovision");
    assert.equal(view?.status, "updating");
    assert.equal(view?.wakeAttempts, 0);
    assert.equal(view?.lastProvisionError, null);
    await waitFor(async () => (await agentRow(h, id)).wakeAttempts === 2, 2 * DEADLINE_MS + 3000, "second wake of the new cycle");
    assert.equal((await agentRow(h, id)).status, "waking", "still waking after the first deadline of the new cycle");
    await waitFor(statusIs(h, id, "offline"), MAX * DEADLINE_MS + 4000, "offline again");
    const rows = (await attempts(h, id)).filter((a) => a.generation === 2);
    assert.equal(rows.length, MAX);
  });

  test("a heartbeat brings an offline agent back online", async () => {
    const id = await h.agent(gatewayId, "silent");
    await waitFor(statusIs(h, id, "offline"), MAX * DEADLINE_MS + 4000, "offline");
    // The token the (silent) simulated runtime holds, used the way an agent would.
    const res = await fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": await simulatorToken(h.app, id) } });
    assert.equal(res.status, 200);
    const row = await agentRow(h, id);
    assert.equal(row.status, "online");
    assert.equal(row.lastProvisionError, null);
  });

  test("crash_after: checks in, stops heartbeating, goes offline with heartbeat_lost", async () => {
    const id = await h.agent(gatewayId, "crash_after");
    await waitFor(statusIs(h, id, "online"), DEADLINE_MS + 3000, "online");
    const lost = await waitFor(statusIs(h, id, "offline"), 8000, "heartbeat lost");
    assert.equal(lost.statusReason, "heartbeat_lost");
    assert.ok((await eventsOf(h.app, id)).includes("agent.heartbeat_lost"));
  });

  test("bad_token: heartbeats are rejected and counted on the agent, which ends offline", async () => {
    const id = await h.agent(gatewayId, "bad_token");
    const offline = await waitFor(statusIs(h, id, "offline"), MAX * DEADLINE_MS + 4000, "offline");
    assert.ok(offline.heartbeatsRejected >= 1, `rejected ${offline.heartbeatsRejected}`);
    assert.equal(offline.lastRejectedReason, "mismatch");
    assert.ok((await eventsOf(h.app, id)).includes("agent.heartbeat.rejected"));
  });
});

describe("gateway calls that fail", () => {
  let h: Harness;
  let failWake = 0;
  let failProvision = 0;
  before(async () => {
    h = await startHarness({
      drivers: (sim) => {
        const real = createDriverFactory(sim);
        return (gw) => {
          const driver = real(gw);
          return {
            ...driver,
            provision: async (req) => {
              if (failProvision > 0) {
                failProvision -= 1;
                throw new GatewayCallError("gateway unreachable: connect ECONNREFUSED", "unreachable");
              }
              return driver.provision(req);
            },
            wake: async (req) => {
              if (failWake > 0) {
                failWake -= 1;
                throw new GatewayCallError("gateway unreachable: connect ECONNREFUSED", "unreachable");
              }
              return driver.wake(req);
            },
          };
        };
      },
    });
  });
  after(async () => {
    await h.stop();
  });

  test("a wake that throws: attempt rpc_failed with the error, the cycle still ends offline with that error", async () => {
    const gatewayId = await h.gateway();
    failWake = 100;
    const id = await h.agent(gatewayId, "healthy");
    const offline = await waitFor(statusIs(h, id, "offline"), MAX * DEADLINE_MS + 4000, "offline");
    failWake = 0;
    const rows = await attempts(h, id);
    assert.deepEqual(rows.map((r) => r.outcome), ["rpc_failed", "rpc_failed", "rpc_failed"]);
    assert.match(rows[0].error ?? "", /gateway unreachable/);
    assert.match(offline.lastProvisionError ?? "", /No check-in after 3 wakes .*; last gateway error: gateway unreachable/);
    assert.ok((await eventsOf(h.app, id)).includes("lifecycle.wake.failed"));
  });

  test("a failed provisioning counts as an attempt, is retried at the deadline, and the agent converges", async () => {
    const gatewayId = await h.gateway();
    failProvision = 1;
    const id = await h.agent(gatewayId, "healthy");
    await waitFor(statusIs(h, id, "online"), 2 * DEADLINE_MS + 3000, "online after a failed provisioning");
    const rows = await attempts(h, id);
    assert.deepEqual(rows.map((r) => r.outcome), ["rpc_failed", "checked_in"]);
    const events = await eventsOf(h.app, id);
    assert.ok(events.includes("lifecycle.provision.failed"));
    assert.ok(events.includes("lifecycle.provision.succeeded"));
  });
});

describe("worker restarts", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  test("stop the worker mid-cycle, start a new one: the cycle still terminates (jobs live in Postgres)", async () => {
    const gatewayId = await h.gateway();
    const id = await h.agent(gatewayId, "silent");
    await waitFor(async () => (await agentRow(h, id)).wakeAttempts === 1, 3000, "first wake");
    await h.app.stopWorker();
    // With no worker, the deadline passes and nothing happens.
    await new Promise((r) => setTimeout(r, DEADLINE_MS + 800));
    const paused = await agentRow(h, id);
    assert.equal(paused.status, "waking");
    assert.equal(paused.wakeAttempts, 1);
    assert.equal(await pendingJobs(h, id), 1);
    await h.app.startWorker();
    const offline = await waitFor(statusIs(h, id, "offline"), MAX * DEADLINE_MS + 4000, "offline after the new worker took over");
    assert.equal((await attempts(h, id)).length, MAX);
    assert.match(offline.lastProvisionError ?? "", /No check-in after 3 wakes/);
  });
});
