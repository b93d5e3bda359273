// Notifications tied to the lifecycle (docs/ops/notifications.md).
//
// - Evaluation listens to the event bus: it runs after the lifecycle's transaction has committed, in its own short
//   transactions, and never calls a channel. Periodic conditions (no worker alive, reconcile lag) are checked on a
//   timer, which also resolves notifications whose condition ended without an event (a deleted agent or gateway).
// - Grouping: one open notification per rule and group (a gateway, or the installation), enforced by a unique key in
//   the database so that several processes evaluating the same failures still open one. Its first delivery waits
//   NOTIFY_GROUP_SECONDS for related failures to join, so 240 agents of an unreachable gateway are one message. An
//   agent that goes offline while its gateway is unreachable is counted in the gateway's notification, not notified
//   on its own. A notification resolved before its first delivery is never sent (a flap is not news).
// - Delivery: one row per channel and message, sent by a pg-boss job (notification.deliver) with retries and
//   exponential backoff. The job runs in every process, web processes included: "no queue worker alive" must still
//   reach someone when the lifecycle worker is the thing that died.
import type { PgBoss, Job, JobResult, JobWithMetadata } from "pg-boss";
import type { Db, Tx } from "../db/prisma";
import type { EventBus, StoredEvent } from "../events/bus";
import type { Logger } from "../platform/logger";
import type { LifecycleService } from "../lifecycle/service";
import { QUEUES, enqueueDelivery, type DeliveryJobData } from "../queue/queues";
import { metrics } from "../platform/metrics";
import { ServiceError } from "../platform/service-error";
import { openSecret } from "../secrets/crypto";
import { buildInfo } from "../platform/build-info";
import { diagnose, type DiagnoseAgent } from "../../lib/diagnose";
import { queueGauges, workersAlive } from "../system/queue-gauges";
import { send, type NotificationMessage, type SendResult } from "./channels";
import {
  FLEET_GROUP,
  FLEET_ONLY_TRIGGERS,
  agentsOfflineContent,
  gatewayDownContent,
  gatewayGroup,
  inScope,
  noWorkerContent,
  reconcileLagContent,
  signalsOf,
  sustained,
  syncFailedContent,
  type AgentLine,
  type Content,
  type Signal,
  type Trigger,
} from "./triggers";

export interface NotificationSettings {
  /** Wait before a notification's first delivery, for related failures to join it. */
  groupSeconds: number;
  retryLimit: number;
  retryDelaySeconds: number;
  timeoutMs: number;
  checkSeconds: number;
  queueSchema: string;
}

export interface NotificationDeps {
  db: Db;
  boss: PgBoss;
  events: EventBus;
  logger: Logger;
  lifecycle: LifecycleService;
  /** Where operators reach the console (links in messages). */
  baseUrl: () => string;
  settings: NotificationSettings;
  clock?: () => Date;
}

interface LoadedRule {
  id: string;
  name: string;
  trigger: Trigger;
  scope: "fleet" | "gateway" | "board";
  gatewayId: string | null;
  boardId: string | null;
  boardGatewayId: string | null;
  thresholdSeconds: number | null;
  forSeconds: number | null;
  mutedUntil: Date | null;
  channelIds: string[];
}

interface Opening {
  groupKey: string;
  content: Content;
  gatewayId?: string | null;
  boardId?: string | null;
  agentId?: string | null;
  affectedAgents: number;
  details?: Record<string, unknown>;
}


const RULE_CACHE_MS = 5_000;
const MAX_AGENTS_IN_MESSAGE = 50;
/** Retry delays grow exponentially from retryDelaySeconds up to this. */
const RETRY_DELAY_MAX_SECONDS = 600;

export class NotificationService {
  private rulesCache: { at: number; rules: LoadedRule[] } | null = null;
  private readonly background = new Set<Promise<unknown>>();
  /** Signals of this process are applied in the order they were published (a gateway down, then up). */
  private chain: Promise<void> = Promise.resolve();
  /** When each periodic rule's condition started to hold (this process's view). */
  private readonly holdingSince = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private working = false;
  private checking = false;
  private readonly clock: () => Date;

  constructor(private readonly deps: NotificationDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** Listens to events, checks periodic rules and delivers queued messages. */
  async start(): Promise<void> {
    this.unsubscribe ??= this.deps.events.subscribe((events) => this.onEvents(events));
    if (!this.working) {
      this.working = true;
      await this.deps.boss.work<DeliveryJobData>(
        QUEUES.notify,
        { pollingIntervalSeconds: 1, batchSize: 10, includeMetadata: true, perJobResults: true },
        // A failed delivery fails its own job, which pg-boss retries with backoff; the rest of the batch completes.
        async (jobs): Promise<JobResult[]> =>
          Promise.all(
            jobs.map(async (job): Promise<JobResult> => {
              try {
                await this.deliver(job);
                return { id: job.id, status: "completed" };
              } catch (err) {
                return { id: job.id, status: "failed", output: { error: err instanceof Error ? err.message : String(err) } };
              }
            }),
          ),
      );
    }
    this.timer ??= setInterval(() => void this.track(this.check()), this.deps.settings.checkSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.working) {
      this.working = false;
      await this.deps.boss.offWork(QUEUES.notify, { wait: true }).catch(() => undefined);
    }
    await this.idle();
  }

  /** Resolves when every evaluation started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** Rules changed in this process: read them again at once (other processes within RULE_CACHE_MS). */
  invalidateRules(): void {
    this.rulesCache = null;
  }

  private track(work: Promise<unknown>): void {
    const p = work.catch((err) => this.deps.logger.error({ err }, "notification evaluation failed"));
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  private onEvents(events: readonly StoredEvent[]): void {
    const signals = events.flatMap(signalsOf);
    if (signals.length === 0) return;
    const next = this.chain.then(async () => {
      for (const s of signals) await this.apply(s);
    });
    this.chain = next.catch(() => undefined);
    this.track(next);
  }

  private async rules(): Promise<LoadedRule[]> {
    const now = Date.now();
    if (this.rulesCache && now - this.rulesCache.at < RULE_CACHE_MS) return this.rulesCache.rules;
    const rows = await this.deps.db.notificationRule.findMany({
      where: { enabled: true },
      include: { channels: { where: { channel: { enabled: true } }, select: { channelId: true } }, board: { select: { gatewayId: true } } },
    });
    const rules = rows.map((r) => ({
      id: r.id,
      name: r.name,
      trigger: r.trigger,
      scope: r.scope,
      gatewayId: r.gatewayId,
      boardId: r.boardId,
      boardGatewayId: r.board?.gatewayId ?? null,
      thresholdSeconds: r.thresholdSeconds,
      forSeconds: r.forSeconds,
      mutedUntil: r.mutedUntil,
      channelIds: r.channels.map((c) => c.channelId),
    }));
    this.rulesCache = { at: now, rules };
    return rules;
  }

  private async rulesFor(trigger: Trigger, gatewayId: string, boardId: string | null): Promise<LoadedRule[]> {
    return (await this.rules()).filter((r) => r.trigger === trigger && inScope(r, gatewayId, boardId));
  }

  // ---- evaluation -------------------------------------------------------------------------------------------------

  async apply(signal: Signal): Promise<void> {
    switch (signal.kind) {
      case "agent_offline":
        return this.agentOffline(signal);
      case "agent_online":
        return this.agentsBack([signal.agentId]);
      case "gateway_down":
        return this.gatewayDown(signal);
      case "gateway_up":
        return this.resolveGroup("gateway_unreachable", gatewayGroup(signal.gatewayId), (tx) => gatewayIsDown(tx, signal.gatewayId).then((down) => !down));
      case "sync_failed":
        return this.syncFailed(signal);
      case "sync_succeeded":
        return this.resolveGroup("template_sync_failed", gatewayGroup(signal.gatewayId), async () => true);
    }
  }

  private async agentOffline(signal: Extract<Signal, { kind: "agent_offline" }>): Promise<void> {
    const group = gatewayGroup(signal.gatewayId);
    const rules = await this.rulesFor("agent_offline", signal.gatewayId, signal.boardId);
    await this.deps.db.$transaction(async (tx) => {
      // Serialized with the lifecycle's own row lock: the agent is still offline, or this signal is stale.
      const agent = await lockedAgent(tx, signal.agentId);
      if (!agent || agent.status !== "offline") return;
      const gatewayNotices = await tx.notification.findMany({ where: { trigger: "gateway_unreachable", groupKey: group, state: "firing" }, select: { id: true } });
      for (const n of gatewayNotices) await joinAgent(tx, n.id, agent);
      // While the gateway's own notification is open, its agents going offline are part of that story.
      if (gatewayNotices.length > 0 && (await gatewayIsDown(tx, signal.gatewayId))) return;
      for (const rule of rules) {
        const { id } = await this.open(tx, rule, { groupKey: group, content: { title: "", summary: "" }, gatewayId: signal.gatewayId, affectedAgents: 0 });
        await joinAgent(tx, id, agent);
        await this.refreshAgentGroup(tx, id, signal.gatewayId);
      }
    });
  }

  /** Agents that are back (online) or gone: they leave their groups; a group with nobody left resolves. */
  private async agentsBack(agentIds: string[]): Promise<void> {
    const rows = await this.deps.db.notificationAgent.findMany({
      where: { agentId: { in: agentIds }, recoveredAt: null, notification: { state: "firing" } },
      select: { notificationId: true, agentId: true },
    });
    for (const row of rows) {
      await this.deps.db.$transaction(async (tx) => {
        const agent = await lockedAgent(tx, row.agentId);
        if (agent && agent.status !== "online") return;
        await tx.notificationAgent.updateMany({ where: { notificationId: row.notificationId, agentId: row.agentId, recoveredAt: null }, data: { recoveredAt: this.clock() } });
        const n = await tx.notification.findUnique({ where: { id: row.notificationId }, select: { trigger: true, state: true } });
        if (n?.trigger !== "agent_offline" || n.state !== "firing") return;
        const left = await tx.notificationAgent.count({ where: { notificationId: row.notificationId, recoveredAt: null } });
        if (left === 0) await this.resolve(tx, row.notificationId);
      });
    }
  }

  private async gatewayDown(signal: Extract<Signal, { kind: "gateway_down" }>): Promise<void> {
    const rules = await this.rulesFor("gateway_unreachable", signal.gatewayId, null);
    if (rules.length === 0) return;
    const group = gatewayGroup(signal.gatewayId);
    await this.deps.db.$transaction(async (tx) => {
      // Serialized with the probe, which locks the gateway row: it is still down, or this signal is stale.
      const gateway = await lockedGateway(tx, signal.gatewayId);
      if (!gateway || (gateway.status !== "unreachable" && gateway.status !== "incompatible")) return;
      const affected = await tx.agent.count({ where: { gatewayId: signal.gatewayId } });
      // Agents already offline on this gateway, and agent notifications not sent yet, become part of this one.
      const offline = await tx.agent.findMany({ where: { gatewayId: signal.gatewayId, status: "offline" }, select: { id: true, lastProvisionError: true }, take: 1000 });
      const pendingAgentNotices = await tx.notification.findMany({ where: { trigger: "agent_offline", groupKey: group, state: "firing" }, select: { id: true } });
      for (const rule of rules) {
        const content = gatewayDownContent(gateway.name, gateway.status, gateway.lastError, affected, []);
        const { id } = await this.open(tx, rule, { groupKey: group, content, gatewayId: signal.gatewayId, affectedAgents: affected, details: { status: gateway.status } });
        for (const a of offline) await joinAgent(tx, id, a);
      }
      for (const n of pendingAgentNotices) await this.foldIfUnsent(tx, n.id, "the gateway is unreachable: counted in the gateway's notification");
    });
  }

  private async syncFailed(signal: Extract<Signal, { kind: "sync_failed" }>): Promise<void> {
    const rules = await this.rulesFor("template_sync_failed", signal.gatewayId, null);
    if (rules.length === 0) return;
    const gateway = await this.deps.db.gateway.findUnique({ where: { id: signal.gatewayId }, select: { name: true } });
    if (!gateway) return;
    const content = syncFailedContent(gateway.name, signal.failed, signal.succeeded, signal.error);
    await this.deps.db.$transaction(async (tx) => {
      for (const rule of rules) {
        const { id, created } = await this.open(tx, rule, {
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

  /** Periodic rules, and notifications whose condition ended without an event (agents or gateways deleted). */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const periodic = (await this.rules()).filter((r) => FLEET_ONLY_TRIGGERS.includes(r.trigger));
      if (periodic.length > 0) {
        const { db, boss, settings } = this.deps;
        const [alive, [reconcile]] = await Promise.all([workersAlive(db, settings.queueSchema), queueGauges(boss, db, settings.queueSchema, [QUEUES.reconcile])]);
        const now = this.clock().getTime();
        for (const rule of periodic) {
          const threshold = rule.thresholdSeconds ?? 10;
          const holding = rule.trigger === "no_worker" ? alive === 0 : reconcile.oldestOverdueSeconds > threshold;
          const state = sustained(holding, this.holdingSince.get(rule.id) ?? null, now, rule.forSeconds ?? 0);
          if (state.since === null) this.holdingSince.delete(rule.id);
          else this.holdingSince.set(rule.id, state.since);
          if (state.fire) {
            const content = rule.trigger === "no_worker" ? noWorkerContent() : reconcileLagContent(reconcile.oldestOverdueSeconds, threshold);
            await db.$transaction((tx) => this.open(tx, rule, { groupKey: FLEET_GROUP, content, affectedAgents: 0, details: { lagSeconds: reconcile.oldestOverdueSeconds, workersAlive: alive } }));
          } else if (!holding) {
            const open = await db.notification.findUnique({ where: { openKey: openKeyOf(rule.id, FLEET_GROUP) }, select: { id: true } });
            if (open) await db.$transaction((tx) => this.resolve(tx, open.id));
          }
        }
      }
      await this.healOpenNotifications();
    } finally {
      this.checking = false;
    }
  }

  private async healOpenNotifications(): Promise<void> {
    const { db } = this.deps;
    const open = await db.notification.findMany({
      where: { state: "firing", trigger: { in: ["agent_offline", "gateway_unreachable"] } },
      select: { id: true, trigger: true, gatewayId: true },
      take: 500,
    });
    for (const n of open) {
      if (n.trigger === "gateway_unreachable" && n.gatewayId) {
        const gatewayId = n.gatewayId;
        await db.$transaction(async (tx) => {
          if (!(await gatewayIsDown(tx, gatewayId))) await this.resolve(tx, n.id);
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
    await this.deps.db.$transaction(async (tx) => {
      await tx.notificationAgent.updateMany({ where: { notificationId, agentId: { in: agentIds }, recoveredAt: null }, data: { recoveredAt: this.clock() } });
      const left = await tx.notificationAgent.count({ where: { notificationId, recoveredAt: null } });
      if (left === 0) await this.resolve(tx, notificationId);
    });
  }

  // ---- opening, resolving, delivering -----------------------------------------------------------------------------

  /** Opens the rule's notification for the group, or returns the one already open (any process may have opened it). */
  private async open(tx: Tx, rule: LoadedRule, o: Opening): Promise<{ id: string; created: boolean }> {
    const openKey = openKeyOf(rule.id, o.groupKey);
    const now = this.clock();
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
    const sendAfter = new Date(now.getTime() + this.deps.settings.groupSeconds * 1000);
    await this.addDeliveries(tx, created.id, rule.channelIds, "firing", sendAfter, rule.mutedUntil);
    metrics.notifications.inc({ trigger: rule.trigger, state: "firing" });
    this.deps.logger.info({ notificationId: created.id, rule: rule.name, trigger: rule.trigger, group: o.groupKey }, "notification opened");
    return { id: created.id, created: true };
  }

  private async addDeliveries(tx: Tx, notificationId: string, channelIds: string[], kind: "firing" | "resolved" | "test", sendAfter: Date, mutedUntil: Date | null): Promise<number> {
    if (channelIds.length === 0) return 0;
    const channels = await tx.notificationChannel.findMany({ where: { id: { in: channelIds } }, select: { id: true, name: true } });
    const muted = mutedUntil !== null && mutedUntil > this.clock();
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
    for (const row of rows) if (row.status === "pending") await this.enqueue(tx, row.id, sendAfter);
    return rows.length;
  }

  private async enqueue(tx: Tx, deliveryId: string, startAfter: Date): Promise<void> {
    const { settings } = this.deps;
    await enqueueDelivery(this.deps.boss, tx, deliveryId, {
      startAfter,
      retryLimit: settings.retryLimit,
      retryDelaySeconds: settings.retryDelaySeconds,
      retryDelayMaxSeconds: RETRY_DELAY_MAX_SECONDS,
    });
  }

  /**
   * Resolves an open notification: channels that were sent (or are being sent) its firing message get a resolved
   * one; a firing message not sent yet is dropped instead.
   */
  private async resolve(tx: Tx, notificationId: string): Promise<void> {
    const now = this.clock();
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
    await this.addDeliveries(tx, notificationId, [...new Set(reached.map((d) => d.channelId!))], "resolved", now, n.rule?.mutedUntil ?? null);
    if (n.trigger) metrics.notifications.inc({ trigger: n.trigger, state: "resolved" });
    this.deps.logger.info({ notificationId }, "notification resolved");
  }

  /** Closes a notification nobody has been sent yet, because a larger one now tells its story. */
  private async foldIfUnsent(tx: Tx, notificationId: string, why: string): Promise<void> {
    const sent = await tx.notificationDelivery.count({ where: { notificationId, kind: "firing", OR: [{ attempts: { gt: 0 } }, { status: "delivered" }] } });
    if (sent > 0) return;
    const closed = await tx.notification.updateMany({ where: { id: notificationId, state: "firing" }, data: { state: "resolved", openKey: null, resolvedAt: this.clock() } });
    if (closed.count === 0) return;
    await tx.notificationDelivery.updateMany({ where: { notificationId, status: "pending" }, data: { status: "skipped", lastError: why } });
  }

  private async resolveGroup(trigger: Trigger, groupKey: string, stillResolved: (tx: Tx) => Promise<boolean>): Promise<void> {
    const open = await this.deps.db.notification.findMany({ where: { trigger, groupKey, state: "firing" }, select: { id: true } });
    for (const n of open) {
      await this.deps.db.$transaction(async (tx) => {
        if (await stillResolved(tx)) await this.resolve(tx, n.id);
      });
    }
  }

  /** Keeps an agent group's title and count current as agents join (the log shows what will be sent). */
  private async refreshAgentGroup(tx: Tx, notificationId: string, gatewayId: string): Promise<void> {
    // One after the other: queries of a transaction share its connection.
    const gateway = await tx.gateway.findUnique({ where: { id: gatewayId }, select: { name: true, status: true } });
    const members = await memberLines(tx, notificationId, MAX_AGENTS_IN_MESSAGE);
    const content = agentsOfflineContent(gateway?.name ?? "(deleted)", members.lines, gateway?.status ?? "unknown");
    await tx.notification.update({
      where: { id: notificationId },
      data: { title: content.title, summary: content.summary, affectedAgents: members.total, agentId: members.total === 1 ? members.firstId : null },
    });
  }

  /** The delivery job. Throws to have pg-boss retry it (with backoff) until its last attempt. */
  async deliver(job: Job<DeliveryJobData> & Partial<Pick<JobWithMetadata<DeliveryJobData>, "retryCount" | "retryLimit">>): Promise<void> {
    const { db, settings } = this.deps;
    const deliveryId = job.data.deliveryId;
    const claimed = await db.notificationDelivery.updateMany({ where: { id: deliveryId, status: "pending" }, data: { attempts: { increment: 1 } } });
    if (claimed.count === 0) return; // delivered, skipped or failed meanwhile
    const delivery = await db.notificationDelivery.findUniqueOrThrow({
      where: { id: deliveryId },
      include: { channel: true, notification: { include: { rule: { select: { id: true, name: true, trigger: true } } } } },
    });
    const { channel, notification } = delivery;
    const finish = (data: { status: "delivered" | "failed" | "skipped"; lastError?: string | null; responseStatus?: number | null }) =>
      db.notificationDelivery.update({ where: { id: deliveryId }, data: { ...data, deliveredAt: data.status === "delivered" ? this.clock() : undefined } });
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
      const message = await this.message(notification, delivery.id, delivery.kind);
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
      this.deps.logger.warn({ deliveryId, channel: channel.name, error: result.error }, "notification delivery failed for good");
      return;
    }
    await db.notificationDelivery.update({ where: { id: deliveryId }, data: { lastError: result.error, responseStatus: result.status } });
    throw new Error(`delivery to ${channel.name} failed: ${result.error}`);
  }

  /** What a channel receives, read when it is sent: a group's count includes everything that joined it. */
  private async message(
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
    kind: "firing" | "resolved" | "test",
  ): Promise<NotificationMessage> {
    const { db } = this.deps;
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
    const diagnosis = kind === "firing" && agent ? await this.diagnosis(agent.id) : null;
    const base = this.deps.baseUrl().replace(/\/+$/, "");
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
  async diagnosis(agentId: string): Promise<string | null> {
    const { db, lifecycle, settings } = this.deps;
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
    const { verdict } = diagnose({ agent, health: { workersAlive: alive, queueSchema: settings.queueSchema }, gateway: gateway ?? undefined, events, now: this.clock().getTime() });
    return verdict.sentence;
  }

  // ---- operator actions -------------------------------------------------------------------------------------------

  /** A sample notification through one channel, or through every channel of a rule. */
  async sendTest(target: { channelId: string } | { ruleId: string }, actor: string): Promise<{ notificationId: string; deliveries: number } | null> {
    return this.deps.db.$transaction(async (tx) => {
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
      const deliveries = await this.addDeliveries(tx, notification.id, channelIds, "test", this.clock(), null);
      return { notificationId: notification.id, deliveries };
    });
  }

  /** The notification log with each delivery's status, newest first; `before` pages back by opening time. */
  async log(filter: { state?: "firing" | "resolved" | "test"; before?: Date; limit?: number }) {
    const rows = await this.deps.db.notification.findMany({
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
  async acknowledge(notificationId: string, actor: string): Promise<{ title: string; gatewayId: string | null; agentId: string | null }> {
    const { db } = this.deps;
    const row = await db.notification.findUnique({ where: { id: notificationId }, select: { title: true, gatewayId: true, agentId: true, acknowledgedBy: true, state: true } });
    if (!row) throw ServiceError.notFound("Notification");
    if (row.state === "test") throw new ServiceError("invalid", "A test notification needs no acknowledgement");
    if (row.acknowledgedBy) throw new ServiceError("conflict", `Already acknowledged by ${row.acknowledgedBy}`);
    const updated = await db.notification.updateMany({
      where: { id: notificationId, acknowledgedAt: null, state: { not: "test" } },
      data: { acknowledgedAt: this.clock(), acknowledgedBy: actor },
    });
    // Someone else was quicker.
    if (updated.count === 0) throw new ServiceError("conflict", "Already acknowledged");
    return { title: row.title, gatewayId: row.gatewayId, agentId: row.agentId };
  }

  /** A deleted or disabled rule's open notifications end silently (nobody is waiting for their resolution). */
  async closeRule(ruleId: string): Promise<void> {
    await this.deps.db.$transaction(async (tx) => {
      const open = await tx.notification.findMany({ where: { ruleId, state: "firing" }, select: { id: true } });
      for (const n of open) {
        await tx.notification.update({ where: { id: n.id }, data: { state: "resolved", openKey: null, resolvedAt: this.clock() } });
        await tx.notificationDelivery.updateMany({ where: { notificationId: n.id, status: "pending" }, data: { status: "skipped", lastError: "rule deleted or disabled" } });
      }
    });
    this.invalidateRules();
  }
}

function openKeyOf(ruleId: string, groupKey: string): string {
  return `${ruleId}:${groupKey}`;
}

async function lockedAgent(tx: Tx, agentId: string): Promise<{ id: string; status: string; lastProvisionError: string | null } | null> {
  const rows = await tx.$queryRaw<{ id: string; status: string; lastProvisionError: string | null }[]>`
    SELECT id::text AS id, status::text AS status, "lastProvisionError" FROM "Agent" WHERE id = ${agentId}::uuid FOR SHARE`;
  return rows[0] ?? null;
}

async function lockedGateway(tx: Tx, gatewayId: string): Promise<{ name: string; status: string; lastError: string | null } | null> {
  const rows = await tx.$queryRaw<{ name: string; status: string; lastError: string | null }[]>`
    SELECT name, status::text AS status, "lastError" FROM "Gateway" WHERE id = ${gatewayId}::uuid FOR SHARE`;
  return rows[0] ?? null;
}

async function gatewayIsDown(tx: Tx, gatewayId: string): Promise<boolean> {
  const g = await lockedGateway(tx, gatewayId);
  return g !== null && (g.status === "unreachable" || g.status === "incompatible");
}

async function joinAgent(tx: Tx, notificationId: string, agent: { id: string; lastProvisionError: string | null }): Promise<void> {
  await tx.notificationAgent.upsert({
    where: { notificationId_agentId: { notificationId, agentId: agent.id } },
    create: { notificationId, agentId: agent.id, error: agent.lastProvisionError },
    update: { error: agent.lastProvisionError, recoveredAt: null },
  });
}

/** The agents of a group still offline, with their names and errors (deleted agents are left out). */
async function memberLines(db: Db | Tx, notificationId: string, limit: number) {
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
