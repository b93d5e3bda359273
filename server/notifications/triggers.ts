// What a lifecycle event means for notifications, as pure functions: the signal an event carries, whether a rule
// covers it, how it is grouped, and the words an operator reads. signals.ts and checks.ts apply them.
import type { StoredEvent } from "../events/bus";

export const TRIGGERS = ["agent_offline", "gateway_unreachable", "template_sync_failed", "no_worker", "reconcile_lag"] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** Triggers checked periodically rather than from events; they concern the whole installation. */
export const FLEET_ONLY_TRIGGERS: readonly Trigger[] = ["no_worker", "reconcile_lag"];

export type Scope = "fleet" | "gateway" | "board";

export type Signal =
  | { kind: "agent_offline"; agentId: string; gatewayId: string; boardId: string | null; reason: string | null }
  | { kind: "agent_online"; agentId: string; gatewayId: string }
  | { kind: "gateway_down"; gatewayId: string; status: "unreachable" | "incompatible"; error: string | null }
  | { kind: "gateway_up"; gatewayId: string }
  | { kind: "sync_failed"; gatewayId: string; runId: string | null; succeeded: number; failed: number; error: string | null }
  | { kind: "sync_succeeded"; gatewayId: string };

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number => (typeof v === "number" ? v : 0);

/** The signals in one published event (none for most events). */
export function signalsOf(e: Pick<StoredEvent, "event" | "agentId" | "gatewayId" | "boardId" | "data">): Signal[] {
  const data = e.data ?? {};
  switch (e.event) {
    case "agent.status.changed": {
      if (!e.agentId || !e.gatewayId) return [];
      if (data.to === "offline") return [{ kind: "agent_offline", agentId: e.agentId, gatewayId: e.gatewayId, boardId: e.boardId ?? null, reason: str(data.reason) }];
      if (data.to === "online") return [{ kind: "agent_online", agentId: e.agentId, gatewayId: e.gatewayId }];
      return [];
    }
    case "gateway.status.changed": {
      if (!e.gatewayId) return [];
      if (data.to === "unreachable" || data.to === "incompatible") return [{ kind: "gateway_down", gatewayId: e.gatewayId, status: data.to, error: str(data.error) }];
      if (data.to === "reachable") return [{ kind: "gateway_up", gatewayId: e.gatewayId }];
      return [];
    }
    case "gateway.templates.sync.failed":
      // One event per agent and one final event per run: a run is one notification.
      if (!e.gatewayId || data.final !== true) return [];
      return [{ kind: "sync_failed", gatewayId: e.gatewayId, runId: str(data.runId), succeeded: num(data.succeeded), failed: num(data.failed), error: str(data.error) }];
    case "gateway.templates.sync.succeeded":
      if (!e.gatewayId || data.final !== true) return [];
      return [{ kind: "sync_succeeded", gatewayId: e.gatewayId }];
    default:
      return [];
  }
}

export interface RuleScope {
  scope: Scope;
  gatewayId: string | null;
  boardId: string | null;
  /** The gateway of the rule's board (board scope). */
  boardGatewayId: string | null;
}

/** Whether a rule scoped to the fleet, a gateway or a board covers something on this gateway (and board). */
export function inScope(rule: RuleScope, gatewayId: string, boardId: string | null): boolean {
  switch (rule.scope) {
    case "fleet":
      return true;
    case "gateway":
      return rule.gatewayId === gatewayId;
    case "board":
      // Gateway-wide problems (unreachable, sync) concern every board of the gateway; agent problems only their board.
      return boardId === null ? rule.boardGatewayId === gatewayId : rule.boardId === boardId;
  }
}

/** Failures on one gateway are one notification per rule; installation-wide ones one per rule. */
export function gatewayGroup(gatewayId: string): string {
  return `gateway:${gatewayId}`;
}
export const FLEET_GROUP = "fleet";

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export interface AgentLine {
  name: string;
  error: string | null;
}

export interface Content {
  title: string;
  summary: string;
}

export function agentsOfflineContent(gatewayName: string, agents: AgentLine[], gatewayStatus: string): Content {
  const n = agents.length;
  const where = gatewayStatus === "unreachable" || gatewayStatus === "incompatible" ? ` (gateway ${gatewayStatus})` : "";
  const title = n === 1 ? `Agent ${agents[0].name} offline on gateway ${gatewayName}${where}` : `${plural(n, "agent")} offline on gateway ${gatewayName}${where}`;
  return { title, summary: agentLines(agents) };
}

export function gatewayDownContent(gatewayName: string, status: string, error: string | null, affected: number, offline: AgentLine[]): Content {
  const title = `Gateway ${gatewayName} ${status}, ${plural(affected, "agent")} affected`;
  const lines = [error ? `Last error: ${error}` : `The gateway does not answer its probe.`];
  lines.push("Wakes and provisioning on this gateway fail until it answers again: check its URL, token and network.");
  if (offline.length > 0) lines.push(`Offline since: ${plural(offline.length, "agent")}\n${agentLines(offline)}`);
  return { title, summary: lines.join("\n") };
}

export function syncFailedContent(gatewayName: string, failed: number, succeeded: number, error: string | null): Content {
  const total = failed + succeeded;
  const title = total > 0 ? `Template sync failed on gateway ${gatewayName}: ${failed} of ${plural(total, "agent")}` : `Template sync failed on gateway ${gatewayName}`;
  return { title, summary: error ? `Error: ${error}` : "Open the gateway's sync history for each agent's error." };
}

export function noWorkerContent(): Content {
  return {
    title: "No queue worker alive: the lifecycle is paused",
    summary: "Deadlines, retries, template syncs and probes are not processed. Start a worker (`npm run worker`, or a process with MC_WORKER=1).",
  };
}

export function reconcileLagContent(lagSeconds: number, thresholdSeconds: number): Content {
  return {
    title: `Reconcile lag ${Math.round(lagSeconds)}s (threshold ${thresholdSeconds}s)`,
    summary: "Deadline jobs run late: workers are overloaded or stalled. Check the System page (workers, queue depth, failed jobs).",
  };
}

const MAX_LINES = 10;

function agentLines(agents: AgentLine[]): string {
  const lines = agents.slice(0, MAX_LINES).map((a) => `• ${a.name}: ${a.error ?? "no error recorded"}`);
  if (agents.length > MAX_LINES) lines.push(`… and ${agents.length - MAX_LINES} more`);
  return lines.join("\n");
}

/**
 * A periodic condition ("lag above 10 s") must hold for `forSeconds` before it fires: returns the new start of the
 * condition (null when it does not hold) and whether it fires now.
 */
export function sustained(holding: boolean, since: number | null, now: number, forSeconds: number): { since: number | null; fire: boolean } {
  if (!holding) return { since: null, fire: false };
  const start = since ?? now;
  return { since: start, fire: now - start >= forSeconds * 1000 };
}
