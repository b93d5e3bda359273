// What each signal of a lifecycle event (triggers.ts) does to the grouped notifications (grouping.ts). It runs after
// the lifecycle's transaction has committed, in its own short transactions, and never calls a channel. An agent that
// goes offline while its gateway is unreachable is counted in the gateway's notification, not notified on its own.
import { gatewayGroup, gatewayDownContent, syncFailedContent, type Signal } from "./triggers";
import {
  foldIfUnsent,
  gatewayIsDown,
  joinAgent,
  lockedAgent,
  lockedGateway,
  openNotification,
  refreshAgentGroup,
  resolveGroup,
  resolveNotification,
} from "./grouping";
import type { RuleCache } from "./rule-cache";
import type { NotificationContext } from "./deps";

export async function applySignal(ctx: NotificationContext, rules: RuleCache, signal: Signal): Promise<void> {
  switch (signal.kind) {
    case "agent_offline":
      return agentOffline(ctx, rules, signal);
    case "agent_online":
      return agentsBack(ctx, [signal.agentId]);
    case "gateway_down":
      return gatewayDown(ctx, rules, signal);
    case "gateway_up":
      return resolveGroup(ctx, "gateway_unreachable", gatewayGroup(signal.gatewayId), (tx) => gatewayIsDown(tx, signal.gatewayId).then((down) => !down));
    case "sync_failed":
      return syncFailed(ctx, rules, signal);
    case "sync_succeeded":
      return resolveGroup(ctx, "template_sync_failed", gatewayGroup(signal.gatewayId), async () => true);
  }
}

async function agentOffline(ctx: NotificationContext, rules: RuleCache, signal: Extract<Signal, { kind: "agent_offline" }>): Promise<void> {
  const group = gatewayGroup(signal.gatewayId);
  const covering = await rules.covering("agent_offline", signal.gatewayId, signal.boardId);
  await ctx.db.$transaction(async (tx) => {
    // Serialized with the lifecycle's own row lock: the agent is still offline, or this signal is stale.
    const agent = await lockedAgent(tx, signal.agentId);
    if (!agent || agent.status !== "offline") return;
    const gatewayNotices = await tx.notification.findMany({ where: { trigger: "gateway_unreachable", groupKey: group, state: "firing" }, select: { id: true } });
    for (const n of gatewayNotices) await joinAgent(tx, n.id, agent);
    // While the gateway's own notification is open, its agents going offline are part of that story.
    if (gatewayNotices.length > 0 && (await gatewayIsDown(tx, signal.gatewayId))) return;
    for (const rule of covering) {
      const { id } = await openNotification(ctx, tx, rule, { groupKey: group, content: { title: "", summary: "" }, gatewayId: signal.gatewayId, affectedAgents: 0 });
      await joinAgent(tx, id, agent);
      await refreshAgentGroup(tx, id, signal.gatewayId);
    }
  });
}

/** Agents that are back (online) or gone: they leave their groups; a group with nobody left resolves. */
async function agentsBack(ctx: NotificationContext, agentIds: string[]): Promise<void> {
  const rows = await ctx.db.notificationAgent.findMany({
    where: { agentId: { in: agentIds }, recoveredAt: null, notification: { state: "firing" } },
    select: { notificationId: true, agentId: true },
  });
  for (const row of rows) {
    await ctx.db.$transaction(async (tx) => {
      const agent = await lockedAgent(tx, row.agentId);
      if (agent && agent.status !== "online") return;
      await tx.notificationAgent.updateMany({ where: { notificationId: row.notificationId, agentId: row.agentId, recoveredAt: null }, data: { recoveredAt: ctx.clock() } });
      const n = await tx.notification.findUnique({ where: { id: row.notificationId }, select: { trigger: true, state: true } });
      if (n?.trigger !== "agent_offline" || n.state !== "firing") return;
      const left = await tx.notificationAgent.count({ where: { notificationId: row.notificationId, recoveredAt: null } });
      if (left === 0) await resolveNotification(ctx, tx, row.notificationId);
    });
  }
}

async function gatewayDown(ctx: NotificationContext, rules: RuleCache, signal: Extract<Signal, { kind: "gateway_down" }>): Promise<void> {
  const covering = await rules.covering("gateway_unreachable", signal.gatewayId, null);
  if (covering.length === 0) return;
  const group = gatewayGroup(signal.gatewayId);
  await ctx.db.$transaction(async (tx) => {
    // Serialized with the probe, which locks the gateway row: it is still down, or this signal is stale.
    const gateway = await lockedGateway(tx, signal.gatewayId);
    if (!gateway || (gateway.status !== "unreachable" && gateway.status !== "incompatible")) return;
    const affected = await tx.agent.count({ where: { gatewayId: signal.gatewayId } });
    // Agents already offline on this gateway, and agent notifications not sent yet, become part of this one.
    const offline = await tx.agent.findMany({ where: { gatewayId: signal.gatewayId, status: "offline" }, select: { id: true, lastProvisionError: true }, take: 1000 });
    const pendingAgentNotices = await tx.notification.findMany({ where: { trigger: "agent_offline", groupKey: group, state: "firing" }, select: { id: true } });
    for (const rule of covering) {
      const content = gatewayDownContent(gateway.name, gateway.status, gateway.lastError, affected, []);
      const { id } = await openNotification(ctx, tx, rule, { groupKey: group, content, gatewayId: signal.gatewayId, affectedAgents: affected, details: { status: gateway.status } });
      for (const a of offline) await joinAgent(tx, id, a);
    }
    for (const n of pendingAgentNotices) await foldIfUnsent(ctx, tx, n.id, "the gateway is unreachable: counted in the gateway's notification");
  });
}

async function syncFailed(ctx: NotificationContext, rules: RuleCache, signal: Extract<Signal, { kind: "sync_failed" }>): Promise<void> {
  const covering = await rules.covering("template_sync_failed", signal.gatewayId, null);
  if (covering.length === 0) return;
  const gateway = await ctx.db.gateway.findUnique({ where: { id: signal.gatewayId }, select: { name: true } });
  if (!gateway) return;
  const content = syncFailedContent(gateway.name, signal.failed, signal.succeeded, signal.error);
  await ctx.db.$transaction(async (tx) => {
    for (const rule of covering) {
      const { id, created } = await openNotification(ctx, tx, rule, {
        groupKey: gatewayGroup(signal.gatewayId),
        content,
        gatewayId: signal.gatewayId,
        affectedAgents: signal.failed,
        details: { runId: signal.runId },
      });
      // A later failing run of the same gateway updates the open notification rather than opening another.
      if (!created) await tx.notification.update({ where: { id }, data: { title: content.title, summary: content.summary, affectedAgents: signal.failed, details: { runId: signal.runId } } });
    }
  });
}
