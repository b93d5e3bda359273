// Bulk fleets (docs/fleet.md): agents.createMany validated as a whole and written in chunked transactions, each agent
// in its first cycle; fleet operations (bulk provisioning, reprovision, gateway-wide wake) as queued jobs that resume
// from their cursor; `mc import`. Real PostgreSQL, real pg-boss, real HTTP.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { call, createApiToken, createOperator, ok } from "../support/trpc-http";
import { createAgentsInBulk } from "../../server/fleet/create";
import { FleetOperations } from "../../server/fleet/operations";
import type { LifecycleService } from "../../server/lifecycle/service";
import { parseImport } from "../../server/fleet/import-file";
import type { StoredEvent } from "../../server/events/bus";

type CreateResult = { ids: string[]; count: number; operationId: string };
type Operation = { id: string; status: string; total: number; done: number; failed: number };

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, "0")}`);

async function setup(h: Harness) {
  const operator = await createOperator(h.app, "operator");
  const token = await createApiToken(h.app, operator.id, "operator");
  const viewer = await createOperator(h.app, "viewer");
  const viewerToken = await createApiToken(h.app, viewer.id, "viewer");
  return { token, viewerToken };
}

async function board(h: Harness, gatewayId: string, name: string): Promise<string> {
  const row = await h.app.db.board.create({ data: { name, gatewayId } });
  return row.id;
}

describe("agents.createMany: validated as a whole, nothing created on a bad row", () => {
  let h: Harness;
  let token: string;
  let viewerToken: string;
  let gatewayId: string;
  let otherGateway: string;
  let boardId: string;
  let foreignBoard: string;
  before(async () => {
    h = await startHarness({ worker: false });
    ({ token, viewerToken } = await setup(h));
    gatewayId = await h.gateway();
    otherGateway = await h.gateway();
    boardId = await board(h, gatewayId, "b1");
    foreignBoard = await board(h, otherGateway, "b2");
    await h.agent(gatewayId, "silent", "taken");
  });
  after(() => h.stop());

  test("bad rows are named (index and reason), the answer is 4xx, and no agent or operation exists", async () => {
    const before = await h.app.db.agent.count();
    const r = await call(
      h.baseUrl,
      "agents.createMany",
      {
        gatewayId,
        boardId,
        agents: [
          { name: "ok-1", kind: "board_worker" },
          { name: "ok-1", kind: "board_worker" },
          { name: "bad/name", kind: "board_worker" },
          { name: "main-with-board", kind: "gateway_main", boardId },
          { name: "foreign", kind: "board_worker", boardId: foreignBoard },
          { name: "taken", kind: "board_worker" },
          { name: "ok-2", kind: "board_lead" },
        ],
      },
      { token },
    );
    assert.equal(r.status, 400, r.raw);
    assert.equal(r.code, "BAD_REQUEST");
    for (const expected of [/agents\[1\] "ok-1": name repeats agents\[0\]/, /agents\[2\].*letters, digits/, /agents\[3\].*gateway_main agent has no board/, /agents\[4\].*board not found on this gateway/, /agents\[5\] "taken".*already exists/]) {
      assert.match(r.message ?? "", expected);
    }
    assert.doesNotMatch(r.message ?? "", /agents\[0\]:|agents\[6\]/);
    assert.equal(await h.app.db.agent.count(), before);
    assert.equal(await h.app.db.fleetOperation.count(), 0);
  });

  test("only clashes with existing names: 409; unknown gateway: 404; a viewer: 403; simulatorBehaviour on an http gateway: 400", async () => {
    const clash = await call(h.baseUrl, "agents.createMany", { gatewayId, agents: [{ name: "taken", kind: "gateway_main" }] }, { token });
    assert.equal(clash.status, 409, clash.raw);
    const missing = await call(h.baseUrl, "agents.createMany", { gatewayId: crypto.randomUUID(), agents: [{ name: "x", kind: "gateway_main" }] }, { token });
    assert.equal(missing.status, 404, missing.raw);
    const denied = await call(h.baseUrl, "agents.createMany", { gatewayId, agents: [{ name: "x", kind: "gateway_main" }] }, { token: viewerToken });
    assert.equal(denied.status, 403);
    const httpGateway = await h.gateway({ driver: "http", url: "http://127.0.0.1:9" });
    const behaviour = await call(h.baseUrl, "agents.createMany", { gatewayId: httpGateway, agents: [{ name: "x", kind: "gateway_main", simulatorBehaviour: "silent" }] }, { token });
    assert.equal(behaviour.status, 400);
    assert.match(behaviour.message ?? "", /agents\[0\].*simulator gateways only/);
    const tooMany = await call(h.baseUrl, "agents.createMany", { gatewayId, agents: names("n", 10_001).map((name) => ({ name, kind: "gateway_main" })) }, { token });
    assert.ok(tooMany.status === 400 || tooMany.status === 413, `${tooMany.status}`);
    assert.equal(await h.app.db.agent.count({ where: { name: "x" } }), 0);
  });

  test("dryRun validates without creating; the call's board is the default of board kinds only", async () => {
    const agents = [{ name: "dry", kind: "board_worker" }, { name: "dry-main", kind: "gateway_main" }];
    const r = await ok<{ count: number; dryRun: boolean }>(h.baseUrl, "agents.createMany", { gatewayId, boardId, dryRun: true, agents }, { token });
    assert.deepEqual([r.count, r.dryRun], [2, true]);
    assert.equal(await h.app.db.agent.count({ where: { name: "dry" } }), 0);
  });
});

describe("agents.createMany: chunked transactions, each agent in a started cycle", () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness({ worker: false, env: { FLEET_CREATE_CHUNK_SIZE: "400" } });
    ({ token } = await setup(h));
  });
  after(() => h.stop());

  test("2,500 agents: 7 transactions, status provisioning, generation 1, one cycle.started each, one queued operation", async () => {
    const gatewayId = await h.gateway();
    const boardId = await board(h, gatewayId, "fleet");
    const agents = names("w", 2500).map((name) => ({ name, kind: "board_worker" as const, simulatorBehaviour: "silent" as const }));
    const r = await ok<CreateResult>(h.baseUrl, "agents.createMany", { gatewayId, boardId, agents }, { token });
    assert.equal(r.count, 2500);
    assert.equal(new Set(r.ids).size, 2500);
    const rows = await h.app.db.agent.findMany({ where: { gatewayId }, select: { status: true, lifecycleGeneration: true, cycleStartedAt: true, cycleStartedBy: true, createdAt: true, cycleTokenGeneration: true } });
    assert.equal(rows.length, 2500);
    assert.ok(rows.every((a) => a.status === "provisioning" && a.lifecycleGeneration === 1 && a.cycleTokenGeneration === 1 && a.cycleStartedAt && a.cycleStartedBy));
    // Each chunk is its own transaction with its own database time.
    assert.equal(new Set(rows.map((a) => a.createdAt.getTime())).size, 7);
    const started = await h.app.db.lifecycleEvent.groupBy({ by: ["agentId"], where: { event: "lifecycle.cycle.started", gatewayId }, _count: { _all: true } });
    assert.equal(started.length, 2500);
    assert.ok(started.every((s) => s._count._all === 1));
    const op = await h.app.db.fleetOperation.findUniqueOrThrow({ where: { id: r.operationId } });
    assert.deepEqual([op.kind, op.status, op.total, op.done], ["provision_created", "queued", 2500, 0]);
    const jobs = await h.app.db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'fleet.operation' AND data->>'operationId' = $1`, r.operationId);
    assert.equal(jobs[0].n, 1);
  });
});

describe("a crash between chunks: committed agents are whole, and the sweep provisions them", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ lifecycle: { stuckProvisioningSeconds: 1 } });
  });
  after(() => h.stop());

  test("the first chunk is committed without its operation; the sweep resumes its provisioning", async () => {
    const gatewayId = await h.gateway();
    const { db, events, fleet, config } = h.app;
    await assert.rejects(
      createAgentsInBulk(
        {
          db,
          events,
          operations: fleet,
          settings: { ...h.app.policyDefaults, heartbeatIntervalSeconds: config.HEARTBEAT_INTERVAL_SECONDS },
          chunkSize: 30,
          afterChunk: async (committed) => {
            if (committed >= 30) throw new Error("process died");
          },
        },
        { gatewayId, agents: names("c", 80).map((name) => ({ name, kind: "gateway_main", simulatorBehaviour: "silent" })) },
        "test",
      ),
      /process died/,
    );
    const committed = await db.agent.findMany({ where: { gatewayId }, select: { id: true, status: true, lifecycleGeneration: true } });
    assert.equal(committed.length, 30);
    assert.equal(await db.fleetOperation.count(), 0);
    // Left without a process: the sweep starts their provisioning, which leads to the first wake.
    await waitFor(
      async () => (await db.agent.count({ where: { gatewayId, status: "provisioning" } })) === 0,
      20_000,
      "the sweep to provision the committed agents",
    );
    const provisioned = await db.lifecycleEvent.count({ where: { gatewayId, event: "lifecycle.provision.succeeded" } });
    assert.equal(provisioned, 30);
    const rows = await db.agent.findMany({ where: { gatewayId }, select: { lifecycleGeneration: true, provisionedGeneration: true } });
    assert.ok(rows.every((a) => a.lifecycleGeneration === 1 && a.provisionedGeneration === 1));
  });
});

describe("a name taken by another request between the check and a later chunk", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ worker: false });
  });
  after(() => h.stop());

  test("a 409 saying how many were created; those are whole and their provisioning is queued", async () => {
    const gatewayId = await h.gateway();
    const { db, events, fleet, config } = h.app;
    const err = await createAgentsInBulk(
      {
        db,
        events,
        operations: fleet,
        settings: { ...h.app.policyDefaults, heartbeatIntervalSeconds: config.HEARTBEAT_INTERVAL_SECONDS },
        chunkSize: 10,
        afterChunk: async (committed) => {
          if (committed === 10) await h.agent(gatewayId, "silent", "r-00015");
        },
      },
      { gatewayId, agents: names("r", 25).map((name) => ({ name, kind: "gateway_main" })) },
      "test",
    ).then(
      () => assert.fail("created despite the clash"),
      (e: unknown) => e as { code: string; message: string },
    );
    assert.equal(err.code, "CONFLICT");
    assert.match(err.message, /the first 10 agents were created/);
    assert.equal(await db.agent.count({ where: { gatewayId, name: { startsWith: "r-" } } }), 11);
    const op = await db.fleetOperation.findFirstOrThrow({ where: { gatewayId } });
    assert.deepEqual([op.kind, op.total], ["provision_created", 10]);
  });
});

describe("fleet operations: queued, with progress, resumable", () => {
  let h: Harness;
  let token: string;
  const pushed: StoredEvent[] = [];
  before(async () => {
    h = await startHarness({ env: { FLEET_OPERATION_CHUNK_SIZE: "25" } });
    ({ token } = await setup(h));
    const original = h.app.publisher.lifecycleEvent.bind(h.app.publisher);
    h.app.publisher.lifecycleEvent = (e) => {
      if (e.event === "fleet.operation.progress") pushed.push(e);
      original(e);
    };
  });
  after(() => h.stop());

  // Polled in the database (the console API has a per-operator rate limit); read once over HTTP at the end.
  const operationDone = async (id: string) => {
    await waitFor(async () => (await h.app.fleet.get(id))?.status === "done", 60_000, `operation ${id} to finish`);
    return ok<Operation>(h.baseUrl, "fleet.operation", { id }, { token });
  };

  test("the provisioning of a bulk create reaches its total, with progress pushes and a stored end", async () => {
    const gatewayId = await h.gateway();
    const agents = names("p", 120).map((name) => ({ name, kind: "gateway_main" as const, simulatorBehaviour: "silent" as const }));
    const r = await ok<CreateResult>(h.baseUrl, "agents.createMany", { gatewayId, agents }, { token });
    const op = await operationDone(r.operationId);
    const errors = await h.app.db.agent.findMany({ where: { gatewayId, lastProvisionError: { not: null } }, select: { lastProvisionError: true, status: true }, take: 3 });
    assert.deepEqual([op.total, op.done, op.failed], [120, 120, 0], JSON.stringify(errors));
    assert.equal(await h.app.db.agent.count({ where: { gatewayId, status: "provisioning" } }), 0);
    assert.equal(await h.app.db.lifecycleEvent.count({ where: { gatewayId, event: "lifecycle.provision.succeeded" } }), 120);
    const mine = pushed.filter((e) => e.data?.operationId === r.operationId);
    assert.ok(mine.length >= 2, `${mine.length} pushes`);
    assert.ok(mine.some((e) => e.data?.status === "done" && e.data?.done === 120));
    // Stored as well (timeline, logs): throttled, at most start, one per chunk and end; the last one says done.
    const stored = await h.app.db.lifecycleEvent.findMany({ where: { event: "fleet.operation.progress", gatewayId }, orderBy: { id: "asc" } });
    assert.ok(stored.length >= 2 && stored.length <= 2 + Math.ceil(120 / 25), `${stored.length} stored`);
    assert.equal((stored.at(-1)!.data as { status: string }).status, "done");
    const recent = await ok<Operation[]>(h.baseUrl, "fleet.operations", { gatewayId }, { token });
    assert.deepEqual(recent.map((o) => o.id), [r.operationId]);
  });

  test("bulkReprovision keeps its input and answer, and runs as an operation", async () => {
    const gatewayId = await h.gateway();
    const r = await ok<CreateResult>(h.baseUrl, "agents.createMany", { gatewayId, agents: names("r", 40).map((name) => ({ name, kind: "gateway_main", simulatorBehaviour: "silent" })) }, { token });
    await operationDone(r.operationId);
    const gone = crypto.randomUUID();
    const b = await ok<{ started: number; missing: string[]; operationId: string }>(h.baseUrl, "agents.bulkReprovision", { ids: [...r.ids, gone] }, { token });
    assert.equal(b.started, 40);
    assert.deepEqual(b.missing, [gone]);
    const op = await operationDone(b.operationId);
    assert.deepEqual([op.total, op.done], [40, 40]);
    const rows = await h.app.db.agent.findMany({ where: { gatewayId }, select: { lifecycleGeneration: true, provisionedGeneration: true } });
    assert.ok(rows.every((a) => a.lifecycleGeneration === 2 && a.provisionedGeneration === 2), JSON.stringify(rows.slice(0, 3)));
  });

  test("gateways.wakeAll wakes every agent of the gateway as an operation", async () => {
    const gatewayId = await h.gateway();
    const r = await ok<CreateResult>(h.baseUrl, "agents.createMany", { gatewayId, agents: names("k", 30).map((name) => ({ name, kind: "gateway_main", simulatorBehaviour: "silent" })) }, { token });
    await operationDone(r.operationId);
    const w = await ok<{ operationId: string }>(h.baseUrl, "gateways.wakeAll", { id: gatewayId }, { token });
    const op = await operationDone(w.operationId);
    assert.deepEqual([op.total, op.done], [30, 30]);
    const rows = await h.app.db.agent.findMany({ where: { gatewayId }, select: { lifecycleGeneration: true } });
    assert.ok(rows.every((a) => a.lifecycleGeneration === 2));
    const wakes = await h.app.db.lifecycleEvent.count({ where: { gatewayId, event: "lifecycle.cycle.started", generation: 2 } });
    assert.equal(wakes, 30);
  });

  test("a job that dies mid-way resumes after its cursor: no agent's cycle is started twice", async () => {
    const gatewayId = await h.gateway();
    const r = await ok<CreateResult>(h.baseUrl, "agents.createMany", { gatewayId, agents: names("z", 60).map((name) => ({ name, kind: "gateway_main", simulatorBehaviour: "silent" })) }, { token });
    await operationDone(r.operationId);
    // The operation is recorded but its job is run here, by hand, by a process that dies at its 33rd cycle start.
    const { id: opId } = await h.app.db.fleetOperation.create({ data: { kind: "reprovision", agentIds: r.ids, total: r.ids.length, startedBy: "test" } });
    const real = h.app.lifecycle;
    let starts = 0;
    const dying = {
      startCycle: (...args: Parameters<LifecycleService["startCycle"]>) => {
        starts += 1;
        if (starts > 32) throw new Error("process died");
        return real.startCycle(...args);
      },
      settleProvisioning: real.settleProvisioning.bind(real),
    } as unknown as LifecycleService;
    const make = (lifecycle: LifecycleService) =>
      new FleetOperations({ db: h.app.db, boss: h.app.boss, events: h.app.events, publisher: h.app.publisher, lifecycle, logger: h.app.logger, chunkSize: 25, concurrency: 1 });
    await assert.rejects(make(dying).run(opId), /process died/);
    const mid = await h.app.db.fleetOperation.findUniqueOrThrow({ where: { id: opId } });
    assert.deepEqual([mid.status, mid.done], ["running", 25]);
    assert.equal(await h.app.db.agent.count({ where: { gatewayId, lifecycleGeneration: 2 } }), 32);
    // The retry (twice, as two retries would) finishes it; agents 26–32 keep the cycle the dead run started.
    const resumed = await make(real).run(opId);
    assert.deepEqual([resumed?.status, resumed?.done, resumed?.total], ["done", 60, 60]);
    await make(real).run(opId);
    const gens = await h.app.db.agent.findMany({ where: { gatewayId }, select: { lifecycleGeneration: true } });
    assert.ok(gens.every((a) => a.lifecycleGeneration === 2), JSON.stringify(gens.map((g) => g.lifecycleGeneration)));
    assert.equal(await h.app.db.lifecycleEvent.count({ where: { gatewayId, event: "lifecycle.cycle.started", generation: 2 } }), 60);
  });
});

describe("mc import", () => {
  let h: Harness;
  let token: string;
  let dir: string;
  before(async () => {
    h = await startHarness();
    ({ token } = await setup(h));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-import-"));
  });
  after(async () => {
    await h.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const mc = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "scripts/mc.ts", ...args], {
        env: { ...process.env, MC_URL: h.baseUrl, MC_TOKEN: token, NO_COLOR: "1" },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });

  test("parsing: CSV quoting, line numbers of bad rows, JSON items", () => {
    const csv = parseImport('name,kind,board\na1,board_worker,"b, ""1"""\r\nok,gateway_main,\n\nbad/x,board_worker,b1\nc,nope,b1\nok,gateway_main,\n', "csv");
    assert.deepEqual(csv.rows.map((r) => [r.line, r.name, r.board ?? null]), [[2, "a1", 'b, "1"'], [3, "ok", null], [7, "ok", null]]);
    assert.deepEqual(csv.problems.map((p) => p.line), [5, 6, 7]);
    assert.match(csv.problems[2].problem, /repeats line 3/);
    const json = parseImport('[{"name":"a","kind":"gateway_main"},{"name":"b","kind":"board_worker","extra":1},3]', "json");
    assert.deepEqual(json.problems.map((p) => p.line), [2, 3]);
    assert.equal(parseImport("name,colour\nx,red\n", "csv").problems[0].line, 1);
  });

  test("bad rows (in the file, or taken on the gateway) are reported by line and nothing is created; then a CSV and a JSON import", async () => {
    const gatewayId = await h.gateway({ name: "import-gw" });
    await board(h, gatewayId, "team");
    await h.agent(gatewayId, "silent", "already");
    const bad = path.join(dir, "bad.csv");
    fs.writeFileSync(bad, "name,kind,board,simulatorBehaviour\na1,board_worker,team,silent\nbad name!,board_worker,team,silent\na3,board_worker,nowhere,silent\n");
    const r1 = await mc("import", bad, "--gateway", "import-gw");
    assert.equal(r1.code, 1, r1.stderr);
    assert.match(r1.stderr, /bad\.csv:3: name/);
    assert.equal(await h.app.db.agent.count({ where: { gatewayId } }), 1);

    const taken = path.join(dir, "taken.csv");
    fs.writeFileSync(taken, "name,kind,board,simulatorBehaviour\nt1,board_worker,team,silent\nalready,board_worker,team,silent\na3,board_worker,nowhere,silent\n");
    const r2 = await mc("import", taken, "--gateway", gatewayId, "--chunk", "1");
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /taken\.csv:4: no board nowhere/);
    fs.writeFileSync(taken, "name,kind,board,simulatorBehaviour\nt1,board_worker,team,silent\nalready,board_worker,team,silent\n");
    const r3 = await mc("import", taken, "--gateway", gatewayId, "--chunk", "1");
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /taken\.csv:3: an agent with this name already exists/);
    assert.equal(await h.app.db.agent.count({ where: { gatewayId } }), 1);

    const good = path.join(dir, "fleet.csv");
    fs.writeFileSync(good, ["name,kind,simulatorBehaviour", ...names("imp", 45).map((n) => `${n},board_worker,silent`)].join("\n"));
    const r4 = await mc("import", good, "--gateway", "import-gw", "--board", "team", "--chunk", "20");
    assert.equal(r4.code, 0, r4.stderr);
    assert.match(r4.stdout, /created 45 agents/);
    assert.match(r4.stdout, /provisioning finished: 45\/45 handled, 0 failed/);
    assert.equal(await h.app.db.fleetOperation.count({ where: { gatewayId } }), 3);

    const json = path.join(dir, "fleet.json");
    fs.writeFileSync(json, JSON.stringify([{ name: "j1", kind: "gateway_main", simulatorBehaviour: "silent" }, { name: "j2", kind: "board_lead", board: "team" }]));
    const r5 = await mc("import", json, "--gateway", "import-gw", "--no-wait");
    assert.equal(r5.code, 0, r5.stderr);
    assert.equal(await h.app.db.agent.count({ where: { gatewayId } }), 1 + 45 + 2);
  });
});
