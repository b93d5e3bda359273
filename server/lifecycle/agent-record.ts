// The agent as the lifecycle shell reads and writes it: the row a step loads under its lock, the policy state taken
// from it and written back, the events a decision emits, what its gateway's driver is given, and the board row
// pushed after commit.
import type { Db, Tx } from "../db/prisma";
import type { EventInput } from "../events/bus";
import { agentViewSelect, toAgentView, type AgentView } from "../agent-model/view";
import { gatewayConnectionOf, gatewayConnectionSelect } from "../drivers/connection";
import type { DriverAgent, GatewayConnection } from "../drivers/types";
import { GatewayCallError, gatewayUnreachableError } from "../drivers/types";
import type { EmitAction, LifecycleState } from "./policy";
import type { LifecycleDeps } from "./deps";

const lockedAgentSelect = {
  id: true,
  name: true,
  kind: true,
  gatewayId: true,
  boardId: true,
  sessionKey: true,
  status: true,
  statusReason: true,
  lifecycleGeneration: true,
  provisionedGeneration: true,
  wakeAttempts: true,
  lastWakeSentAt: true,
  checkinDeadlineAt: true,
  lastSeenAt: true,
  lastProvisionError: true,
  heartbeatIntervalSeconds: true,
  simulatorBehaviour: true,
  tokenHash: true,
  tokenGeneration: true,
  cycleTokenGeneration: true,
  gateway: {
    select: { ...gatewayConnectionSelect, status: true, lastError: true, checkinDeadlineSeconds: true, maxWakeAttempts: true },
  },
  board: { select: { name: true } },
} as const;

export type LockedAgent = NonNullable<Awaited<ReturnType<typeof loadAgent>>>;

/** The agent with what a step, a provisioning or a wake needs of it (its gateway's connection, its board's name). */
export function loadAgent(db: Db | Tx, agentId: string) {
  return db.agent.findUnique({ where: { id: agentId }, select: lockedAgentSelect });
}

export function driverAgent(a: LockedAgent): DriverAgent {
  return {
    id: a.id,
    name: a.name,
    kind: a.kind,
    boardId: a.boardId,
    sessionKey: a.sessionKey,
    heartbeatIntervalSeconds: a.heartbeatIntervalSeconds,
    simulatorBehaviour: a.simulatorBehaviour,
  };
}

export function gatewayConnection(a: LockedAgent): GatewayConnection {
  return gatewayConnectionOf(a.gateway);
}

/** While the last probe found the gateway unreachable, its agents' calls fail at once (server/gateways/probe.ts). */
export function failFastIfUnreachable(a: LockedAgent): void {
  if (a.gateway.status === "unreachable") throw new GatewayCallError(gatewayUnreachableError(a.gateway.lastError), "unreachable");
}

/** The policy's state of a stored agent (a loaded agent or a reconcile batch's row). */
export function toState(a: LifecycleState): LifecycleState {
  return {
    status: a.status,
    statusReason: a.statusReason,
    lifecycleGeneration: a.lifecycleGeneration,
    wakeAttempts: a.wakeAttempts,
    lastWakeSentAt: a.lastWakeSentAt,
    checkinDeadlineAt: a.checkinDeadlineAt,
    lastSeenAt: a.lastSeenAt,
    lastProvisionError: a.lastProvisionError,
    heartbeatIntervalSeconds: a.heartbeatIntervalSeconds,
    cycleTokenGeneration: a.cycleTokenGeneration,
  };
}

/** The persisted columns of a lifecycle state (the heartbeat interval is configuration, not state). */
export function stateColumns({ heartbeatIntervalSeconds: _interval, ...columns }: LifecycleState) {
  return columns;
}

export type PersistedState = ReturnType<typeof stateColumns>;

/** SQL types of the persisted state for the batched update (a new state column fails to compile until it is here). */
export const PERSISTED_STATE_TYPES = {
  status: "text",
  statusReason: "text",
  lifecycleGeneration: "int",
  wakeAttempts: "int",
  lastWakeSentAt: "timestamptz",
  checkinDeadlineAt: "timestamptz",
  lastSeenAt: "timestamptz",
  lastProvisionError: "text",
  cycleTokenGeneration: "int",
} as const satisfies Record<keyof PersistedState, string>;

export function sameState(a: LifecycleState, b: LifecycleState): boolean {
  return (Object.keys(a) as (keyof LifecycleState)[]).every((k) => {
    const x = a[k];
    const y = b[k];
    return x instanceof Date && y instanceof Date ? x.getTime() === y.getTime() : x === y;
  });
}

/** The stored event of a policy's `emit`, for the agent `ids` name, in the cycle `generation`. */
export function emittedEvent(
  action: EmitAction,
  ids: { agentId: string; gatewayId: string | null; boardId: string | null },
  generation: number | null,
  actor: string | null,
): EventInput {
  return {
    ...ids,
    event: action.event,
    message: action.message,
    generation,
    attempt: action.attempt ?? null,
    deadlineAt: action.deadlineAt ?? null,
    data: action.data,
    actor,
  };
}

/** The agent's board row, as pushed to browsers. */
export async function loadView(deps: Pick<LifecycleDeps, "db" | "settings">, agentId: string): Promise<AgentView | null> {
  const row = await deps.db.agent.findUnique({ where: { id: agentId }, select: agentViewSelect });
  return row ? toAgentView(row, deps.settings) : null;
}

/** One read for many agents' board rows, instead of one per decision. */
export async function loadViews(deps: Pick<LifecycleDeps, "db" | "settings">, agentIds: string[]): Promise<AgentView[]> {
  const rows = await deps.db.agent.findMany({ where: { id: { in: agentIds } }, select: agentViewSelect });
  return rows.map((row) => toAgentView(row, deps.settings));
}
