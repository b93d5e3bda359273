// The built-in simulator gateway: its agents call the real heartbeat API over HTTP with their real tokens, each
// following a behaviour (docs/architecture.md, Contracts (gateway drivers)).
//
// Like a real gateway, the simulator keeps its agents in durable state (the SimulatedAgent table): any web or worker
// process may provision, wake or delete a simulated agent by writing there. Exactly one process at a time animates
// them (sends their heartbeats): the one holding a PostgreSQL advisory lock. The others keep trying to take the lock,
// so when the host dies its connection closes, the lock is released and another process takes over within about a
// second, resuming every agent from the table: agents never move between processes and a restart reprovisions
// nothing.
import pg from "pg";
import type { Db } from "../../db/prisma";
import type { Logger } from "../../platform/logger";
import { openSecret, sealSecret } from "../../secrets/crypto";
import type { DeleteOptions, DriverAgent, GatewayDriver, ProvisionRequest, WakeRequest } from "../types";
import { GatewayCallError } from "../types";
import { SIMULATOR_BEHAVIOURS, type SimulatorBehaviour } from "../../../lib/contract/schemas";


export const SIMULATOR_VERSION = "simulator-1";
/** NOTIFY channel: the payload is the id of a simulated agent whose row changed. */
export const SIMULATOR_CHANNEL = "mc_simulator";
/** pg_advisory_lock key of the simulator host (any constant unique to this purpose). */
export const SIMULATOR_LOCK_KEY = 0x4d435349; // "MCSI"

export interface SimulatorTiming {
  /** Delay range of a healthy agent's first check-in after a wake, in ms. */
  checkinDelayMs: [number, number];
  /** `crash_after` stops after this many heartbeats. */
  crashAfterHeartbeats: number;
  random: () => number;
  /** How often a process that does not host the simulator tries to take over. */
  takeoverMs?: number;
}

const defaultTiming: SimulatorTiming = { checkinDelayMs: [1000, 5000], crashAfterHeartbeats: 2, random: Math.random };

type Row = {
  agentId: string;
  behaviour: string;
  tokenSealed: string;
  heartbeatUrl: string;
  intervalSeconds: number;
  wakeAttempt: number | null;
  wokenAt: Date | null;
  answeredAt: Date | null;
};

interface Animated {
  id: string;
  behaviour: SimulatorBehaviour;
  tokenSealed: string;
  token: string;
  heartbeatUrl: string;
  intervalSeconds: number;
  heartbeatsSent: number;
  /** wokenAt of the last wake this host acted on. */
  handledWake: number | null;
  timers: Set<NodeJS.Timeout>;
  loop?: NodeJS.Timeout;
}

/** The simulated runtime: its state in the database, its animation in the one process that holds the lock. */
export class SimulatorRuntime {
  private readonly animated = new Map<string, Animated>();
  private readonly chains = new Map<string, Promise<void>>();
  private client: pg.Client | null = null;
  private hosting = false;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private logger?: Logger;
  private databaseUrl = "";

  constructor(
    private readonly db: Db,
    private readonly timing: SimulatorTiming = defaultTiming,
  ) {}

  /** Provisioning: (re)installs the agent with its new token; it stays quiet until its next wake. */
  async install(req: ProvisionRequest): Promise<void> {
    req.signal?.throwIfAborted();
    const data = {
      behaviour: parseBehaviour(req.agent.simulatorBehaviour),
      tokenSealed: sealSecret(req.token)!,
      heartbeatUrl: req.heartbeatUrl,
      intervalSeconds: req.agent.heartbeatIntervalSeconds,
      wakeGeneration: null,
      wakeAttempt: null,
      wokenAt: null,
      answeredAt: null,
    };
    await this.db.simulatedAgent.upsert({ where: { agentId: req.agent.id }, create: { agentId: req.agent.id, ...data }, update: data });
    await this.notify(req.agent.id);
  }

  async wake(req: WakeRequest): Promise<void> {
    req.signal?.throwIfAborted();
    const woken = await this.db.$executeRaw`
      UPDATE "SimulatedAgent" SET "wakeGeneration" = ${req.generation}, "wakeAttempt" = ${req.attempt},
             "wokenAt" = clock_timestamp(), "answeredAt" = NULL, "updatedAt" = clock_timestamp()
       WHERE "agentId" = ${req.agent.id}::uuid`;
    if (woken === 0) throw new GatewayCallError(`agent ${req.agent.name} is not provisioned on this simulator`, "not_found");
    await this.notify(req.agent.id);
  }

  async remove(agentId: string): Promise<void> {
    await this.db.simulatedAgent.deleteMany({ where: { agentId } });
    await this.notify(agentId);
  }

  /** Whether the simulator holds the agent (it was provisioned and not removed). */
  async has(agentId: string): Promise<boolean> {
    return (await this.db.simulatedAgent.count({ where: { agentId } })) > 0;
  }

  /** Whether this process currently animates the simulated agents. */
  isHost(): boolean {
    return this.hosting;
  }

  /** Contends for the simulator lock now and every `takeoverMs` until stopped. */
  startHosting(databaseUrl: string, logger: Logger): void {
    this.logger = logger;
    this.databaseUrl = databaseUrl;
    void this.contend();
  }

  private async contend(): Promise<void> {
    const logger = this.logger!;
    if (this.stopped) return;
    try {
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.databaseUrl, application_name: "mission-control:simulator" });
        client.on("error", (err) => this.lostConnection(client, err));
        client.on("end", () => this.lostConnection(client));
        this.client = client;
        await client.connect();
      }
      const { rows } = await this.client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [SIMULATOR_LOCK_KEY]);
      if (rows[0]?.locked && !this.stopped) {
        await this.becomeHost(this.client);
        return;
      }
    } catch (err) {
      if (!this.stopped) logger.warn({ err: String(err) }, "simulator host: could not contend for the lock");
      this.dropClient();
    }
    if (!this.stopped && !this.hosting) this.scheduleContend();
  }

  private scheduleContend(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.contend(), this.timing.takeoverMs ?? 1000);
    this.retry.unref();
  }

  /** Stops animating and gives up the lock (another process takes over). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.forgetAll();
    this.dropClient();
  }

  private async becomeHost(client: pg.Client): Promise<void> {
    client.on("notification", (msg) => {
      if (msg.channel === SIMULATOR_CHANNEL && msg.payload) this.refresh(msg.payload);
    });
    await client.query(`LISTEN ${SIMULATOR_CHANNEL}`);
    this.hosting = true;
    const rows = await this.db.simulatedAgent.findMany();
    for (const row of rows) this.apply(row.agentId, row);
    this.logger?.info({ agents: rows.length }, "this process hosts the simulator");
  }

  private lostConnection(client: pg.Client, err?: Error): void {
    if (client !== this.client) return;
    if (err && !this.stopped) this.logger?.warn({ err: err.message }, "simulator host lost its database connection");
    this.dropClient();
    // Another process takes the lock; this one contends again once it reconnects.
    if (!this.stopped) this.scheduleContend();
  }

  private dropClient(): void {
    const client = this.client;
    this.client = null;
    if (this.hosting) this.forgetAll();
    this.hosting = false;
    if (client) void client.end().catch(() => undefined);
  }

  private async notify(agentId: string): Promise<void> {
    await this.db.$executeRaw`SELECT pg_notify(${SIMULATOR_CHANNEL}, ${agentId})`;
  }

  /** Re-reads one agent's row and brings its animation in line; one refresh per agent at a time, in order. */
  private refresh(agentId: string): void {
    const previous = this.chains.get(agentId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (!this.hosting) return;
        const row = await this.db.simulatedAgent.findUnique({ where: { agentId } });
        if (this.hosting) this.apply(agentId, row);
      })
      .catch((err) => this.logger?.warn({ agentId, err: String(err) }, "simulator could not refresh an agent"));
    this.chains.set(agentId, next);
    void next.finally(() => {
      if (this.chains.get(agentId) === next) this.chains.delete(agentId);
    });
  }

  private apply(agentId: string, row: Row | null): void {
    if (!row) return this.forget(agentId);
    let sim = this.animated.get(agentId);
    if (!sim || sim.tokenSealed !== row.tokenSealed || sim.heartbeatUrl !== row.heartbeatUrl || sim.behaviour !== row.behaviour) {
      this.forget(agentId);
      let token: string;
      try {
        token = openSecret(row.tokenSealed)!;
      } catch (err) {
        this.logger?.error({ agentId, err: String(err) }, "simulator cannot decrypt an agent token (MC_SECRET_KEY differs)");
        return;
      }
      sim = {
        id: agentId,
        behaviour: parseBehaviour(row.behaviour),
        tokenSealed: row.tokenSealed,
        token,
        heartbeatUrl: row.heartbeatUrl,
        intervalSeconds: row.intervalSeconds,
        heartbeatsSent: 0,
        handledWake: null,
        timers: new Set(),
      };
      this.animated.set(agentId, sim);
      // Taken over from a host that died: an agent that had answered its wake goes on heartbeating at once.
      if (row.wokenAt && row.answeredAt && row.answeredAt >= row.wokenAt) {
        sim.handledWake = row.wokenAt.getTime();
        this.startHeartbeating(sim);
      }
    }
    const wokenAt = row.wokenAt?.getTime() ?? null;
    if (wokenAt !== null && wokenAt !== sim.handledWake) {
      sim.handledWake = wokenAt;
      this.onWake(sim, row.wakeAttempt ?? 1);
    }
  }

  private onWake(sim: Animated, attempt: number): void {
    this.stopLoop(sim);
    if (!this.answersWake(sim, attempt)) return;
    this.later(sim, this.checkinDelay(), () => this.startHeartbeating(sim));
  }

  private forget(agentId: string): void {
    const sim = this.animated.get(agentId);
    if (!sim) return;
    for (const t of sim.timers) clearTimeout(t);
    this.stopLoop(sim);
    this.animated.delete(agentId);
  }

  private forgetAll(): void {
    for (const id of [...this.animated.keys()]) this.forget(id);
  }

  private answersWake(sim: Animated, attempt: number): boolean {
    switch (sim.behaviour) {
      case "silent":
        return false;
      case "slow":
        // Misses the first deadline, converges on a later attempt.
        return attempt >= 2;
      case "flaky":
        return this.timing.random() < 0.5;
      default:
        return true;
    }
  }

  private checkinDelay(): number {
    const [min, max] = this.timing.checkinDelayMs;
    return min + Math.round(this.timing.random() * (max - min));
  }

  private startHeartbeating(sim: Animated): void {
    void this.db.$executeRaw`UPDATE "SimulatedAgent" SET "answeredAt" = clock_timestamp() WHERE "agentId" = ${sim.id}::uuid AND "answeredAt" IS NULL`.catch(() => undefined);
    void this.beat(sim);
    sim.loop = setInterval(() => void this.beat(sim), sim.intervalSeconds * 1000);
    sim.loop.unref();
  }

  private async beat(sim: Animated): Promise<void> {
    if (!this.hosting || this.animated.get(sim.id) !== sim) return;
    if (sim.behaviour === "crash_after" && sim.heartbeatsSent >= this.timing.crashAfterHeartbeats) {
      this.stopLoop(sim);
      return;
    }
    sim.heartbeatsSent += 1;
    const token = sim.behaviour === "bad_token" ? corrupt(sim.token) : sim.token;
    try {
      await fetch(sim.heartbeatUrl, {
        method: "POST",
        headers: { "x-agent-token": token, "content-type": "application/json" },
        body: JSON.stringify({ status: "online", note: `simulated ${sim.behaviour} agent` }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      // A real agent retries on its next interval; so does the simulated one.
    }
  }

  private later(sim: Animated, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      sim.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    sim.timers.add(t);
  }

  private stopLoop(sim: Animated): void {
    if (sim.loop) clearInterval(sim.loop);
    sim.loop = undefined;
  }
}

function parseBehaviour(value: string | null | undefined): SimulatorBehaviour {
  return (SIMULATOR_BEHAVIOURS as readonly string[]).includes(value ?? "") ? (value as SimulatorBehaviour) : "healthy";
}

/** Same shape as the real token, wrong secret: the server can attribute the rejection to the agent. */
function corrupt(token: string): string {
  const last = token.at(-1) === "A" ? "B" : "A";
  return token.slice(0, -1) + last;
}

export class SimulatorDriver implements GatewayDriver {
  constructor(private readonly runtime: SimulatorRuntime) {}

  async provision(req: ProvisionRequest): Promise<void> {
    await this.runtime.install(req);
  }

  async wake(req: WakeRequest): Promise<void> {
    await this.runtime.wake(req);
  }

  async resetSession(): Promise<void> {}

  async syncTemplates(): Promise<void> {}

  async deleteAgent(agent: DriverAgent, opts: DeleteOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    await this.runtime.remove(agent.id);
  }

  async probe() {
    return { version: SIMULATOR_VERSION };
  }
}
