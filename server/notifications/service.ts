// Notifications tied to the lifecycle (docs/ops/README.md, Notifications), behind one facade. Evaluation listens to
// the event bus: the signals of each committed event (triggers.ts) are applied in publication order (signals.ts) to
// grouped notifications (grouping.ts) after the lifecycle's transaction, and never call a channel. Periodic
// conditions are checked on a timer (checks.ts). Messages are sent by delivery jobs with retries (delivery.ts, over
// channels.ts). The log, acknowledgements and test sends are log.ts; the enabled rules are cached (rule-cache.ts).
import type { JobResult } from "pg-boss";
import type { StoredEvent } from "../events/bus";
import { QUEUES, type DeliveryJobData } from "../queue/queues";
import { signalsOf, type Signal } from "./triggers";
import { RuleCache } from "./rule-cache";
import { applySignal } from "./signals";
import { FleetChecks } from "./checks";
import { deliver, diagnosisOf, type DeliveryJob } from "./delivery";
import { closeRuleNotifications } from "./grouping";
import { acknowledge, notificationLog, sendTest } from "./log";
import type { NotificationContext, NotificationDeps } from "./deps";

export class NotificationService {
  private readonly ctx: NotificationContext;
  private readonly rules: RuleCache;
  private readonly checks: FleetChecks;
  private readonly background = new Set<Promise<unknown>>();
  /** Signals of this process are applied in the order they were published (a gateway down, then up). */
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private working = false;

  constructor(deps: NotificationDeps) {
    this.ctx = { ...deps, clock: deps.clock ?? (() => new Date()) };
    this.rules = new RuleCache(deps.db);
    this.checks = new FleetChecks(this.ctx, this.rules);
  }

  /** Listens to events, checks periodic rules and delivers queued messages. */
  async start(): Promise<void> {
    this.unsubscribe ??= this.ctx.events.subscribe((events) => this.onEvents(events));
    if (!this.working) {
      this.working = true;
      await this.ctx.boss.work<DeliveryJobData>(
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
    this.timer ??= setInterval(() => void this.track(this.check()), this.ctx.settings.checkSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.working) {
      this.working = false;
      await this.ctx.boss.offWork(QUEUES.notify, { wait: true }).catch(() => undefined);
    }
    await this.idle();
  }

  /** Resolves when every evaluation started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** Rules changed in this process: read them again at once (other processes within a few seconds). */
  invalidateRules(): void {
    this.rules.invalidate();
  }

  private track(work: Promise<unknown>): void {
    const p = work.catch((err) => this.ctx.logger.error({ err }, "notification evaluation failed"));
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

  async apply(signal: Signal): Promise<void> {
    await applySignal(this.ctx, this.rules, signal);
  }

  /** Periodic rules, and notifications whose condition ended without an event (agents or gateways deleted). */
  async check(): Promise<void> {
    await this.checks.run();
  }

  /** The delivery job. Throws to have pg-boss retry it (with backoff) until its last attempt. */
  async deliver(job: DeliveryJob): Promise<void> {
    await deliver(this.ctx, job);
  }

  /** The agent page's Diagnose verdict, computed from the same data (lib/diagnose.ts). */
  async diagnosis(agentId: string): Promise<string | null> {
    return diagnosisOf(this.ctx, agentId);
  }

  // ---- operator actions -------------------------------------------------------------------------------------------

  /** A sample notification through one channel, or through every channel of a rule. */
  async sendTest(target: { channelId: string } | { ruleId: string }, actor: string): Promise<{ notificationId: string; deliveries: number } | null> {
    return sendTest(this.ctx, target, actor);
  }

  /** The notification log with each delivery's status, newest first; `before` pages back by opening time. */
  async log(filter: { state?: "firing" | "resolved" | "test"; before?: Date; limit?: number }) {
    return notificationLog(this.ctx, filter);
  }

  /** Says who is on a firing or resolved notification; returns what it is about. */
  async acknowledge(notificationId: string, actor: string): Promise<{ title: string; gatewayId: string | null; agentId: string | null }> {
    return acknowledge(this.ctx, notificationId, actor);
  }

  /** A deleted or disabled rule's open notifications end silently (nobody is waiting for their resolution). */
  async closeRule(ruleId: string): Promise<void> {
    await closeRuleNotifications(this.ctx, ruleId);
    this.invalidateRules();
  }
}
