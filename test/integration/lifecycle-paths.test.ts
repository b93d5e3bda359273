// Regression tests for the paths where an agent stayed stuck, was shown online when it was not, or was locked out
// (docs/lifecycle.md). Each one failed on the code before its fix. Real PostgreSQL, real pg-boss, real HTTP; gateways
// are the simulator or a small HTTP gateway; deadline 1.5 s, 3 attempts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { beat, eventsOf, simulatorToken, startHarness, waitFor, type Harness } from "../support/harness";
import { FakeHttpGateway } from "../support/fake-http-gateway";
import { createApiToken, createOperator, ok, call } from "../support/trpc-http";
import { createDriverFactory } from "../../server/drivers";
import { GatewayCallError, type ProvisionRequest, type WakeRequest } from "../../server/drivers/types";
import { encryptSecret } from "../../server/secrets/crypto";
import { probeGateway } from "../../server/gateways/probe";
import { loadConfig } from "../../server/platform/config";
import { QUEUES } from "../../server/queue/queues";

const DEADLINE_MS = 1500;
const MAX = 3;
/** Longest a whole cycle may take from its first wake to offline, plus queue latency and the sweep's repair. */
const CYCLE_MS = MAX * DEADLINE_MS + 5000;

const row = (h: Harness, id: string) => h.app.db.agent.findUniqueOrThrow({ where: { id } });
const statusIs = (h: Harness, id: string, status: string) => async () => ((await row(h, id)).status === status ? row(h, id) : null);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function reconcileJobs(h: Harness, agentId: string) {
  return h.app.db.$queryRawUnsafe<{ id: string; state: string }[]>(
    `SELECT id::text AS id, state::text AS state FROM pgboss.job WHERE name = $1 AND data->>'agentId' = $2`,
    QUEUES.reconcile,
    agentId,
  );
}

describe("path 1: a failed token delivery never locks the running agent out, nor completes the cycle", () => {
  let h: Harness;
  let gw: FakeHttpGateway;
  before(async () => {
    gw = new FakeHttpGateway();
    await gw.start();
    h = await startHarness({ env: { AGENT_TOKEN_OVERLAP_SECONDS: "1" } });
  });
  after(async () => {
    await h.stop();
    await gw.stop();
  });

  test("the delivered token keeps working through a failing rotation; its heartbeats do not make the failed cycle online", async () => {
    const gatewayId = await h.gateway({ driver: "http", url: gw.url, token: "gateway-token" });
    const id = (await h.app.lifecycle.createAgent({ gatewayId, name: "runner", kind: "gateway_main" }, "test")).id;
    const delivered = await waitFor(async () => gw.latest(id), 5000, "first token delivered");
    await waitFor(async () => (await beat(h.baseUrl, delivered)) === 200 && (await row(h, id)).status === "online", 5000, "online");

    gw.failProvision = true;
    await h.app.lifecycle.startCycle(id, "test", "token rotation");
    // The old session keeps heartbeating with the delivered token for the whole failing cycle (the overlap is 1 s).
    const codes: number[] = [];
    const seen = new Set<string>();
    const until = Date.now() + CYCLE_MS;
    while (Date.now() < until) {
      codes.push(await beat(h.baseUrl, delivered));
      const r = await row(h, id);
      seen.add(r.status);
      if (r.status === "offline") break;
      await sleep(200);
    }
    assert.ok(codes.length > 10, `${codes.length} heartbeats`);
    assert.deepEqual([...new Set(codes)], [200], "the delivered token was never retired (its replacement never arrived)");
    assert.ok(!seen.has("online"), `statuses during the failing cycle: ${[...seen].join(", ")}`);
    const failed = await row(h, id);
    assert.equal(failed.status, "offline");
    assert.match(failed.lastProvisionError ?? "", /HTTP 500/);
    const heartbeatsOfCycle2 = await h.app.db.lifecycleEvent.count({ where: { agentId: id, event: "agent.heartbeat", generation: 2 } });
    assert.equal(heartbeatsOfCycle2, 0, "no check-in recorded for the failed cycle");

    // A delivery that works: the new token completes the cycle and only now the old one enters its overlap window.
    gw.failProvision = false;
    await h.app.lifecycle.startCycle(id, "test", "token rotation");
    const fresh = await waitFor(async () => (gw.latest(id) !== delivered ? gw.latest(id) : null), 5000, "new token delivered");
    await waitFor(async () => (await beat(h.baseUrl, fresh)) === 200 && (await row(h, id)).status === "online", 5000, "online with the new token");
    await waitFor(async () => (await beat(h.baseUrl, delivered)) === 401, 5000, "old token retired after its overlap");
  });
});

describe("paths 2, 3, 9 and 11 on one stack", { concurrency: true }, () => {
  let h: Harness;
  let gatewayId: string;
  let operatorToken: string;
  before(async () => {
    h = await startHarness();
    gatewayId = await h.gateway();
    const op = await createOperator(h.app, "operator");
    operatorToken = await createApiToken(h.app, op.id, "operator");
  });
  after(async () => {
    await h.stop();
  });

  test("path 2: a heartbeat time from another clock (or committed after the wake) never strands the agent in waking", async () => {
    const id = await h.agent(gatewayId, "silent");
    await waitFor(async () => (await row(h, id)).wakeAttempts === 1, 3000, "first wake");
    // What a heartbeat from a process whose clock runs ahead leaves behind: lastSeenAt after the wake.
    await h.app.db.$executeRaw`UPDATE "Agent" SET "lastSeenAt" = clock_timestamp() + interval '1 minute' WHERE id = ${id}::uuid`;
    const offline = await waitFor(statusIs(h, id, "offline"), CYCLE_MS, "offline after every attempt");
    assert.equal(offline.statusReason, "max_wake_attempts");
    assert.ok(!(await eventsOf(h.app, id)).includes("lifecycle.reconcile.skip_not_stuck"));
  });

  test("path 2: the sweep repairs a waking agent whose reconcile job is gone", async () => {
    const id = await h.agent(gatewayId, "silent");
    await waitFor(async () => (await row(h, id)).wakeAttempts === 1, 3000, "first wake");
    await h.app.db.$executeRawUnsafe(`DELETE FROM pgboss.job WHERE name = $1 AND data->>'agentId' = $2`, QUEUES.reconcile, id);
    await waitFor(statusIs(h, id, "offline"), CYCLE_MS, "offline despite the lost job");
    assert.ok((await eventsOf(h.app, id)).includes("lifecycle.reconcile.repaired"));
    assert.equal((await h.app.db.wakeAttempt.count({ where: { agentId: id } })), MAX);
  });

  test("path 3: an agent left in deleting by a crash is deleted by the next sweep", async () => {
    const id = await h.agent(gatewayId, "healthy");
    await waitFor(statusIs(h, id, "online"), DEADLINE_MS + 3000, "online");
    // What the process that committed the delete leaves behind when it dies before the gateway call.
    await h.app.db.$executeRaw`UPDATE "Agent" SET status = 'deleting' WHERE id = ${id}::uuid`;
    await waitFor(async () => (await h.app.db.agent.count({ where: { id } })) === 0, 8000, "row deleted");
    assert.equal(await h.app.simulator.has(id), false);
  });

  test("path 3: a delete that could not finish says so, and deleting again retries", async () => {
    const id = await h.agent(gatewayId, "healthy");
    await waitFor(statusIs(h, id, "online"), DEADLINE_MS + 3000, "online");
    const trigger = `refuse_delete_${id.replace(/-/g, "")}`;
    await h.app.db.$executeRawUnsafe(
      `CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$`,
    );
    await h.app.db.$executeRawUnsafe(
      `CREATE TRIGGER ${trigger} BEFORE DELETE ON "Agent" FOR EACH ROW WHEN (OLD.id = '${id}') EXECUTE FUNCTION ${trigger}()`,
    );
    let first: { deleted: boolean };
    try {
      first = await ok(h.baseUrl, "agents.delete", { id }, { token: operatorToken });
      assert.equal((await row(h, id)).status, "deleting");
      assert.notEqual(first.deleted, true, "a delete that did not happen is not reported as done");
    } finally {
      await h.app.db.$executeRawUnsafe(`DROP TRIGGER ${trigger} ON "Agent"`);
      await h.app.db.$executeRawUnsafe(`DROP FUNCTION ${trigger}()`);
    }
    const second = await ok<{ deleted: boolean }>(h.baseUrl, "agents.delete", { id }, { token: operatorToken });
    assert.equal(second.deleted, true);
    assert.equal(await h.app.db.agent.count({ where: { id } }), 0);
  });

  test("path 9: a reconcile job held by a worker that died goes on within seconds, not at its 60 s expiry", async () => {
    const id = await h.agent(gatewayId, "silent");
    await waitFor(async () => (await row(h, id)).wakeAttempts === 1, 3000, "first wake");
    // A worker took the job, then was killed: the job stays `active` until pg-boss expires it.
    const [job] = await reconcileJobs(h, id);
    await h.app.db.$executeRawUnsafe(
      `UPDATE pgboss.job SET state = 'active', started_on = now() - interval '30 seconds', start_after = now() - interval '30 seconds' WHERE id = $1::uuid`,
      job.id,
    );
    await waitFor(statusIs(h, id, "offline"), CYCLE_MS, "offline although its job was held by a dead worker");
  });

  test("path 9: a reconcile job that failed for good does not leave the agent waiting", async () => {
    const id = await h.agent(gatewayId, "silent");
    await waitFor(async () => (await row(h, id)).wakeAttempts === 1, 3000, "first wake");
    const [job] = await reconcileJobs(h, id);
    await h.app.db.$executeRawUnsafe(`UPDATE pgboss.job SET state = 'failed', completed_on = now() WHERE id = $1::uuid`, job.id);
    await waitFor(statusIs(h, id, "offline"), CYCLE_MS, "offline although its job failed for good");
  });

  test("path 11: a duplicate job after max_attempts_reached has its own decision (no heartbeat landed)", async () => {
    const id = await h.agent(gatewayId, "silent");
    const offline = await waitFor(statusIs(h, id, "offline"), CYCLE_MS, "offline");
    await h.app.boss.send(QUEUES.reconcile, { agentId: id, generation: offline.lifecycleGeneration, attempt: MAX });
    await waitFor(async () => (await eventsOf(h.app, id)).includes("lifecycle.reconcile.skip_cycle_ended"), 5000, "skip_cycle_ended");
    assert.ok(!(await eventsOf(h.app, id)).includes("lifecycle.reconcile.skip_not_stuck"));
  });

  test("path 11: queue.worker.failed says 'will retry' only when a retry is left", async () => {
    // A reconcile that throws: storing its decision fails (a trigger stands in for a database error).
    const agentId = crypto.randomUUID();
    const fn = `refuse_event_${agentId.replace(/-/g, "")}`;
    await h.app.db.$executeRawUnsafe(
      `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
         IF NEW.event = 'lifecycle.reconcile.skip_missing_agent' AND NEW."agentId" = '${agentId}' THEN RAISE EXCEPTION 'disk full'; END IF;
         RETURN NEW; END $$`,
    );
    await h.app.db.$executeRawUnsafe(`CREATE TRIGGER ${fn} BEFORE INSERT ON "LifecycleEvent" FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    try {
      await h.app.boss.send(QUEUES.reconcile, { agentId, generation: 1, attempt: 1 }, { retryLimit: 1, retryDelay: 0, retryBackoff: false });
      const failures = await waitFor(
        async () => {
          const rows = await h.app.db.lifecycleEvent.findMany({ where: { agentId, event: "queue.worker.failed" }, orderBy: { id: "asc" } });
          return rows.length >= 2 ? rows : null;
        },
        10_000,
        "two failures",
      );
      assert.match(failures[0].message, /will retry/);
      assert.doesNotMatch(failures[1].message, /will retry/);
      assert.match(failures[1].message, /failed for good/);
    } finally {
      await h.app.db.$executeRawUnsafe(`DROP TRIGGER ${fn} ON "LifecycleEvent"`);
      await h.app.db.$executeRawUnsafe(`DROP FUNCTION ${fn}()`);
    }
  });

  test("path 11: boards.create never leaves a board without its lead", async () => {
    await h.app.lifecycle.createAgent({ gatewayId, name: "alpha lead", kind: "gateway_main", simulatorBehaviour: "silent" }, "test");
    const r = await call(h.baseUrl, "boards.create", { name: "alpha", gatewayId }, { token: operatorToken });
    assert.equal(r.code, "CONFLICT");
    assert.equal(await h.app.db.board.count({ where: { gatewayId, name: "alpha" } }), 0);
  });
});

describe("path 4: one gateway provisioning per agent at a time, and cancelled once its cycle moves on", () => {
  let h: Harness;
  let gw: FakeHttpGateway;
  const signals = new Map<string, AbortSignal[]>();
  before(async () => {
    gw = new FakeHttpGateway();
    await gw.start();
    h = await startHarness({
      env: { GATEWAY_CALL_TIMEOUT_SECONDS: "4" },
      lifecycle: { stuckProvisioningSeconds: 1 },
      drivers: (sim, deps) => {
        const real = createDriverFactory(sim, deps);
        return (connection) => {
          const driver = real(connection);
          if (connection.name !== "hanging") return driver;
          return Object.assign(Object.create(driver) as typeof driver, {
            provision: (req: ProvisionRequest) => {
              signals.set(req.agent.id, [...(signals.get(req.agent.id) ?? []), req.signal!]);
              // A multi-step provisioning that only stops when it is told to.
              return new Promise<void>((_, reject) => {
                if (!req.signal) return;
                req.signal.addEventListener("abort", () => reject(new GatewayCallError("stopped", "timeout")), { once: true });
              });
            },
          });
        };
      },
    });
  });
  after(async () => {
    await h.stop();
    await gw.stop();
  });

  test("a slow provisioning and the reprovision after it never overlap: the gateway ends with the token the database expects", async () => {
    const gatewayId = await h.gateway({ driver: "http", url: gw.url, token: "gateway-token" });
    const id = (await h.app.lifecycle.createAgent({ gatewayId, name: "overlap", kind: "gateway_main" }, "test")).id;
    await waitFor(async () => gw.latest(id), 5000, "first token delivered");
    await h.app.lifecycle.idle();
    gw.provisionDelaysMs.push(1500, 0);
    await h.app.lifecycle.startCycle(id, "test", "reprovision (slow gateway)");
    await sleep(300);
    await h.app.lifecycle.startCycle(id, "test", "reprovision again");
    await waitFor(async () => (gw.tokens.get(id)?.length ?? 0) >= 3 && (await row(h, id)).status === "waking", 8000, "both provisionings done");
    await h.app.lifecycle.idle();
    assert.equal(gw.maxConcurrentProvisions, 1, "two provisionings of one agent ran at once");
    const last = gw.latest(id)!;
    assert.equal(await beat(h.baseUrl, last), 200, "the last token the gateway received is valid");
    await waitFor(statusIs(h, id, "online"), 3000, "the agent converges with it");
    assert.equal((await row(h, id)).lifecycleGeneration, 3);
  });

  test("a wake slower than its deadline never overlaps the next attempt's, and the cycle still ends", async () => {
    const slow = new FakeHttpGateway();
    await slow.start();
    try {
      slow.wakeDelayMs = 2500;
      const gatewayId = await h.gateway({ driver: "http", url: slow.url, token: "gateway-token" });
      const id = (await h.app.lifecycle.createAgent({ gatewayId, name: "slow-wakes", kind: "gateway_main" }, "test")).id;
      await waitFor(statusIs(h, id, "offline"), CYCLE_MS + 6000, "offline after its attempts");
      await h.app.lifecycle.idle();
      assert.equal(slow.maxConcurrentWakes, 1, "two wakes of one agent were in flight at once");
      assert.ok(slow.requests.filter((r) => r.path === `/agents/${id}/wake`).length <= MAX);
    } finally {
      await slow.stop();
    }
  });

  test("a provisioning whose process died is resumed by the sweep once, never twice at a time, however many sweeps pass", async () => {
    const gatewayId = await h.gateway({ driver: "http", url: gw.url, token: "gateway-token" });
    const id = (await h.app.lifecycle.createAgent({ gatewayId, name: "orphan", kind: "gateway_main" }, "test")).id;
    await waitFor(async () => gw.latest(id), 5000, "first token delivered");
    await h.app.lifecycle.idle();
    const delivered = gw.tokens.get(id)!.length;
    const concurrentBefore = gw.maxConcurrentProvisions;
    // A cycle committed by a process that died before it provisioned anything.
    gw.provisionDelaysMs.push(2500);
    await h.app.db.$executeRaw`
      UPDATE "Agent" SET "lifecycleGeneration" = "lifecycleGeneration" + 1, "cycleTokenGeneration" = "lifecycleGeneration" + 1,
             status = 'updating', "wakeAttempts" = 0, "cycleStartedAt" = clock_timestamp() - interval '1 minute'
       WHERE id = ${id}::uuid`;
    await waitFor(async () => (await row(h, id)).status === "waking", 10_000, "resumed and woken");
    assert.equal(gw.tokens.get(id)!.length, delivered + 1, "provisioned exactly once");
    assert.equal(gw.requests.filter((r) => r.path === `/agents/${id}/provision`).length, delivered + 1);
    assert.equal(gw.maxConcurrentProvisions, Math.max(1, concurrentBefore));
    assert.equal(await beat(h.baseUrl, gw.latest(id)!), 200);
  });

  test("a provisioning in progress is told to stop when a new cycle starts, and at its outer time limit", async () => {
    const gatewayId = await h.gateway({ name: "hanging", driver: "simulator" });
    const id = (await h.app.lifecycle.createAgent({ gatewayId, name: "stuck-provision", kind: "gateway_main" }, "test")).id;
    const first = await waitFor(async () => signals.get(id)?.[0], 3000, "provisioning started with a signal");
    assert.equal(first.aborted, false);
    await h.app.lifecycle.startCycle(id, "test", "reprovision");
    await waitFor(async () => first.aborted, 2000, "the superseded provisioning was told to stop");
    const second = await waitFor(async () => signals.get(id)?.[1], 5000, "the new cycle's provisioning started");
    // Nobody supersedes this one: it is stopped at the outer limit (4 s) and counted as a failed attempt.
    await waitFor(async () => second.aborted, 6000, "stopped at the outer limit");
    await waitFor(async () => (await h.app.db.wakeAttempt.findFirst({ where: { agentId: id, generation: 2, attempt: 1, outcome: "rpc_failed" } })), 3000, "rpc_failed attempt");
  });
});

describe("path 5: a process whose MC_SECRET_KEY cannot decrypt the stored secrets", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ worker: false });
  });
  after(async () => {
    await h.stop();
  });

  for (const [what, script] of [["npm start", "main/server.ts"], ["npm run worker", "main/worker.ts"]]) {
    test(`refuses to start (${what}), saying why`, async () => {
      const child = spawn(process.execPath, ["--import", "tsx", script], {
        env: { ...process.env, DATABASE_URL: h.databaseUrl, MC_SECRET_KEY: randomBytes(32).toString("base64"), LOG_LEVEL: "fatal", MC_CONSOLE: "0", PORT: "0", HOST: "127.0.0.1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (c) => (output += c));
      child.stderr.on("data", (c) => (output += c));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve(null);
        }, 30_000);
        child.on("exit", (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.equal(code, 1, `${what} kept running with a wrong key:\n${output.slice(-2000)}`);
      assert.match(output, /MC_SECRET_KEY cannot decrypt the secrets stored in this database/);
    });
  }

  test("a gateway token that cannot be decrypted is reported as such, never as unreachable", async () => {
    const gatewayId = await h.gateway({ driver: "http", url: "http://127.0.0.1:9", token: "x" });
    await h.app.db.gateway.update({ where: { id: gatewayId }, data: { tokenSecret: encryptSecret("sealed elsewhere", randomBytes(32)) } });
    const outcome = await probeGateway({ db: h.app.db, events: h.app.events, drivers: h.app.drivers, logger: h.app.logger }, gatewayId);
    assert.notEqual(outcome?.to, "unreachable");
    const gateway = await h.app.db.gateway.findUniqueOrThrow({ where: { id: gatewayId } });
    assert.notEqual(gateway.status, "unreachable");
    assert.match(gateway.lastError ?? "", /cannot decrypt/);
    const id = (await h.app.lifecycle.createAgent({ gatewayId, name: "locked", kind: "gateway_main" }, "test")).id;
    await h.app.lifecycle.idle();
    const attempt = await h.app.db.wakeAttempt.findFirstOrThrow({ where: { agentId: id } });
    assert.equal(attempt.outcome, "rpc_failed");
    assert.match(attempt.error ?? "", /cannot decrypt the stored gateway token/);
    assert.doesNotMatch(attempt.error ?? "", /unreachable/);
  });
});

describe("path 6: a base URL with a trailing slash", () => {
  let h: Harness;
  let gw: FakeHttpGateway;
  before(async () => {
    gw = new FakeHttpGateway();
    await gw.start();
    h = await startHarness({ worker: false, baseUrl: (listening) => `${listening}/` });
  });
  after(async () => {
    await h.stop();
    await gw.stop();
  });

  test("MC_BASE_URL is normalised once, in the configuration", () => {
    assert.equal(loadConfig({ MC_BASE_URL: "https://mc.example.com/" } as unknown as NodeJS.ProcessEnv).MC_BASE_URL, "https://mc.example.com");
    assert.equal(loadConfig({ MC_BASE_URL: "https://mc.example.com//" } as unknown as NodeJS.ProcessEnv).MC_BASE_URL, "https://mc.example.com");
  });

  test("agents get a clean heartbeat URL, and every path variant of the agent API answers instead of redirecting", async () => {
    const gatewayId = await h.gateway({ driver: "http", url: gw.url, token: "gateway-token" });
    const id = (await h.app.lifecycle.createAgent({ gatewayId, name: "slash", kind: "gateway_main" }, "test")).id;
    await h.app.lifecycle.idle();
    const provision = gw.requests.find((r) => r.path === `/agents/${id}/provision`)!;
    const payload = JSON.parse(provision.body) as { heartbeatUrl: string; baseUrl: string; files: Record<string, string> };
    assert.equal(payload.heartbeatUrl, `${h.baseUrl}/api/agent/heartbeat`);
    assert.equal(payload.baseUrl, h.baseUrl);
    assert.ok(!Object.values(payload.files).some((f) => f.includes("//api/agent")), "no template says //api/agent");
    const token = gw.latest(id)!;
    for (const path of ["//api/agent/heartbeat", "/api/agent/heartbeat/", "/api//agent/heartbeat"]) {
      assert.equal(await beat(h.baseUrl, token, { path }), 200, path);
    }
    assert.equal(await beat(h.baseUrl, "wrong", { path: "//api/agent/heartbeat" }), 401, "an unauthenticated variant is a 401, not a redirect");
  });
});

describe("path 8: one clock (the database's) for everything a job compares", () => {
  let h: Harness;
  before(async () => {
    // This process's clock runs 10 s behind the database's.
    h = await startHarness({ clock: () => new Date(Date.now() - 10_000) });
  });
  after(async () => {
    await h.stop();
  });

  test("a database clock ahead of the app never loops `deferred`; deadlines are database times", async () => {
    const gatewayId = await h.gateway();
    const id = await h.agent(gatewayId, "silent");
    await waitFor(statusIs(h, id, "offline"), CYCLE_MS, "offline");
    const events = await eventsOf(h.app, id);
    assert.equal(events.filter((e) => e === "lifecycle.reconcile.deferred").length, 0, events.join(", "));
    const [{ now }] = await h.app.db.$queryRaw<{ now: Date }[]>`SELECT clock_timestamp() AS now`;
    const first = await h.app.db.wakeAttempt.findFirstOrThrow({ where: { agentId: id }, orderBy: { attempt: "asc" } });
    const age = now.getTime() - first.sentAt.getTime();
    assert.ok(age >= (MAX - 1) * DEADLINE_MS && age < CYCLE_MS + 5000, `first wake ${age} ms ago by the database's clock`);
  });
});

describe("path 11: a check-in after a wake reported as failed", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      drivers: (sim, deps) => {
        const real = createDriverFactory(sim, deps);
        return (connection) => {
          const driver = real(connection);
          // The wake reaches the agent, but the answer is lost: the call fails after it was applied.
          return Object.assign(Object.create(driver) as typeof driver, {
            wake: async (req: WakeRequest) => {
              await driver.wake(req);
              throw new GatewayCallError("wake timed out after 10s", "timeout");
            },
          });
        };
      },
    });
  });
  after(async () => {
    await h.stop();
  });

  test("the attempt ends checked_in (the gateway's error kept), not rpc_failed", async () => {
    const gatewayId = await h.gateway();
    const id = await h.agent(gatewayId, "healthy");
    await waitFor(statusIs(h, id, "online"), DEADLINE_MS + 3000, "online");
    const attempt = await h.app.db.wakeAttempt.findFirstOrThrow({ where: { agentId: id, attempt: 1 } });
    assert.equal(attempt.outcome, "checked_in");
    assert.ok(attempt.checkedInAt);
    assert.match(attempt.error ?? "", /timed out/);
    assert.equal(await beat(h.baseUrl, await simulatorToken(h.app, id)), 200);
  });
});
