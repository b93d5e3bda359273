// The read model of an agent: every field an operator may see, and nothing secret (no token hashes).
import type { Prisma } from "../db/prisma";

export const agentViewSelect = {
  id: true,
  name: true,
  kind: true,
  gatewayId: true,
  boardId: true,
  sessionKey: true,
  status: true,
  statusReason: true,
  lastSeenAt: true,
  wakeAttempts: true,
  lastWakeSentAt: true,
  checkinDeadlineAt: true,
  lastProvisionError: true,
  lifecycleGeneration: true,
  cycleStartedAt: true,
  cycleStartedBy: true,
  heartbeatIntervalSeconds: true,
  templateRevision: true,
  simulatorBehaviour: true,
  heartbeatsAccepted: true,
  heartbeatsRejected: true,
  lastRejectedAt: true,
  lastRejectedReason: true,
  createdAt: true,
  updatedAt: true,
  gateway: { select: { name: true, driver: true, status: true, maxWakeAttempts: true, checkinDeadlineSeconds: true, templateRevision: true } },
  board: { select: { name: true } },
} satisfies Prisma.AgentSelect;

export type AgentView = Prisma.AgentGetPayload<{ select: typeof agentViewSelect }> & { maxWakeAttempts: number };

export interface PolicyDefaults {
  checkinDeadlineSeconds: number;
  maxWakeAttempts: number;
}

type AgentViewRow = Prisma.AgentGetPayload<{ select: typeof agentViewSelect }>;

export function toAgentView(row: AgentViewRow, defaults: PolicyDefaults): AgentView {
  return { ...row, maxWakeAttempts: row.gateway.maxWakeAttempts ?? defaults.maxWakeAttempts };
}
