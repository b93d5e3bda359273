// Delivery (docs/ops/README.md, Notifications): one row per channel and message, queued in the transaction that
// decided it and sent by a pg-boss job (notification.deliver) with retries and exponential backoff. The job runs in
// every process, web processes included: "no queue worker alive" must still reach someone when the lifecycle worker is
// the thing that died. The message is read when it is sent, so a group's count includes everything that joined it;
// the wire format and the HTTP call are channels.ts.
import type { Job, JobWithMetadata } from "pg-boss";
import type { Db, Tx } from "../db/prisma";
import { enqueueDelivery, type DeliveryJobData } from "../queue/queues";
import { metrics } from "../platform/metrics";
import { openSecret } from "../secrets/crypto";
import { buildInfo } from "../platform/build-info";
import { diagnose, type DiagnoseAgent } from "../../lib/diagnose";
import { workersAlive } from "../system/queue-gauges";
import { send, type DeliveryKind, type NotificationMessage, type SendResult } from "./channels";
import { agentsOfflineContent, gatewayDownContent, type AgentLine, type Trigger } from "./triggers";
import type { NotificationContext } from "./deps";

/** A delivery job as pg-boss hands it over (with its retry count when fetched with metadata). */
export type DeliveryJob = Job<DeliveryJobData> & Partial<Pick<JobWithMetadata<DeliveryJobData>, "retryCount" | "retryLimit">>;

export const MAX_AGENTS_IN_MESSAGE = 50;
/** Retry delays grow exponentially from retryDelaySeconds up to this. */
const RETRY_DELAY_MAX_SECONDS = 600;

/** One delivery per channel, queued in `tx`; a muted rule's deliveries are recorded as skipped instead. */
export async function addDeliveries(
  ctx: NotificationContext,
  tx: Tx,
  notificationId: string,
  channelIds: string[],
  kind: DeliveryKind,
  sendAfter: Date,
  mutedUntil: Date | null,
): Promise<number> {
  if (channelIds.length === 0) return 0;
  const channels = await tx.notificationChannel.findMany({ where: { id: { in: channelIds } }, select: { id: true, name: true } });
  const muted = mutedUntil !== null && mutedUntil > ctx.clock();
  const rows = await tx.notificationDelivery.createManyAndReturn({
    data: channels.map((c) => ({
      notificationId,
      channelId: c.id,
      channelName: c.name,
      kind,
      sendAfter,
      ...(muted ? { status: "skipped" as const, lastError: `rule muted until ${mutedUntil!.toISOString()}` } : {}),
    })),
    select: { id: true, status: true },
  });
  for (const row of rows) if (row.status === "pending") await enqueue(ctx, tx, row.id, sendAfter);
  return rows.length;
}

async function enqueue(ctx: NotificationContext, tx: Tx, deliveryId: string, startAfter: Date): Promise<void> {
  const { settings } = ctx;
  await enqueueDelivery(ctx.boss, tx, deliveryId, {
    startAfter,
    retryLimit: settings.retryLimit,
    retryDelaySeconds: settings.retryDelaySeconds,
    retryDelayMaxSeconds: RETRY_DELAY_MAX_SECONDS,
  });
}

/** The delivery job. Throws to have pg-boss retry it (with backoff) until its last attempt. */
export async function deliver(ctx: NotificationContext, job: DeliveryJob): Promise<void> {
  const { db, settings } = ctx;
  const deliveryId = job.data.deliveryId;
  const claimed = await db.notificationDelivery.updateMany({ where: { id: deliveryId, status: "pending" }, data: { attempts: { increment: 1 } } });
  if (claimed.count === 0) return; // delivered, skipped or failed meanwhile
  const delivery = await db.notificationDelivery.findUniqueOrThrow({
    where: { id: deliveryId },
    include: { channel: true, notification: { include: { rule: { select: { id: true, name: true, trigger: true } } } } },
  });
  const { channel, notification } = delivery;
  const finish = (data: { status: "delivered" | "failed" | "skipped"; lastError?: string | null; responseStatus?: number | null }) =>
    db.notificationDelivery.update({ where: { id: deliveryId }, data: { ...data, deliveredAt: data.status === "delivered" ? ctx.clock() : undefined } });
  if (!channel || !channel.enabled) {
    await finish({ status: "skipped", lastError: channel ? "channel disabled" : "channel deleted" });
    return;
  }
  if (delivery.kind === "firing" && notification.state !== "firing") {
    await finish({ status: "skipped", lastError: "resolved before it could be delivered" });
    return;
  }
  let result: SendResult;
  try {
    const message = await messageOf(ctx, notification, delivery.id, delivery.kind);
    result = await send(
      { kind: channel.kind, url: openSecret(channel.urlSecret)!, signingSecret: openSecret(channel.signingSecretSealed) },
      message,
      { timeoutMs: settings.timeoutMs, userAgent: `mission-control/${buildInfo().version}` },
    );
  } catch (err) {
    // E.g. a secret sealed with another MC_SECRET_KEY: an attempt that failed like any other, and says why.
    result = { ok: false, status: null, error: `could not prepare the message: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300) };
  }
  if (result.ok) {
    await finish({ status: "delivered", lastError: null, responseStatus: result.status });
    metrics.notificationDeliveries.inc({ channel: channel.kind, result: "delivered" });
    return;
  }
  const last = (job.retryCount ?? 0) >= (job.retryLimit ?? settings.retryLimit);
  metrics.notificationDeliveries.inc({ channel: channel.kind, result: last ? "failed" : "retrying" });
  if (last) {
    await finish({ status: "failed", lastError: result.error, responseStatus: result.status });
    ctx.logger.warn({ deliveryId, channel: channel.name, error: result.error }, "notification delivery failed for good");
    return;
  }
  await db.notificationDelivery.update({ where: { id: deliveryId }, data: { lastError: result.error, responseStatus: result.status } });
  throw new Error(`delivery to ${channel.name} failed: ${result.error}`);
}

/** What a channel receives, read when it is sent: a group's count includes everything that joined it. */
async function messageOf(
  ctx: NotificationContext,
  n: {
    id: string;
    trigger: Trigger | null;
    title: string;
    summary: string;
    gatewayId: string | null;
    agentId: string | null;
    affectedAgents: number;
    details: unknown;
    openedAt: Date;
    resolvedAt: Date | null;
    acknowledgedAt: Date | null;
    acknowledgedBy: string | null;
    rule: { id: string; name: string; trigger: string } | null;
  },
  deliveryId: string,
  kind: DeliveryKind,
): Promise<NotificationMessage> {
  const { db } = ctx;
  const gateway = n.gatewayId ? await db.gateway.findUnique({ where: { id: n.gatewayId }, select: { id: true, name: true, status: true, lastError: true } }) : null;
  const members = await memberLines(db, n.id, MAX_AGENTS_IN_MESSAGE);
  let { title, summary } = n;
  let affected = n.affectedAgents;
  if (kind === "firing" && gateway && n.trigger === "agent_offline") {
    ({ title, summary } = agentsOfflineContent(gateway.name, members.lines, gateway.status));
    affected = members.total;
  } else if (kind === "firing" && gateway && n.trigger === "gateway_unreachable") {
    affected = await db.agent.count({ where: { gatewayId: gateway.id } });
    ({ title, summary } = gatewayDownContent(gateway.name, gateway.status === "reachable" ? "unreachable" : gateway.status, gateway.lastError, affected, members.lines));
  }
  if (kind === "firing" && (title !== n.title || summary !== n.summary || affected !== n.affectedAgents)) {
    await db.notification.update({ where: { id: n.id }, data: { title, summary, affectedAgents: affected } });
  }
  const agentId = n.agentId ?? members.firstId;
  const agent = agentId ? await db.agent.findUnique({ where: { id: agentId }, select: { id: true, name: true, lastProvisionError: true } }) : null;
  const diagnosis = kind === "firing" && agent ? await diagnosisOf(ctx, agent.id) : null;
  const base = ctx.baseUrl().replace(/\/+$/, "");
  const path = kind === "test" ? "/notifications" : n.agentId ? `/agents/${n.agentId}` : n.gatewayId ? `/gateways/${n.gatewayId}` : "/system";
  return {
    id: n.id,
    deliveryId,
    kind,
    rule: n.rule ? { id: n.rule.id, name: n.rule.name, trigger: n.rule.trigger } : null,
    title,
    summary,
    affectedAgents: affected,
    gateway: gateway ? { id: gateway.id, name: gateway.name } : null,
    agent: n.agentId && agent ? agent : null,
    agents: members.rows,
    diagnosis,
    url: `${base}${path}`,
    openedAt: n.openedAt,
    resolvedAt: n.resolvedAt,
    acknowledgedAt: n.acknowledgedAt,
    acknowledgedBy: n.acknowledgedBy,
  };
}

/** The agent page's Diagnose verdict, computed from the same data (lib/diagnose.ts). */
export async function diagnosisOf(ctx: NotificationContext, agentId: string): Promise<string | null> {
  const { db, lifecycle, settings } = ctx;
  const view = await lifecycle.view(agentId);
  if (!view) return null;
  const [attempts, gateway, events, alive] = await Promise.all([
    db.wakeAttempt.findMany({ where: { agentId }, orderBy: [{ sentAt: "desc" }], take: 20 }),
    db.gateway.findUnique({ where: { id: view.gatewayId }, select: { status: true, lastError: true, lastContactAt: true, runtimeVersion: true } }),
    db.lifecycleEvent.findMany({
      where: { agentId, event: { in: ["lifecycle.wake.sent", "lifecycle.wake.failed"] } },
      orderBy: { id: "desc" },
      take: 20,
      select: { event: true, generation: true, attempt: true, at: true, message: true },
    }),
    workersAlive(db, settings.queueSchema),
  ]);
  const agent: DiagnoseAgent = { ...view, attempts };
  const { verdict } = diagnose({ agent, health: { workersAlive: alive, queueSchema: settings.queueSchema }, gateway: gateway ?? undefined, events, now: ctx.clock().getTime() });
  return verdict.sentence;
}

/** The agents of a group still offline, with their names and errors (deleted agents are left out). */
export async function memberLines(db: Db | Tx, notificationId: string, limit: number) {
  // Sequential: `db` may be a transaction, whose queries share one connection.
  const total = await db.notificationAgent.count({ where: { notificationId, recoveredAt: null } });
  const rows = await db.notificationAgent.findMany({ where: { notificationId, recoveredAt: null }, orderBy: { addedAt: "asc" }, take: limit, select: { agentId: true, error: true } });
  const names = await db.agent.findMany({ where: { id: { in: rows.map((r) => r.agentId) } }, select: { id: true, name: true } });
  const named = rows.flatMap((r) => {
    const a = names.find((x) => x.id === r.agentId);
    return a ? [{ id: a.id, name: a.name, error: r.error }] : [];
  });
  const lines: AgentLine[] = named.map((a) => ({ name: a.name, error: a.error }));
  return { total, rows: named, lines, firstId: named[0]?.id ?? null };
}
