// The periodic checks, on a timer in every process: the fleet-wide conditions no event announces (no queue worker
// alive, reconcile lag), and notifications whose condition ended without an event (a deleted agent or gateway).
import { QUEUES } from "../queue/queues";
import { queueGauges, workersAlive } from "../system/queue-gauges";
import { FLEET_GROUP, FLEET_ONLY_TRIGGERS, noWorkerContent, reconcileLagContent, sustained } from "./triggers";
import { gatewayIsDown, openKeyOf, openNotification, resolveNotification } from "./grouping";
import type { RuleCache } from "./rule-cache";
import type { NotificationContext } from "./deps";

export class FleetChecks {
  /** When each periodic rule's condition started to hold (this process's view). */
  private readonly holdingSince = new Map<string, number>();
  private checking = false;

  constructor(
    private readonly ctx: NotificationContext,
    private readonly rules: RuleCache,
  ) {}

  /** Periodic rules, and notifications whose condition ended without an event (agents or gateways deleted). */
  async run(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const periodic = (await this.rules.all()).filter((r) => FLEET_ONLY_TRIGGERS.includes(r.trigger));
      if (periodic.length > 0) {
        const { ctx } = this;
        const { db, boss, settings } = ctx;
        const [alive, [reconcile]] = await Promise.all([workersAlive(db, settings.queueSchema), queueGauges(boss, db, settings.queueSchema, [QUEUES.reconcile])]);
        const now = ctx.clock().getTime();
        for (const rule of periodic) {
          const threshold = rule.thresholdSeconds ?? 10;
          const holding = rule.trigger === "no_worker" ? alive === 0 : reconcile.oldestOverdueSeconds > threshold;
          const state = sustained(holding, this.holdingSince.get(rule.id) ?? null, now, rule.forSeconds ?? 0);
          if (state.since === null) this.holdingSince.delete(rule.id);
          else this.holdingSince.set(rule.id, state.since);
          if (state.fire) {
            const content = rule.trigger === "no_worker" ? noWorkerContent() : reconcileLagContent(reconcile.oldestOverdueSeconds, threshold);
            await db.$transaction((tx) =>
              openNotification(ctx, tx, rule, { groupKey: FLEET_GROUP, content, affectedAgents: 0, details: { lagSeconds: reconcile.oldestOverdueSeconds, workersAlive: alive } }),
            );
          } else if (!holding) {
            const open = await db.notification.findUnique({ where: { openKey: openKeyOf(rule.id, FLEET_GROUP) }, select: { id: true } });
            if (open) await db.$transaction((tx) => resolveNotification(ctx, tx, open.id));
          }
        }
      }
      await this.healOpenNotifications();
    } finally {
      this.checking = false;
    }
  }

  private async healOpenNotifications(): Promise<void> {
    const { db } = this.ctx;
    const open = await db.notification.findMany({
      where: { state: "firing", trigger: { in: ["agent_offline", "gateway_unreachable"] } },
      select: { id: true, trigger: true, gatewayId: true },
      take: 500,
    });
    for (const n of open) {
      if (n.trigger === "gateway_unreachable" && n.gatewayId) {
        const gatewayId = n.gatewayId;
        await db.$transaction(async (tx) => {
          if (!(await gatewayIsDown(tx, gatewayId))) await resolveNotification(this.ctx, tx, n.id);
        });
      } else if (n.trigger === "agent_offline") {
        const members = await db.notificationAgent.findMany({ where: { notificationId: n.id, recoveredAt: null }, select: { agentId: true } });
        const still = await db.agent.findMany({ where: { id: { in: members.map((m) => m.agentId) }, status: { not: "online" } }, select: { id: true } });
        const back = members.map((m) => m.agentId).filter((id) => !still.some((s) => s.id === id));
        if (back.length > 0) await this.agentsBackOrGone(n.id, back);
      }
    }
  }

  private async agentsBackOrGone(notificationId: string, agentIds: string[]): Promise<void> {
    await this.ctx.db.$transaction(async (tx) => {
      await tx.notificationAgent.updateMany({ where: { notificationId, agentId: { in: agentIds }, recoveredAt: null }, data: { recoveredAt: this.ctx.clock() } });
      const left = await tx.notificationAgent.count({ where: { notificationId, recoveredAt: null } });
      if (left === 0) await resolveNotification(this.ctx, tx, notificationId);
    });
  }
}
