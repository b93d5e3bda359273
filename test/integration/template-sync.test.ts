// Template sync (docs/architecture.md, Contracts (templates)) and gateway health (docs/architecture.md, Contracts (gateway drivers)) on the real stack: PostgreSQL, pg-boss jobs, the tRPC router,
// the simulator and the example HTTP gateway.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startHarness, waitFor, eventsOf, type Harness } from "../support/harness";
import { createDriverFactory } from "../../server/drivers";
import { GatewayCallError } from "../../server/drivers/types";
import { appRouter } from "../../server/trpc/root";
import type { Principal, Role } from "../../server/auth/principal";
import { TEMPLATE_REVISION } from "../../server/templates/render";
import { startHttpGateway, type HttpGatewayHandle } from "../../examples/http-gateway";
import type { StoredEvent } from "../../server/events/bus";
import { decodePush } from "../../lib/push";

const SYNC_EVENTS = ["gateway.templates.sync.started", "gateway.templates.sync.succeeded", "gateway.templates.sync.failed"];

function caller(h: Harness, role: Role = "operator") {
  const principal: Principal = { operatorId: null, email: `${role}@test`, role, via: "api_token" };
  return appRouter.createCaller({ app: h.app, principal });
}

/** Every driver call by gateway id, and agents whose template sync should fail. */
const calls: { gatewayId: string; method: string; agentId?: string }[] = [];
const failSyncFor = new Set<string>();

function instrumented(): NonNullable<Parameters<typeof startHarness>[0]>["drivers"] {
  return (sim, deps) => {
    const real = createDriverFactory(sim, deps);
    return (gw) => {
      const driver = real(gw);
      const record = (method: string, agentId?: string) => calls.push({ gatewayId: gw.id, method, agentId });
      return {
        provision: (req) => (record("provision", req.agent.id), driver.provision(req)),
        wake: (req) => (record("wake", req.agent.id), driver.wake(req)),
        resetSession: (a) => (record("resetSession", a.id), driver.resetSession(a)),
        syncTemplates: async (a, files) => {
          record("syncTemplates", a.id);
          if (failSyncFor.has(a.id)) throw new GatewayCallError("gateway error HTTP 500 for POST /agents/x/files: disk full", "protocol");
          return driver.syncTemplates(a, files);
        },
        deleteAgent: (a) => (record("deleteAgent", a.id), driver.deleteAgent(a)),
        probe: () => (record("probe"), driver.probe()),
      };
    };
  };
}

type SyncEvent = Omit<StoredEvent, "data"> & { data: Record<string, unknown> };

async function syncEvents(h: Harness, runId: string): Promise<SyncEvent[]> {
  const rows = await h.app.db.lifecycleEvent.findMany({ where: { event: { in: SYNC_EVENTS } }, orderBy: { id: "asc" } });
  return rows
    .filter((r) => (r.data as { runId?: string }).runId === runId)
    .map((r) => ({ ...r, id: r.id.toString(), event: r.event as StoredEvent["event"], data: r.data as Record<string, unknown> }));
}

async function finishedRun(h: Harness, runId: string) {
  return waitFor(async () => {
    const run = await h.app.db.templateSyncRun.findUniqueOrThrow({ where: { id: runId }, include: { results: true } });
    return run.status !== "running" ? run : null;
  }, 10_000, `sync run ${runId} finished`);
}

const lifecycleSnapshot = (h: Harness, id: string) =>
  h.app.db.agent.findUniqueOrThrow({
    where: { id },
    select: {
      status: true,
      statusReason: true,
      wakeAttempts: true,
      checkinDeadlineAt: true,
      lastWakeSentAt: true,
      lifecycleGeneration: true,
      provisionedGeneration: true,
      lastProvisionError: true,
      cycleStartedAt: true,
      tokenHash: true,
    },
  });

describe("template sync", () => {
  let h: Harness;
  const pushed: { event: string; rooms: string[]; payload: unknown }[] = [];
  before(async () => {
    h = await startHarness({ drivers: instrumented() });
    // Record what goes to browsers (Socket.IO) instead of a real server.
    h.app.setBroadcaster({ to: (room) => ({ emit: (event, payload) => pushed.push({ event, rooms: [room].flat(), payload }) }) });
  });
  after(async () => {
    await h.stop();
  });

  test("marks every agent current, records the run and its results, and emits the event contract", async () => {
    const gatewayId = await h.gateway();
    const board = await h.app.db.board.create({ data: { name: "b1", gatewayId } });
    const main = await h.agent(gatewayId, "healthy", "main");
    const lead = (await h.app.lifecycle.createAgent({ gatewayId, boardId: board.id, name: "lead", kind: "board_lead", simulatorBehaviour: "healthy" }, "test")).id;
    const worker = (await h.app.lifecycle.createAgent({ gatewayId, boardId: board.id, name: "worker", kind: "board_worker", simulatorBehaviour: "healthy" }, "test")).id;
    const ids = [main, lead, worker];
    for (const id of ids) await waitFor(async () => (await lifecycleSnapshot(h, id)).status === "online", 8000, "online");
    await h.app.db.agent.updateMany({ where: { id: { in: ids } }, data: { templateRevision: "0ld0ld0ld0ld" } });
    const before = await Promise.all(ids.map((id) => lifecycleSnapshot(h, id)));
    const callsBefore = calls.length;

    const { runId } = await caller(h).gateways.syncTemplates({ id: gatewayId });
    const run = await finishedRun(h, runId);
    assert.equal(run.status, "succeeded");
    assert.equal(run.revision, TEMPLATE_REVISION);
    assert.equal(run.wake, false);
    assert.equal(run.startedBy, "operator@test");
    assert.deepEqual([run.total, run.succeeded, run.failed], [3, 3, 0]);
    assert.ok(run.finishedAt);
    assert.deepEqual(run.results.map((r) => r.agentId).sort(), [...ids].sort());
    assert.ok(run.results.every((r) => r.ok && r.error === null));

    for (const id of ids) assert.equal((await h.app.db.agent.findUniqueOrThrow({ where: { id } })).templateRevision, TEMPLATE_REVISION);
    assert.equal((await h.app.db.gateway.findUniqueOrThrow({ where: { id: gatewayId } })).templateRevision, TEMPLATE_REVISION);
    // Files only: no wake, no new cycle, no new token.
    assert.deepEqual(await Promise.all(ids.map((id) => lifecycleSnapshot(h, id))), before);
    const during = calls.slice(callsBefore).filter((c) => c.gatewayId === gatewayId && c.method !== "probe");
    assert.deepEqual(during.map((c) => c.method), ["syncTemplates", "syncTemplates", "syncTemplates"], "files only: no provision, no wake");

    const events = await syncEvents(h, runId);
    assert.equal(events.length, 5);
    const [started, ...rest] = events;
    const final = rest.pop()!;
    assert.equal(started.event, "gateway.templates.sync.started");
    assert.equal(started.gatewayId, gatewayId);
    assert.equal(started.agentId, null);
    assert.deepEqual(started.data, { runId, total: 3, wake: false, revision: TEMPLATE_REVISION });
    assert.deepEqual(rest.map((e) => e.event), Array(3).fill("gateway.templates.sync.succeeded"));
    assert.deepEqual(rest.map((e) => e.agentId).sort(), [...ids].sort());
    assert.deepEqual(rest.map((e) => e.data.done).sort(), [1, 2, 3]);
    for (const e of rest) {
      assert.equal(e.gatewayId, gatewayId);
      assert.deepEqual(Object.keys(e.data).sort(), ["done", "runId", "total"]);
      assert.equal(e.data.total, 3);
    }
    assert.equal(final.event, "gateway.templates.sync.succeeded");
    assert.equal(final.agentId, null);
    assert.deepEqual(final.data, { runId, final: true, succeeded: 3, failed: 0, revision: TEMPLATE_REVISION });

    // The same events went to the browsers, in the gateway's room.
    const live = pushed.filter((p) => p.event === "lifecycle.event" && (decodePush<StoredEvent>(p.payload)?.data as { runId?: string } | undefined)?.runId === runId);
    assert.equal(live.length, 5);
    assert.ok(live.every((p) => p.rooms.includes(`gateway:${gatewayId}`)));
    // And the action is audited.
    const audit = await h.app.db.lifecycleEvent.findFirst({ where: { event: "operator.action", gatewayId }, orderBy: { id: "desc" } });
    assert.match(audit?.message ?? "", /operator@test synced templates/);

    const runs = await caller(h, "viewer").gateways.syncRuns({ id: gatewayId });
    assert.equal(runs[0].id, runId);
    assert.deepEqual(runs[0].results.map((r) => r.agentName).sort(), ["lead", "main", "worker"]);
  });

  test("a failing agent: its result and event say why, the others are current, the run and final event are failed", async () => {
    const gatewayId = await h.gateway();
    const good = await h.agent(gatewayId, "healthy", "good");
    const bad = await h.agent(gatewayId, "healthy", "bad");
    await h.app.lifecycle.idle();
    await h.app.db.agent.updateMany({ where: { id: { in: [good, bad] } }, data: { templateRevision: "0ld0ld0ld0ld" } });
    failSyncFor.add(bad);
    const { runId } = await caller(h).gateways.syncTemplates({ id: gatewayId });
    const run = await finishedRun(h, runId);
    failSyncFor.delete(bad);
    assert.equal(run.status, "failed");
    assert.deepEqual([run.total, run.succeeded, run.failed], [2, 1, 1]);
    const badResult = run.results.find((r) => r.agentId === bad)!;
    assert.equal(badResult.ok, false);
    assert.match(badResult.error ?? "", /disk full/);
    assert.equal((await h.app.db.agent.findUniqueOrThrow({ where: { id: bad } })).templateRevision, "0ld0ld0ld0ld", "stays stale");
    assert.equal((await h.app.db.agent.findUniqueOrThrow({ where: { id: good } })).templateRevision, TEMPLATE_REVISION);
    // The gateway has the revision: the failed agent shows as stale.
    assert.equal((await h.app.db.gateway.findUniqueOrThrow({ where: { id: gatewayId } })).templateRevision, TEMPLATE_REVISION);

    const events = await syncEvents(h, runId);
    const failedEvent = events.find((e) => e.agentId === bad)!;
    assert.equal(failedEvent.event, "gateway.templates.sync.failed");
    assert.match(String(failedEvent.data.error), /disk full/);
    assert.equal(failedEvent.data.total, 2);
    const final = events.at(-1)!;
    assert.equal(final.event, "gateway.templates.sync.failed");
    assert.equal(final.agentId, null);
    assert.deepEqual(final.data, { runId, final: true, succeeded: 1, failed: 1, revision: TEMPLATE_REVISION });
  });

  test("leaves a cycle in progress alone (status, attempts, deadline), even with wake: true; wakes the converged agents", async () => {
    const gatewayId = await h.gateway();
    // A long deadline keeps the silent agent mid-cycle for the whole test.
    await h.app.db.gateway.update({ where: { id: gatewayId }, data: { checkinDeadlineSeconds: 120 } });
    const busy = await h.agent(gatewayId, "silent", "mid-cycle");
    const idle = await h.agent(gatewayId, "healthy", "converged");
    await waitFor(async () => (await lifecycleSnapshot(h, busy)).wakeAttempts === 1, 8000, "first wake of the silent agent");
    await waitFor(async () => (await lifecycleSnapshot(h, idle)).status === "online", 8000, "healthy agent online");
    const busyBefore = await lifecycleSnapshot(h, busy);
    const attemptsBefore = await h.app.db.wakeAttempt.findMany({ where: { agentId: busy }, orderBy: { attempt: "asc" } });
    assert.equal(busyBefore.status, "waking");
    const idleBefore = await lifecycleSnapshot(h, idle);

    const { runId } = await caller(h).gateways.syncTemplates({ id: gatewayId, wake: true });
    const run = await finishedRun(h, runId);
    assert.equal(run.status, "succeeded");
    assert.equal(run.wake, true);
    assert.equal((await syncEvents(h, runId))[0].data.wake, true);

    // The agent mid-cycle got its files and nothing else.
    assert.deepEqual(await lifecycleSnapshot(h, busy), busyBefore);
    assert.deepEqual(await h.app.db.wakeAttempt.findMany({ where: { agentId: busy }, orderBy: { attempt: "asc" } }), attemptsBefore);
    assert.equal((await h.app.db.agent.findUniqueOrThrow({ where: { id: busy } })).templateRevision, TEMPLATE_REVISION);

    // The converged agent was woken in a new wake cycle (same token: a wake does not reprovision) and checks in again.
    const woken = await waitFor(async () => {
      const a = await lifecycleSnapshot(h, idle);
      return a.lifecycleGeneration === idleBefore.lifecycleGeneration + 1 && a.status === "online" ? a : null;
    }, 8000, "woken agent back online");
    assert.equal(woken.tokenHash, idleBefore.tokenHash);
    const cycle = await h.app.db.lifecycleEvent.findFirst({ where: { agentId: idle, event: "lifecycle.cycle.started" }, orderBy: { id: "desc" } });
    assert.equal(cycle?.actor, "operator@test");
    assert.match(JSON.stringify(cycle?.data) + (cycle?.message ?? ""), /template sync/);
    assert.equal(calls.filter((c) => c.agentId === idle && c.method === "provision").length, 1, "not reprovisioned");
  });

  test("through the HTTP driver: files replaced on the example gateway, session untouched", async () => {
    const gw = await startHttpGateway({ port: 0, token: "tok-sync", checkinDelayMs: 200, log: () => undefined });
    try {
      const gatewayId = await h.gateway({ driver: "http", url: gw.url, token: "tok-sync" });
      const id = (await h.app.lifecycle.createAgent({ gatewayId, name: "http-agent", kind: "gateway_main" }, "test")).id;
      await waitFor(async () => (await lifecycleSnapshot(h, id)).status === "online", 8000, "online");
      const remote = gw.agents.get(id)!;
      const session = remote.session;
      remote.files = { "STALE.md": "old" };
      const { runId } = await caller(h).gateways.syncTemplates({ id: gatewayId });
      assert.equal((await finishedRun(h, runId)).status, "succeeded");
      assert.equal(gw.agents.get(id)!.session, session);
      assert.deepEqual(Object.keys(gw.agents.get(id)!.files).sort(), ["AGENTS.md", "HEARTBEAT.md", "IDENTITY.md", "MEMORY.md", "SOUL.md", "TOOLS.md", "USER.md"]);
    } finally {
      await gw.close();
    }
  });

  test("one run at a time per gateway; an empty gateway completes at once; unknown gateway is NOT_FOUND", async () => {
    const gatewayId = await h.gateway();
    const { runId } = await caller(h).gateways.syncTemplates({ id: gatewayId });
    const run = await finishedRun(h, runId);
    assert.deepEqual([run.status, run.total], ["succeeded", 0]);
    const events = await syncEvents(h, runId);
    assert.deepEqual(events.map((e) => e.event), ["gateway.templates.sync.started", "gateway.templates.sync.succeeded"]);

    // A run still marked running blocks a second one.
    const blocking = await h.app.db.templateSyncRun.create({ data: { gatewayId, revision: TEMPLATE_REVISION, startedBy: "x" } });
    await assert.rejects(caller(h).gateways.syncTemplates({ id: gatewayId }), /already running/);
    // One abandoned by a dead worker long ago does not.
    await h.app.db.templateSyncRun.update({ where: { id: blocking.id }, data: { startedAt: new Date(Date.now() - 2 * 3600_000) } });
    const again = await caller(h).gateways.syncTemplates({ id: gatewayId });
    await finishedRun(h, again.runId);
    assert.equal((await h.app.db.templateSyncRun.findUniqueOrThrow({ where: { id: blocking.id } })).status, "failed");

    await assert.rejects(caller(h).gateways.syncTemplates({ id: crypto.randomUUID() }), /Gateway not found/);
    await assert.rejects(caller(h, "viewer").gateways.syncTemplates({ id: gatewayId }), /Requires the operator role/);
  });
});

async function deadPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("gateway probe", () => {
  let h: Harness;
  let gw: HttpGatewayHandle | undefined;
  before(async () => {
    h = await startHarness({ drivers: instrumented() });
  });
  after(async () => {
    await gw?.close();
    await h.stop();
  });

  test("marks a dead HTTP gateway unreachable; its agents' attempts fail fast; a later probe flips it back", async () => {
    const port = await deadPort();
    const token = "probe-token";
    const gatewayId = await h.gateway({ driver: "http", url: `http://127.0.0.1:${port}`, token });

    const view = await caller(h).gateways.probe({ id: gatewayId });
    assert.equal(view.status, "unreachable");
    assert.match(view.lastError ?? "", /ECONNREFUSED/);
    assert.equal(view.hasToken, true);
    assert.ok(!("tokenSecret" in view) && !("token" in view), "the token is never returned");
    const changes = () => h.app.db.lifecycleEvent.findMany({ where: { gatewayId, event: "gateway.status.changed" }, orderBy: { id: "asc" } });
    let rows = await changes();
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0].data, { from: "unknown", to: "unreachable", error: view.lastError });
    // Probing again finds the same: no second event.
    await caller(h).gateways.probe({ id: gatewayId });
    assert.equal((await changes()).length, 1);

    // The agent's attempts fail fast without calling the driver.
    const before = calls.length;
    const id = (await h.app.lifecycle.createAgent({ gatewayId, name: "behind-dead-gateway", kind: "gateway_main" }, "test")).id;
    const attempt = await waitFor(async () => {
      const a = await h.app.db.wakeAttempt.findFirst({ where: { agentId: id, attempt: 1 } });
      return a?.outcome === "rpc_failed" ? a : null;
    }, 2000, "attempt 1 rpc_failed");
    assert.match(attempt.error ?? "", /^gateway unreachable: connect ECONNREFUSED/);
    assert.doesNotMatch(attempt.error ?? "", /gateway unreachable: gateway unreachable/);
    assert.ok(attempt.resolvedAt!.getTime() < attempt.deadlineAt.getTime(), "failed before its deadline, not by timing out");
    assert.equal(calls.slice(before).filter((c) => c.agentId === id).length, 0, "the driver was never called for the agent");
    const offline = await waitFor(async () => {
      const a = await h.app.db.agent.findUniqueOrThrow({ where: { id } });
      return a.status === "offline" ? a : null;
    }, 3 * 1500 + 4000, "offline");
    assert.match(offline.lastProvisionError ?? "", /gateway unreachable/);

    // The gateway comes up; the next probe flips it back and a new cycle converges.
    gw = await startHttpGateway({ port, token, checkinDelayMs: 200, log: () => undefined });
    const up = await caller(h).gateways.probe({ id: gatewayId });
    assert.equal(up.status, "reachable");
    assert.equal(up.lastError, null);
    assert.match(up.runtimeVersion ?? "", /example-http-gateway/);
    assert.ok(up.lastContactAt);
    rows = await changes();
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[1].data, { from: "unreachable", to: "reachable" });
    await h.app.lifecycle.startCycle(id, "test", "reprovision", "provision");
    await waitFor(async () => (await h.app.db.agent.findUniqueOrThrow({ where: { id } })).status === "online", 8000, "online after the gateway came back");
    assert.ok((await eventsOf(h.app, id)).includes("lifecycle.provision.succeeded"));
  });

  test("a gateway that answers /health without a version is incompatible; the simulator is reachable", async () => {
    const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html></html>"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const gatewayId = await h.gateway({ driver: "http", url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: "t" });
      const view = await caller(h).gateways.probe({ id: gatewayId });
      assert.equal(view.status, "incompatible");
      assert.match(view.lastError ?? "", /version/);
      assert.ok(view.lastContactAt, "it did answer");
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    const sim = await h.gateway();
    const view = await caller(h).gateways.probe({ id: sim });
    assert.equal(view.status, "reachable");
    assert.equal(view.runtimeVersion, "simulator-1");
  });
});

describe("periodic gateway probe (GATEWAY_PROBE_SECONDS)", () => {
  let h: Harness;
  let gw: HttpGatewayHandle | undefined;
  before(async () => {
    h = await startHarness({ env: { GATEWAY_PROBE_SECONDS: "1" } });
  });
  after(async () => {
    await gw?.close();
    await h.stop();
  });

  test("the worker probes every gateway on its own and announces each change once", async () => {
    const port = await deadPort();
    const gatewayId = await h.gateway({ driver: "http", url: `http://127.0.0.1:${port}`, token: "tok" });
    const sim = await h.gateway();
    const statusOf = (id: string) => h.app.db.gateway.findUniqueOrThrow({ where: { id } }).then((g) => g.status);
    await waitFor(async () => (await statusOf(gatewayId)) === "unreachable", 5000, "dead gateway unreachable");
    await waitFor(async () => (await statusOf(sim)) === "reachable", 5000, "simulator reachable");
    gw = await startHttpGateway({ port, token: "tok", log: () => undefined });
    await waitFor(async () => (await statusOf(gatewayId)) === "reachable", 5000, "gateway reachable again");
    await new Promise((r) => setTimeout(r, 1500));
    const changes = await h.app.db.lifecycleEvent.findMany({ where: { gatewayId, event: "gateway.status.changed" }, orderBy: { id: "asc" } });
    assert.deepEqual(
      changes.map((c) => [(c.data as { from: string }).from, (c.data as { to: string }).to]),
      [
        ["unknown", "unreachable"],
        ["unreachable", "reachable"],
      ],
    );
  });
});
