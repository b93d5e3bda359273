// The notification log as operators use it: what was sent and whether it arrived, acknowledgements, and test sends
// through a channel or a rule (docs/ops/README.md, Notifications).
import { ServiceError } from "../platform/service-error";
import { addDeliveries } from "./delivery";
import type { Trigger } from "./triggers";
import type { NotificationContext } from "./deps";

/** A sample notification through one channel, or through every channel of a rule. */
export async function sendTest(
  ctx: NotificationContext,
  target: { channelId: string } | { ruleId: string },
  actor: string,
): Promise<{ notificationId: string; deliveries: number } | null> {
  return ctx.db.$transaction(async (tx) => {
    let channelIds: string[];
    let rule: { id: string; name: string; trigger: Trigger } | null = null;
    if ("ruleId" in target) {
      const row = await tx.notificationRule.findUnique({ where: { id: target.ruleId }, include: { channels: { select: { channelId: true } } } });
      if (!row) return null;
      rule = row;
      channelIds = row.channels.map((c) => c.channelId);
    } else {
      const channel = await tx.notificationChannel.findUnique({ where: { id: target.channelId }, select: { id: true } });
      if (!channel) return null;
      channelIds = [channel.id];
    }
    const notification = await tx.notification.create({
      data: {
        ruleId: rule?.id ?? null,
        ruleName: rule?.name ?? "(channel test)",
        trigger: rule?.trigger ?? null,
        groupKey: "test",
        state: "test",
        title: `Test notification from Mission Control${rule ? ` (rule ${rule.name})` : ""}`,
        summary: `Sent by ${actor} to check that this channel works. Nothing is wrong.`,
      },
      select: { id: true },
    });
    // A test goes out at once, muted rule or not: the operator asked for it.
    const deliveries = await addDeliveries(ctx, tx, notification.id, channelIds, "test", ctx.clock(), null);
    return { notificationId: notification.id, deliveries };
  });
}

/** The notification log with each delivery's status, newest first; `before` pages back by opening time. */
export async function notificationLog(ctx: NotificationContext, filter: { state?: "firing" | "resolved" | "test"; before?: Date; limit?: number }) {
  const rows = await ctx.db.notification.findMany({
    where: { state: filter.state, openedAt: filter.before ? { lt: filter.before } : undefined },
    orderBy: [{ openedAt: "desc" }, { id: "desc" }],
    take: filter.limit ?? 50,
    include: {
      deliveries: {
        orderBy: { createdAt: "asc" },
        select: { id: true, channelName: true, kind: true, status: true, attempts: true, lastError: true, responseStatus: true, createdAt: true, sendAfter: true, deliveredAt: true },
      },
    },
  });
  return rows.map(({ openKey: _openKey, details, ...n }) => ({ ...n, details: (details ?? {}) as Record<string, unknown> }));
}

/** Says who is on a firing or resolved notification; returns what it is about. */
export async function acknowledge(ctx: NotificationContext, notificationId: string, actor: string): Promise<{ title: string; gatewayId: string | null; agentId: string | null }> {
  const { db } = ctx;
  const row = await db.notification.findUnique({ where: { id: notificationId }, select: { title: true, gatewayId: true, agentId: true, acknowledgedBy: true, state: true } });
  if (!row) throw ServiceError.notFound("Notification");
  if (row.state === "test") throw new ServiceError("invalid", "A test notification needs no acknowledgement");
  if (row.acknowledgedBy) throw new ServiceError("conflict", `Already acknowledged by ${row.acknowledgedBy}`);
  const updated = await db.notification.updateMany({
    where: { id: notificationId, acknowledgedAt: null, state: { not: "test" } },
    data: { acknowledgedAt: ctx.clock(), acknowledgedBy: actor },
  });
  // Someone else was quicker.
  if (updated.count === 0) throw new ServiceError("conflict", "Already acknowledged");
  return { title: row.title, gatewayId: row.gatewayId, agentId: row.agentId };
}
