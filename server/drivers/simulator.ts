// The built-in simulator gateway: its agents live in this process and call the real heartbeat API over HTTP with
// their real tokens, each following a behaviour (SPEC §6).
import type { DriverAgent, GatewayDriver, ProvisionRequest, WakeRequest } from "./types";
import { GatewayCallError } from "./types";

export const SIMULATOR_BEHAVIOURS = ["healthy", "slow", "silent", "flaky", "bad_token", "crash_after"] as const;
export type SimulatorBehaviour = (typeof SIMULATOR_BEHAVIOURS)[number];

export const SIMULATOR_VERSION = "simulator-1";

interface SimulatedAgent {
  id: string;
  behaviour: SimulatorBehaviour;
  token: string;
  heartbeatUrl: string;
  intervalSeconds: number;
  heartbeatsSent: number;
  timers: Set<NodeJS.Timeout>;
  loop?: NodeJS.Timeout;
}

export interface SimulatorTiming {
  /** Delay range of a healthy agent's first check-in after a wake, in ms. */
  checkinDelayMs: [number, number];
  /** `crash_after` stops after this many heartbeats. */
  crashAfterHeartbeats: number;
  random: () => number;
}

const defaultTiming: SimulatorTiming = { checkinDelayMs: [1000, 5000], crashAfterHeartbeats: 2, random: Math.random };

/** The simulated runtime: one per process, shared by every simulator gateway. */
export class SimulatorRuntime {
  private readonly agents = new Map<string, SimulatedAgent>();
  private stopped = false;

  constructor(private readonly timing: SimulatorTiming = defaultTiming) {}

  has(agentId: string): boolean {
    return this.agents.has(agentId);
  }

  install(req: ProvisionRequest): void {
    const behaviour = parseBehaviour(req.agent.simulatorBehaviour);
    this.remove(req.agent.id);
    this.agents.set(req.agent.id, {
      id: req.agent.id,
      behaviour,
      token: req.token,
      heartbeatUrl: req.heartbeatUrl,
      intervalSeconds: req.agent.heartbeatIntervalSeconds,
      heartbeatsSent: 0,
      timers: new Set(),
    });
  }

  wake(req: WakeRequest): void {
    const sim = this.agents.get(req.agent.id);
    if (!sim) throw new GatewayCallError(`agent ${req.agent.name} is not provisioned on this simulator`, "not_found");
    this.stopLoop(sim);
    const answers = this.answersWake(sim, req.attempt);
    if (!answers) return;
    this.later(sim, this.checkinDelay(), () => this.startHeartbeating(sim));
  }

  remove(agentId: string): void {
    const sim = this.agents.get(agentId);
    if (!sim) return;
    for (const t of sim.timers) clearTimeout(t);
    this.stopLoop(sim);
    this.agents.delete(agentId);
  }

  stop(): void {
    this.stopped = true;
    for (const id of [...this.agents.keys()]) this.remove(id);
  }

  private answersWake(sim: SimulatedAgent, attempt: number): boolean {
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

  private startHeartbeating(sim: SimulatedAgent): void {
    void this.beat(sim);
    sim.loop = setInterval(() => void this.beat(sim), sim.intervalSeconds * 1000);
    sim.loop.unref();
  }

  private async beat(sim: SimulatedAgent): Promise<void> {
    if (this.stopped || !this.agents.has(sim.id)) return;
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

  private later(sim: SimulatedAgent, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      sim.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    sim.timers.add(t);
  }

  private stopLoop(sim: SimulatedAgent): void {
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
    this.runtime.install(req);
  }

  async wake(req: WakeRequest): Promise<void> {
    this.runtime.wake(req);
  }

  async resetSession(): Promise<void> {}

  async syncTemplates(): Promise<void> {}

  async deleteAgent(agent: DriverAgent): Promise<void> {
    this.runtime.remove(agent.id);
  }

  async probe() {
    return { version: SIMULATOR_VERSION };
  }
}
