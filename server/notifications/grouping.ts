// Grouped notifications (docs/ops/README.md, Notifications): one open notification per rule and group (a gateway, or
// the installation), enforced by a unique key in the database so that several processes evaluating the same failures
// still open one. Its first delivery waits NOTIFY_GROUP_SECONDS for related failures to join, so 240 agents of an
// unreachable gateway are one message. A notification resolved before its first delivery is never sent (a flap is not
// news). Each helper works inside the caller's transaction, serialized with the lifecycle by the row locks below.
import type { Tx } from "../db/prisma";
import { metrics } from "../platform/metrics";
import { agentsOfflineContent, type Content, type Trigger } from "./triggers";
import { addDeliveries, memberLines, MAX_AGENTS_IN_MESSAGE } from "./delivery";
import type { LoadedRule } from "./rule-cache";
import type { NotificationContext } from "./deps";

interface Opening {
  groupKey: string;
  content: Content;
  gatewayId?: string | null;
  boardId?: string | null;
  agentId?: string | null;
  affectedAgents: number;
  details?: Record<string, unknown>;
}

export function openKeyOf(ruleId: string, groupKey: string): string {
  return `${ruleId}:${groupKey}`;
}

/** Opens the rule's notification for the group, or returns the one already open (any process may have opened it). */
export async function openNotification(ctx: NotificationContext, tx: Tx, rule: LoadedRule, o: Opening): Promise<{ id: string; created: boolean }> {
  const openKey = openKeyOf(rule.id, o.groupKey);
  const now = ctx.clock();
  const [created] = await tx.notification.createManyAndReturn({
    data: [
      {
        ruleId: rule.id,
        ruleName: rule.name,
        trigger: rule.trigger,
        groupKey: o.groupKey,
        openKey,
        state: "firing",
        title: o.content.title,
        summary: o.content.summary,
        gatewayId: o.gatewayId ?? null,
        boardId: o.boardId ?? null,
        agentId: o.agentId ?? null,
        affectedAgents: o.affectedAgents,
        details: (o.details ?? {}) as object,
        openedAt: now,
      },
    ],
    skipDuplicates: true,
    select: { id: true },
  });
  if (!created) {
    const existing = await tx.notification.findUniqueOrThrow({ where: { openKey }, select: { id: true } });
    return { id: existing.id, created: false };
  }
  const sendAfter = new Date(now.getTime() + ctx.settings.groupSeconds * 1000);
  await addDeliveries(ctx, tx, created.id, rule.channelIds, "firing", sendAfter, rule.mutedUntil);
  metrics.notifications.inc({ trigger: rule.trigger, state: "firing" });
  ctx.logger.info({ notificationId: created.id, rule: rule.name, trigger: rule.trigger, group: o.groupKey }, "notification opened");
  return { id: created.id, created: true };
}

/**
 * Resolves an open notification: channels that were sent (or are being sent) its firing message get a resolved
 * one; a firing message not sent yet is dropped instead.
 */
export async function resolveNotification(ctx: NotificationContext, tx: Tx, notificationId: string): Promise<void> {
  const now = ctx.clock();
  const closed = await tx.notification.updateMany({ where: { id: notificationId, state: "firing" }, data: { state: "resolved", openKey: null, resolvedAt: now } });
  if (closed.count === 0) return;
  await tx.notificationDelivery.updateMany({
    where: { notificationId, kind: "firing", status: "pending", attempts: 0 },
    data: { status: "skipped", lastError: "resolved before it was sent" },
  });
  const reached = await tx.notificationDelivery.findMany({
    where: { notificationId, kind: "firing", status: { not: "skipped" }, channelId: { not: null } },
    select: { channelId: true },
  });
  const n = await tx.notification.findUniqueOrThrow({ where: { id: notificationId }, select: { trigger: true, ruleId: true, rule: { select: { mutedUntil: true } } } });
  await addDeliveries(ctx, tx, notificationId, [...new Set(reached.map((d) => d.channelId!))], "resolved", now, n.rule?.mutedUntil ?? null);
  if (n.trigger) metrics.notifications.inc({ trigger: n.trigger, state: "resolved" });
  ctx.logger.info({ notificationId }, "notification resolved");
}

/** Resolves the trigger's open notifications of a group, each in its own transaction, if `stillResolved` there. */
export async function resolveGroup(ctx: NotificationContext, trigger: Trigger, groupKey: string, stillResolved: (tx: Tx) => Promise<boolean>): Promise<void> {
  const open = await ctx.db.notification.findMany({ where: { trigger, groupKey, state: "firing" }, select: { id: true } });
  for (const n of open) {
    await ctx.db.$transaction(async (tx) => {
      if (await stillResolved(tx)) await resolveNotification(ctx, tx, n.id);
    });
  }
}

/** Closes a notification nobody has been sent yet, because a larger one now tells its story. */
export async function foldIfUnsent(ctx: NotificationContext, tx: Tx, notificationId: string, why: string): Promise<void> {
  const sent = await tx.notificationDelivery.count({ where: { notificationId, kind: "firing", OR: [{ attempts: { gt: 0 } }, { status: "delivered" }] } });
  if (sent > 0) return;
  const closed = await tx.notification.updateMany({ where: { id: notificationId, state: "firing" }, data: { state: "resolved", openKey: null, resolvedAt: ctx.clock() } });
  if (closed.count === 0) return;
  await tx.notificationDelivery.updateMany({ where: { notificationId, status: "pending" }, data: { status: "skipped", lastError: why } });
}

/** A deleted or disabled rule's open notifications end silently (nobody is waiting for their resolution). */
export async function closeRuleNotifications(ctx: NotificationContext, ruleId: string): Promise<void> {
  await ctx.db.$transaction(async (tx) => {
    const open = await tx.notification.findMany({ where: { ruleId, state: "firing" }, select: { id: true } });
    for (const n of open) {
      await tx.notification.update({ where: { id: n.id }, data: { state: "resolved", openKey: null, resolvedAt: ctx.clock() } });
      await tx.notificationDelivery.updateMany({ where: { notificationId: n.id, status: "pending" }, data: { status: "skipped", lastError: "rule deleted or disabled" } });
    }
  });
}

export async function joinAgent(tx: Tx, notificationId: string, agent: { id: string; lastProvisionError: string | null }): Promise<void> {
  await tx.notificationAgent.upsert({
    where: { notificationId_agentId: { notificationId, agentId: agent.id } },
    create: { notificationId, agentId: agent.id, error: agent.lastProvisionError },
    update: { error: agent.lastProvisionError, recoveredAt: null },
  });
}

/** Keeps an agent group's title and count current as agents join (the log shows what will be sent). */
export async function refreshAgentGroup(tx: Tx, notificationId: string, gatewayId: string): Promise<void> {
  // One after the other: queries of a transaction share its connection.
  const gateway = await tx.gateway.findUnique({ where: { id: gatewayId }, select: { name: true, status: true } });
  const members = await memberLines(tx, notificationId, MAX_AGENTS_IN_MESSAGE);
  const content = agentsOfflineContent(gateway?.name ?? "(deleted)", members.lines, gateway?.status ?? "unknown");
  await tx.notification.update({
    where: { id: notificationId },
    data: { title: content.title, summary: content.summary, affectedAgents: members.total, agentId: members.total === 1 ? members.firstId : null },
  });
}

export async function lockedAgent(tx: Tx, agentId: string): Promise<{ id: string; status: string; lastProvisionError: string | null } | null> {
  const rows = await tx.$queryRaw<{ id: string; status: string; lastProvisionError: string | null }[]>`
    SELECT id::text AS id, status::text AS status, "lastProvisionError" FROM "Agent" WHERE id = ${agentId}::uuid FOR SHARE`;
  return rows[0] ?? null;
}

export async function lockedGateway(tx: Tx, gatewayId: string): Promise<{ name: string; status: string; lastError: string | null } | null> {
  const rows = await tx.$queryRaw<{ name: string; status: string; lastError: string | null }[]>`
    SELECT name, status::text AS status, "lastError" FROM "Gateway" WHERE id = ${gatewayId}::uuid FOR SHARE`;
  return rows[0] ?? null;
}

export async function gatewayIsDown(tx: Tx, gatewayId: string): Promise<boolean> {
  const g = await lockedGateway(tx, gatewayId);
  return g !== null && (g.status === "unreachable" || g.status === "incompatible");
}
