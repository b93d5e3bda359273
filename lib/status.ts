// One colour per status and per wake outcome, used everywhere (pills, strip, timeline bars).
// Class names are written out in full so that Tailwind finds them.
import { AGENT_KINDS, AGENT_STATUSES, WAKE_OUTCOMES, type AgentKind, type AgentStatus, type WakeOutcome } from "./contract/enums";

export { AGENT_KINDS, AGENT_STATUSES, WAKE_OUTCOMES, type AgentKind, type AgentStatus, type WakeOutcome };

export interface StatusStyle {
  label: string;
  /** Pill: background + text + ring. */
  pill: string;
  /** Small dot / strip accent. */
  dot: string;
  /** SVG fill. */
  fill: string;
  /** Pressed filter button. */
  active: string;
}

export const STATUS_STYLES: Record<AgentStatus, StatusStyle> = {
  provisioning: {
    label: "provisioning",
    pill: "bg-sky-100 text-sky-800 ring-sky-300 dark:bg-sky-950 dark:text-sky-200 dark:ring-sky-800",
    dot: "bg-sky-500",
    fill: "fill-sky-500",
    active: "border-sky-500 bg-sky-50 dark:bg-sky-950",
  },
  updating: {
    label: "updating",
    pill: "bg-indigo-100 text-indigo-800 ring-indigo-300 dark:bg-indigo-950 dark:text-indigo-200 dark:ring-indigo-800",
    dot: "bg-indigo-500",
    fill: "fill-indigo-500",
    active: "border-indigo-500 bg-indigo-50 dark:bg-indigo-950",
  },
  waking: {
    label: "waking",
    pill: "bg-amber-100 text-amber-900 ring-amber-300 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-800",
    dot: "bg-amber-500",
    fill: "fill-amber-500",
    active: "border-amber-500 bg-amber-50 dark:bg-amber-950",
  },
  online: {
    label: "online",
    pill: "bg-emerald-100 text-emerald-800 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-200 dark:ring-emerald-800",
    dot: "bg-emerald-500",
    fill: "fill-emerald-500",
    active: "border-emerald-500 bg-emerald-50 dark:bg-emerald-950",
  },
  offline: {
    label: "offline",
    pill: "bg-rose-100 text-rose-800 ring-rose-300 dark:bg-rose-950 dark:text-rose-200 dark:ring-rose-800",
    dot: "bg-rose-500",
    fill: "fill-rose-500",
    active: "border-rose-500 bg-rose-50 dark:bg-rose-950",
  },
  deleting: {
    label: "deleting",
    pill: "bg-zinc-200 text-zinc-700 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700",
    dot: "bg-zinc-500",
    fill: "fill-zinc-500",
    active: "border-zinc-500 bg-zinc-100 dark:bg-zinc-800",
  },
};

export function isAgentStatus(s: string): s is AgentStatus {
  return (AGENT_STATUSES as readonly string[]).includes(s);
}

export function statusStyle(s: string): StatusStyle {
  return isAgentStatus(s) ? STATUS_STYLES[s] : STATUS_STYLES.deleting;
}

export const OUTCOME_STYLES: Record<WakeOutcome, { label: string; fill: string; pill: string }> = {
  checked_in: {
    label: "checked in",
    fill: "fill-emerald-500",
    pill: "bg-emerald-100 text-emerald-800 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-200 dark:ring-emerald-800",
  },
  expired: {
    label: "expired",
    fill: "fill-rose-500",
    pill: "bg-rose-100 text-rose-800 ring-rose-300 dark:bg-rose-950 dark:text-rose-200 dark:ring-rose-800",
  },
  rpc_failed: {
    label: "gateway call failed",
    fill: "fill-orange-500",
    pill: "bg-orange-100 text-orange-800 ring-orange-300 dark:bg-orange-950 dark:text-orange-200 dark:ring-orange-800",
  },
  pending: {
    label: "pending",
    fill: "fill-amber-400",
    pill: "bg-amber-100 text-amber-900 ring-amber-300 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-800",
  },
  superseded: {
    label: "superseded",
    fill: "fill-zinc-400",
    pill: "bg-zinc-200 text-zinc-700 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700",
  },
};

export function outcomeStyle(o: string) {
  return (OUTCOME_STYLES as Record<string, (typeof OUTCOME_STYLES)[WakeOutcome]>)[o] ?? OUTCOME_STYLES.superseded;
}

export const KIND_LABELS: Record<AgentKind, string> = {
  gateway_main: "gateway main",
  board_lead: "board lead",
  board_worker: "board worker",
};

export const KIND_ORDER: Record<string, number> = { gateway_main: 0, board_lead: 1, board_worker: 2 };

export function isAgentKind(s: string): s is AgentKind {
  return (AGENT_KINDS as readonly string[]).includes(s);
}
