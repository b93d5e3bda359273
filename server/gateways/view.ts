// The gateway as operators read it. The token is write-only: a read says only whether one is set.
import type { Db, Prisma } from "../db/prisma";
import { TEMPLATE_REVISION } from "../templates/render";

/** Every gateway field an operator may read. */
export const gatewayViewSelect = {
  id: true,
  name: true,
  driver: true,
  url: true,
  workspaceRoot: true,
  allowInsecureTls: true,
  pairingRequestId: true,
  status: true,
  runtimeVersion: true,
  protocolVersion: true,
  lastContactAt: true,
  lastError: true,
  checkinDeadlineSeconds: true,
  maxWakeAttempts: true,
  templateRevision: true,
  deletingAt: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.GatewaySelect;

type Row = Prisma.GatewayGetPayload<{ select: typeof gatewayViewSelect & { tokenSecret: true } }>;

function toView({ tokenSecret, ...view }: Row, counts: { status: string; count: number }[]) {
  return {
    ...view,
    hasToken: Boolean(tokenSecret),
    currentTemplateRevision: TEMPLATE_REVISION,
    agentsByStatus: Object.fromEntries(counts.map((c) => [c.status, c.count])) as Record<string, number>,
  };
}

export type GatewayView = ReturnType<typeof toView>;

/** One gateway with its agent count per status, or null. */
export async function readGatewayView(db: Db, gatewayId: string): Promise<GatewayView | null> {
  const [row, counts] = await Promise.all([
    db.gateway.findUnique({ where: { id: gatewayId }, select: { ...gatewayViewSelect, tokenSecret: true } }),
    db.agent.groupBy({ by: ["status"], where: { gatewayId }, _count: { _all: true } }),
  ]);
  return row ? toView(row, counts.map((c) => ({ status: c.status, count: c._count._all }))) : null;
}

/** Every gateway by name, each with its agent count per status. */
export async function listGatewayViews(db: Db): Promise<GatewayView[]> {
  const [rows, counts] = await Promise.all([
    db.gateway.findMany({ select: { ...gatewayViewSelect, tokenSecret: true }, orderBy: { name: "asc" } }),
    db.agent.groupBy({ by: ["gatewayId", "status"], _count: { _all: true } }),
  ]);
  const byGateway = new Map<string, { status: string; count: number }[]>();
  for (const c of counts) {
    const list = byGateway.get(c.gatewayId) ?? [];
    list.push({ status: c.status, count: c._count._all });
    byGateway.set(c.gatewayId, list);
  }
  return rows.map((row) => toView(row, byGateway.get(row.id) ?? []));
}
