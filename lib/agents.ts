// Pure helpers over agent views: error classification and template staleness (board order and the board row of a full
// view: lib/client/agents.ts).
// Board filters in the URL: lib/board-filters.ts; which cached lists a pushed agent or event belongs to: lib/client/list-match.ts.

export type ErrorKind = "gateway_unreachable" | "no_checkin" | "heartbeat_lost" | "error";

/** What agentProblem reads of an agent (a view, a board row's source, or a notification's facts). */
export interface ProblemFields {
  lastProvisionError: string | null;
  statusReason: string | null;
  status: string;
}

/** What hasStaleTemplates reads: the agent's revision and its gateway's last synced one. */
export interface TemplateFields {
  templateRevision: string | null;
  gateway: { templateRevision: string | null } | null;
}

export interface AgentProblem {
  kind: ErrorKind;
  label: string;
  text: string;
}

/**
 * What went wrong, in operator terms. "gateway unreachable" (the gateway did not answer) must be told apart at a glance
 * from "no check-in" (the wake was delivered, the agent never called back).
 */
export function agentProblem(agent: ProblemFields): AgentProblem | null {
  const text = agent.lastProvisionError ?? (agent.status === "offline" || agent.statusReason ? agent.statusReason : null);
  if (!text) return null;
  const lower = text.toLowerCase();
  if (lower.includes("gateway unreachable")) return { kind: "gateway_unreachable", label: "gateway unreachable", text };
  if (agent.statusReason === "heartbeat_lost" && !agent.lastProvisionError) {
    return { kind: "heartbeat_lost", label: "heartbeat lost", text: "Heartbeats stopped after the agent had checked in (heartbeat_lost)" };
  }
  if (lower.includes("no check-in") || agent.statusReason === "max_wake_attempts") return { kind: "no_checkin", label: "no check-in", text };
  return { kind: "error", label: "error", text };
}

export const PROBLEM_STYLES: Record<ErrorKind, string> = {
  gateway_unreachable: "bg-orange-100 text-orange-800 ring-orange-300 dark:bg-orange-950 dark:text-orange-200 dark:ring-orange-800",
  no_checkin: "bg-rose-100 text-rose-800 ring-rose-300 dark:bg-rose-950 dark:text-rose-200 dark:ring-rose-800",
  heartbeat_lost: "bg-fuchsia-100 text-fuchsia-800 ring-fuchsia-300 dark:bg-fuchsia-950 dark:text-fuchsia-200 dark:ring-fuchsia-800",
  error: "bg-zinc-200 text-zinc-800 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-200 dark:ring-zinc-700",
};

/** The agent runs an older template revision than its gateway last synced. */
export function hasStaleTemplates(agent: TemplateFields): boolean {
  const current = agent.gateway?.templateRevision;
  return Boolean(current && agent.templateRevision && current !== agent.templateRevision) || Boolean(current && !agent.templateRevision);
}

export function shortRevision(rev: string | null | undefined): string {
  if (!rev) return "—";
  return rev.length > 10 ? rev.slice(0, 8) : rev;
}
