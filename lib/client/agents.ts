// Board order and the board row of a full agent view (the router's type, so client-only).
import { KIND_ORDER } from "../status";
import { toDate } from "../time";
import { hasStaleTemplates } from "../agents";
import { clipError, type AgentRow } from "../agent-row";
import type { Agent } from "./types";

const naturalize = (s: string) => s.toLowerCase().replace(/\d+/g, (d) => d.padStart(12, "0"));
const sortKeys = new WeakMap<Agent, string>();

/**
 * Board order as one plain string (cached per agent object, so a 10k-agent list re-sorts in milliseconds after a push):
 * gateway name, gateway-level agents before boards, boards by name, the lead first, then names in natural order.
 */
function agentSortKey(a: Agent): string {
  let key = sortKeys.get(a);
  if (key === undefined) {
    key = [
      naturalize(a.gateway.name),
      a.gatewayId,
      a.boardId ? `1${naturalize(a.board?.name ?? "")}` : "0",
      a.boardId ?? "",
      String(KIND_ORDER[a.kind] ?? 9),
      naturalize(a.name),
      a.id,
    ].join("\u0000");
    sortKeys.set(a, key);
  }
  return key;
}

/** Sorts by agentSortKey. Pushes replace agents in place, so the input is nearly sorted and this is fast (~4 ms for 10k). */
export function sortAgents(list: readonly Agent[]): Agent[] {
  const keyed = list.map((a) => ({ a, k: agentSortKey(a) }));
  keyed.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));
  return keyed.map((x) => x.a);
}

/** A full agent view as a board row (the gateway page shows its agents in the board's table). */
export function rowOfAgent(a: Agent): AgentRow {
  const ms = (d: Date | string | null | undefined) => toDate(d)?.getTime() ?? null;
  return {
    id: a.id,
    name: a.name,
    kind: a.kind,
    status: a.status,
    statusReason: a.statusReason,
    gatewayId: a.gatewayId,
    boardId: a.boardId,
    wakeAttempts: a.wakeAttempts,
    maxWakeAttempts: a.maxWakeAttempts,
    lifecycleGeneration: a.lifecycleGeneration,
    checkinDeadlineAt: ms(a.checkinDeadlineAt),
    lastSeenAt: ms(a.lastSeenAt),
    lastProvisionError: clipError(a.lastProvisionError),
    templateStale: hasStaleTemplates(a),
    heartbeatsRejected: a.heartbeatsRejected,
    lastRejectedReason: a.lastRejectedReason,
    updatedAt: ms(a.updatedAt) ?? 0,
  };
}

