// A model-based test of the whole engine (fast-check commands): the real LifecycleService, the real agent API over
// HTTP, real PostgreSQL and real pg-boss, driven through random interleavings of create, heartbeat (with the current
// and with an old token), due jobs, sweeps, reprovision, token rotation, wake, delete, gateway failure and slowness,
// a worker that takes jobs and dies, and clock skew. The test runs the queue itself (it fetches due jobs from pg-boss
// and hands them to the service, as the worker does), so a worker crash is a fetch whose jobs are never finished.
//
// After every command and after the run has drained, it checks: never more than MAX_WAKE_ATTEMPTS wakes per cycle;
// `online` only after an acknowledged heartbeat with a token valid for the current cycle; no acknowledged heartbeat
// lost; every waiting agent has a job that will act, or the sweep repairs it within its deadline + 5 s; every cycle
// ends `online` or `offline` with a reason; and the last token a gateway received is the one that works.
//
// MODEL_RUNS (default 200) and MODEL_SEED replay or extend it; `npm run test:soak` runs thousands.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { startHarness, type Harness } from "../support/harness";
import { GatewayCallError, type DriverAgent, type GatewayDriver, type ProvisionRequest, type WakeRequest } from "../../server/drivers/types";
import { QUEUES, type ReconcileJobData } from "../../server/queue/queues";

const RUNS = Number(process.env.MODEL_RUNS ?? 200);
const SEED = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : undefined;
const DEADLINE_S = 0.1;
const MAX = 3;
/** The sweep repairs a waiting agent within its deadline + this (the guarantee under test). */
const REPAIR_BOUND_MS = 5_000;

// ---- the gateway: records what it received; can fail or be slow ------------------------------------------------

interface GatewayAgent {
  /** Tokens it received, with the generation whose provisioning sent each. */
  tokens: { token: string; generation: number }[];
  wakes: { generation: number; attempt: number }[];
}

class ModelGateway implements GatewayDriver {
  readonly agents = new Map<string, GatewayAgent>();
  failProvision = false;
  failWake = false;
  slowMs = 0;
  /**
   * The cycle a provisioning belongs to. Every command waits for the work it started, and cycles start only by
   * command, so while any gateway call runs the model knows the agent's generation.
   */
  generationOf: (agentId: string) => number = () => NaN;

  private agent(id: string): GatewayAgent {
    let a = this.agents.get(id);
    if (!a) this.agents.set(id, (a = { tokens: [], wakes: [] }));
    return a;
  }

  /** A multi-step call: waits `slowMs` (stopping if told to), then applies everything at once, or fails. */
  private async work(signal: AbortSignal | undefined, fail: boolean, apply: () => void): Promise<void> {
    if (this.slowMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, this.slowMs);
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(new GatewayCallError("stopped", "timeout"));
        }, { once: true });
      });
    }
    signal?.throwIfAborted();
    if (fail) throw new GatewayCallError("gateway unreachable: connect ECONNREFUSED", "unreachable");
    apply();
  }

  provision(req: ProvisionRequest): Promise<void> {
    const generation = this.generationOf(req.agent.id);
    return this.work(req.signal, this.failProvision, () => this.agent(req.agent.id).tokens.push({ token: req.token, generation }));
  }

  wake(req: WakeRequest): Promise<void> {
    return this.work(req.signal, this.failWake, () => this.agent(req.agent.id).wakes.push({ generation: req.generation, attempt: req.attempt }));
  }

  async resetSession(): Promise<void> {}
  async syncTemplates(): Promise<void> {}
  async deleteAgent(agent: DriverAgent): Promise<void> {
    this.agents.delete(agent.id);
  }
  async probe() {
    return { version: "model-1" };
  }
}

// ---- the model ------------------------------------------------------------------------------------------------

interface ModelAgent {
  id: string;
  generation: number;
  /** Oldest token generation whose check-in may complete the current cycle. */
  required: number;
  accepted: number;
  /** Acknowledged heartbeats: the agent's generation when sent, and the generation that issued the token. */
  heartbeats: { generation: number; tokenGeneration: number }[];
  deleted: boolean;
}

interface Model {
  agents: ModelAgent[];
}

interface Real {
  h: Harness;
  gw: ModelGateway;
  gatewayId: string;
  clockOffsetMs: { value: number };
}

const live = (m: Model) => m.agents.filter((a) => !a.deleted);

async function row(r: Real, id: string) {
  return r.h.app.db.agent.findUnique({ where: { id } });
}

/** The token the gateway holds (the running agent's), or an older one it was given before. */
function tokenOf(r: Real, a: ModelAgent, which: "current" | "old"): { token: string; generation: number } | null {
  const tokens = r.gw.agents.get(a.id)?.tokens ?? [];
  if (tokens.length === 0) return null;
  if (which === "current") return tokens.at(-1)!;
  return tokens.length > 1 ? tokens.at(-2)! : null;
}

async function sendHeartbeat(r: Real, a: ModelAgent, which: "current" | "old"): Promise<void> {
  const t = tokenOf(r, a, which);
  if (!t) return;
  const res = await fetch(`${r.h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": t.token } });
  await res.arrayBuffer();
  assert.ok([200, 401].includes(res.status), `heartbeat answered ${res.status}`);
  if (res.status === 200) {
    a.accepted += 1;
    a.heartbeats.push({ generation: a.generation, tokenGeneration: t.generation });
  }
}

/** The worker's loop, once: every due reconcile and delete job runs (or is taken and dropped by a dying worker). */
async function runDueJobs(r: Real, crash = false): Promise<void> {
  const { boss, lifecycle } = r.h.app;
  const reconciles = await boss.fetch<ReconcileJobData>(QUEUES.reconcile, { batchSize: 50 });
  if (crash) return;
  // Decided as the worker does: the batch together (LifecycleService.reconcileBatch).
  const settled = await lifecycle.reconcileBatch(reconciles.map((job) => job.data));
  for (const [i, job] of reconciles.entries()) {
    const outcome = settled[i];
    if (outcome.status === "fulfilled") await boss.complete(QUEUES.reconcile, job.id);
    else await boss.fail(QUEUES.reconcile, job.id, { error: String(outcome.reason) });
  }
  const deletes = await boss.fetch<{ agentId: string }>(QUEUES.delete, { batchSize: 50 });
  for (const job of deletes) {
    await lifecycle.removeAgent(job.data.agentId);
    await boss.complete(QUEUES.delete, job.id);
  }
  await lifecycle.idle();
}

async function startCycle(r: Real, a: ModelAgent, mode: "provision" | "wake"): Promise<void> {
  const delivered = r.gw.agents.get(a.id)?.tokens.at(-1);
  const view = await r.h.app.lifecycle.startCycle(a.id, "model", mode, mode);
  assert.ok(view, "agent exists");
  a.generation += 1;
  assert.equal(view.lifecycleGeneration, a.generation);
  a.required = mode === "wake" && delivered ? delivered.generation : a.generation;
  await r.h.app.lifecycle.idle();
}

// ---- commands ------------------------------------------------------------------------------------------------

type Cmd = fc.AsyncCommand<Model, Real>;

const pick = (m: Model, i: number) => live(m)[i % live(m).length];

class Create implements Cmd {
  check = (m: Model) => live(m).length < 3;
  async run(m: Model, r: Real) {
    const view = await r.h.app.lifecycle.createAgent({ gatewayId: r.gatewayId, name: `a-${crypto.randomUUID().slice(0, 8)}`, kind: "gateway_main" }, "model");
    m.agents.push({ id: view.id, generation: 1, required: 1, accepted: 0, heartbeats: [], deleted: false });
    await r.h.app.lifecycle.idle();
  }
  toString = () => "create";
}

class Heartbeat implements Cmd {
  constructor(readonly i: number, readonly which: "current" | "old") {}
  check = (m: Model) => live(m).length > 0;
  run = (m: Model, r: Real) => sendHeartbeat(r, pick(m, this.i), this.which);
  toString = () => `heartbeat(${this.i}, ${this.which})`;
}

class Cycle implements Cmd {
  constructor(readonly i: number, readonly mode: "provision" | "wake") {}
  check = (m: Model) => live(m).length > 0;
  run = (m: Model, r: Real) => startCycle(r, pick(m, this.i), this.mode);
  toString = () => `${this.mode === "wake" ? "wake" : "reprovision/rotate"}(${this.i})`;
}

class Delete implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Model) => live(m).length > 0;
  async run(m: Model, r: Real) {
    const a = pick(m, this.i);
    const outcome = await r.h.app.lifecycle.deleteAgent(a.id, "model");
    assert.notEqual(outcome, "missing");
    a.deleted = true;
    await r.h.app.lifecycle.idle();
  }
  toString = () => `delete(${this.i})`;
}

class RunJobs implements Cmd {
  constructor(readonly crash: boolean) {}
  check = () => true;
  run = (_m: Model, r: Real) => runDueJobs(r, this.crash);
  toString = () => (this.crash ? "worker takes due jobs and dies" : "worker runs due jobs");
}

class Sweep implements Cmd {
  check = () => true;
  async run(_m: Model, r: Real) {
    await r.h.app.lifecycle.sweep();
    await r.h.app.lifecycle.idle();
  }
  toString = () => "sweep";
}

class Wait implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  run = () => new Promise<void>((resolve) => setTimeout(resolve, this.ms));
  toString = () => `wait(${this.ms})`;
}

class GatewayMood implements Cmd {
  constructor(readonly failProvision: boolean, readonly failWake: boolean, readonly slowMs: number) {}
  check = () => true;
  async run(_m: Model, r: Real) {
    Object.assign(r.gw, { failProvision: this.failProvision, failWake: this.failWake, slowMs: this.slowMs });
  }
  toString = () => `gateway(failProvision=${this.failProvision}, failWake=${this.failWake}, slow=${this.slowMs})`;
}

class ClockSkew implements Cmd {
  constructor(readonly offsetMs: number) {}
  check = () => true;
  async run(_m: Model, r: Real) {
    r.clockOffsetMs.value = this.offsetMs;
  }
  toString = () => `clock skew ${this.offsetMs} ms`;
}

const commands = [
  fc.constant(new Create()),
  fc.tuple(fc.nat(5), fc.constantFrom("current" as const, "current" as const, "old" as const)).map(([i, w]) => new Heartbeat(i, w)),
  fc.tuple(fc.nat(5), fc.constantFrom("provision" as const, "provision" as const, "wake" as const)).map(([i, mode]) => new Cycle(i, mode)),
  fc.nat(5).map((i) => new Delete(i)),
  fc.constantFrom(false, false, false, true).map((crash) => new RunJobs(crash)),
  fc.constant(new Sweep()),
  fc.integer({ min: 20, max: 150 }).map((ms) => new Wait(ms)),
  fc
    .tuple(fc.constantFrom(false, false, true), fc.constantFrom(false, false, true), fc.constantFrom(0, 0, 30, 250))
    .map(([failProvision, failWake, slowMs]) => new GatewayMood(failProvision, failWake, slowMs)),
  fc.integer({ min: -60_000, max: 60_000 }).map((ms) => new ClockSkew(ms)),
];

// ---- invariants ----------------------------------------------------------------------------------------------

async function checkInvariants(m: Model, r: Real, when: string): Promise<void> {
  for (const a of m.agents) {
    const current = await row(r, a.id);
    if (!current) continue;
    // Never more than MAX wakes per cycle: neither attempts recorded nor wakes the gateway received.
    const perGeneration = await r.h.app.db.wakeAttempt.groupBy({ by: ["generation"], where: { agentId: a.id }, _count: { _all: true } });
    for (const g of perGeneration) assert.ok(g._count._all <= MAX, `${when}: ${g._count._all} attempts in generation ${g.generation}`);
    const wakes = r.gw.agents.get(a.id)?.wakes ?? [];
    for (let g = 1; g <= a.generation; g++) assert.ok(wakes.filter((w) => w.generation === g).length <= MAX, `${when}: more than ${MAX} wakes in generation ${g}`);
    if (a.deleted) continue;
    assert.equal(current.lifecycleGeneration, a.generation, `${when}: generation`);
    // No acknowledged heartbeat lost.
    assert.equal(current.heartbeatsAccepted, a.accepted, `${when}: acknowledged heartbeats stored`);
    if (a.accepted > 0) assert.ok(current.lastSeenAt, `${when}: lastSeenAt after an acknowledged heartbeat`);
    // Online only after an acknowledged heartbeat with a token valid for the current cycle.
    if (current.status === "online") {
      const proof = a.heartbeats.some((h) => h.generation === a.generation && h.tokenGeneration >= a.required);
      assert.ok(proof, `${when}: online in generation ${a.generation} without a heartbeat of a token of generation >= ${a.required}: ${JSON.stringify(a.heartbeats)}`);
    }
  }
}

const WAITING = new Set(["provisioning", "updating", "waking", "deleting"]);

/** Runs the queue and the sweep until nothing waits; each waiting agent must settle within its deadline + 5 s. */
async function drain(m: Model, r: Real): Promise<void> {
  Object.assign(r.gw, { failProvision: false, failWake: false, slowMs: 0 });
  const started = Date.now();
  const bound = MAX * DEADLINE_S * 1000 + REPAIR_BOUND_MS;
  for (;;) {
    await runDueJobs(r);
    await r.h.app.lifecycle.sweep();
    await r.h.app.lifecycle.idle();
    const rows = await r.h.app.db.agent.findMany({ where: { id: { in: m.agents.map((a) => a.id) } }, select: { id: true, status: true } });
    const waiting = rows.filter((x) => WAITING.has(x.status));
    if (waiting.length === 0) break;
    assert.ok(Date.now() - started < bound, `still waiting after ${Date.now() - started} ms: ${JSON.stringify(waiting)}`);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  await checkInvariants(m, r, "after drain");
  for (const a of m.agents) {
    const current = await row(r, a.id);
    if (a.deleted) {
      assert.equal(current, null, "a deleted agent is gone");
      continue;
    }
    assert.ok(current);
    // Every cycle ends online, or offline with a reason.
    assert.ok(current.status === "online" || current.status === "offline", current.status);
    if (current.status === "offline") {
      assert.ok(current.statusReason, "offline with a reason");
      if (current.statusReason === "max_wake_attempts") assert.match(current.lastProvisionError ?? "", /No check-in after \d+ wake/);
    }
    const pending = await r.h.app.db.wakeAttempt.count({ where: { agentId: a.id, outcome: "pending" } });
    assert.equal(pending, 0, "no attempt left pending");
    // The last token the gateway received is the one that works (nobody is locked out, nothing overwrote it).
    const last = tokenOf(r, a, "current");
    if (last) {
      const res = await fetch(`${r.h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": last.token } });
      await res.arrayBuffer();
      assert.equal(res.status, 200, "the gateway's last token is accepted");
      a.accepted += 1;
    }
  }
}

// ---- the property --------------------------------------------------------------------------------------------

describe("model-based: the lifecycle engine under random interleavings", () => {
  let h: Harness;
  let gw: ModelGateway;
  const clockOffsetMs = { value: 0 };
  before(async () => {
    gw = new ModelGateway();
    h = await startHarness({
      worker: false,
      simulatorHost: false,
      env: { CHECKIN_DEADLINE_SECONDS: String(DEADLINE_S), MAX_WAKE_ATTEMPTS: String(MAX), GATEWAY_CALL_TIMEOUT_SECONDS: "1" },
      clock: () => new Date(Date.now() + clockOffsetMs.value),
      drivers: () => () => gw,
      lifecycle: { repairAfterSeconds: 0.2, abandonedJobSeconds: 0.3, stuckProvisioningSeconds: 2 },
    });
  });
  after(async () => {
    await h.stop();
  });

  test(`${RUNS} runs`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 18 }), async (cmds) => {
        const gatewayId = await h.gateway();
        Object.assign(gw, { failProvision: false, failWake: false, slowMs: 0 });
        clockOffsetMs.value = 0;
        const model: Model = { agents: [] };
        // An agent not in the model yet is being created: its first cycle.
        gw.generationOf = (id) => model.agents.find((a) => a.id === id)?.generation ?? 1;
        const real: Real = { h, gw, gatewayId, clockOffsetMs };
        await fc.asyncModelRun(
          () => ({ model, real }),
          [...cmds].map((cmd) => ({
            check: (m: Model) => cmd.check(m),
            run: async (m: Model, r: Real) => {
              await cmd.run(m, r);
              await checkInvariants(m, r, `after ${cmd.toString()}`);
            },
            toString: () => cmd.toString(),
          })),
        );
        await drain(model, real);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
