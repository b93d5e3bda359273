// What runs once a lifecycle step has committed (docs/lifecycle.md, Gateway work under a lease): events and metrics
// are published, the board row is pushed, and the gateway work the step asked for — provisioning, wakes, removal —
// runs in the background, a few calls at a time per gateway (gateway-limits.ts) and each under the agent's lease
// (gateway-work.ts). Work that decides again (a provisioning's wake, a failed wake) takes a new step and comes back here.
import { dbNow } from "../db/prisma";
import type { EventInput } from "../events/bus";
import type { RunOutcome } from "../drivers/types";
import type { AgentView } from "../agent-model/view";
import { recordWakeAttempts } from "../platform/metrics";
import type { LifecycleDeps } from "./deps";
import { loadAgent, loadView, loadViews } from "./agent-record";
import { CycleMovedOn, GatewayWork, WorkRegistry, type WorkScope } from "./gateway-work";
import type { GatewayLimits } from "./gateway-limits";
import { step, type PostCommitAction, type StepResult } from "./step";
import type { BatchResult } from "./reconcile";
import { provisionOnGateway } from "./provisioning";
import { wakeOnGateway } from "./wake";
import { removeAgent, type DeleteOutcome } from "./removal";

const UNSENT_FLUSH_MS = 200;

export class AfterCommit {
  private readonly background = new Set<Promise<unknown>>();
  /** Provisionings this process has queued or is running, so the sweep never queues the same cycle twice. */
  private readonly provisioningQueued = new Map<string, Promise<void>>();
  private readonly work = new WorkRegistry();
  /** Wakes not sent because their deadline passed while queued, recorded together every UNSENT_FLUSH_MS. */
  private unsentWakes: EventInput[] = [];

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly limits: GatewayLimits,
  ) {}

  /**
   * After one step committed. `awaitPostCommit`: resolve only once its gateway work is done; `inSlot`: the caller
   * already holds one of the gateway's call slots (a wake right after its provisioning).
   */
  async stepCommitted(agentId: string, result: StepResult, opts: { awaitPostCommit?: boolean; inSlot?: boolean } = {}): Promise<AgentView | null> {
    this.work.nudge(agentId);
    this.deps.events.publish(result.events);
    recordWakeAttempts(result.attempts.started, result.attempts.outcomes);
    const view = await loadView(this.deps, agentId);
    if (view) this.deps.publisher.agentUpdated(view);
    const gatewayId = result.agent?.gatewayId;
    const work = gatewayId ? result.postCommit.map((action) => this.runPostCommit(agentId, gatewayId, action, opts.inSlot ?? false)) : [];
    if (opts.awaitPostCommit) await Promise.all(work);
    else work.forEach((w) => this.track(w));
    return view;
  }

  /** After a reconcile batch committed: events, metrics, pushes and wakes, none of which the worker waits for. */
  batchCommitted(batch: BatchResult): void {
    for (const id of batch.changed) this.work.nudge(id);
    this.deps.events.publish(batch.events);
    recordWakeAttempts(batch.started, batch.outcomes);
    if (batch.changed.length > 0) this.track(this.publishViews(batch.changed));
    for (const w of batch.wakes) this.track(this.deliverWake(w.agentId, w.gatewayId, w.generation, w.attempt, w.deadlineAt));
  }

  /** Resolves when all provisioning and wake calls started so far have finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** The delete job, and the inline attempt after a delete committed (removal.ts). */
  removeAgent(agentId: string): Promise<DeleteOutcome> {
    return removeAgent(this.deps, this.limits, this.work, agentId);
  }

  /** Queues the provisioning of a cycle (a few per gateway run at a time). False when this process already has it queued. */
  scheduleProvisioning(agentId: string, generation: number, gatewayId: string): boolean {
    const key = `${agentId}:${generation}`;
    if (this.provisioningQueued.has(key)) return false;
    const run = this.limits.run(gatewayId, () => this.runProvisioning(agentId, generation)).finally(() => this.provisioningQueued.delete(key));
    this.provisioningQueued.set(key, run.catch(() => undefined));
    this.track(run);
    return true;
  }

  /** Makes sure the provisioning of cycle `generation` runs in this process, and resolves once it has been attempted. */
  async settleProvisioning(agentId: string, generation: number, gatewayId: string): Promise<void> {
    this.scheduleProvisioning(agentId, generation, gatewayId);
    await this.provisioningQueued.get(`${agentId}:${generation}`);
  }

  private async publishViews(agentIds: string[]): Promise<void> {
    for (const view of await loadViews(this.deps, agentIds)) this.deps.publisher.agentUpdated(view);
  }

  private async runPostCommit(agentId: string, gatewayId: string, action: PostCommitAction, inSlot: boolean): Promise<void> {
    switch (action.type) {
      case "provision":
        this.scheduleProvisioning(agentId, action.generation, gatewayId);
        return;
      case "send_wake":
        // Inside a slot already (right after provisioning): taking a second one could wait on itself.
        if (inSlot) return this.deliverWakeNow(agentId, action.generation, action.attempt, action.deadlineAt);
        return this.deliverWake(agentId, gatewayId, action.generation, action.attempt, action.deadlineAt);
      case "remove_agent":
        // A request does not queue behind a busy gateway's calls: the delete job (already committed) finishes it.
        if (this.limits.busy(gatewayId)) return;
        await this.removeAgent(agentId).catch((err) =>
          this.deps.logger.warn({ agentId, err: String(err) }, "could not finish deleting the agent now; its delete job will"),
        );
        return;
    }
  }

  private track(work: Promise<unknown>): void {
    const p = work.catch((err) => this.deps.logger.error({ err }, "lifecycle background work failed"));
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  private claim(scope: WorkScope, limitMs: number): Promise<GatewayWork | null> {
    return GatewayWork.claim(this.deps.db, this.work, scope, limitMs);
  }

  /** docs/lifecycle.md, step 2, then step 3 (the wake), whether provisioning worked or not: a failure still counts as an attempt. */
  private async runProvisioning(agentId: string, generation: number): Promise<void> {
    // Checked only now, with a slot: a queued provisioning whose cycle moved on does nothing.
    const work = await this.claim({ agentId, generation, statuses: ["provisioning", "updating"] }, this.deps.settings.gatewayCallTimeoutMs);
    if (!work) return;
    let result: StepResult;
    try {
      const agent = await loadAgent(this.deps.db, agentId);
      if (!agent) return;
      // A wake cycle of an already provisioned agent skips straight to the wake.
      const provisionError = agent.provisionedGeneration === generation ? undefined : await provisionOnGateway(this.deps, agent, generation, work);
      await work.ensureCurrent("provisioning");
      result = await step(this.deps, agentId, { type: "wake_due", generation, provisionError }, null);
    } catch (err) {
      if (err instanceof CycleMovedOn) return;
      throw err;
    } finally {
      await work.release();
    }
    await this.stepCommitted(agentId, result, { awaitPostCommit: true, inSlot: true });
  }

  /** Delivers wake `attempt` once one of its gateway's call slots is free. */
  private deliverWake(agentId: string, gatewayId: string, generation: number, attempt: number, deadlineAt: Date): Promise<void> {
    return this.limits.run(gatewayId, () => this.deliverWakeNow(agentId, generation, attempt, deadlineAt, gatewayId));
  }

  /**
   * Delivers wake `attempt`. Bounded by the attempt's deadline: when the deadline passes (or a newer cycle starts)
   * the work is cancelled, so it never overlaps the next attempt.
   */
  private async deliverWakeNow(agentId: string, generation: number, attempt: number, deadlineAt: Date, queuedOn?: string): Promise<void> {
    const now = await dbNow(this.deps.db);
    if (queuedOn && now >= deadlineAt) {
      // Its turn came after its deadline (the gateway's slots stayed busy): it is never sent late. The timeline says
      // so; the attempt itself expires at its reconcile like any unanswered wake. Under overload there are thousands
      // of these, so they cost one batched insert, not a lifecycle step each (docs/scaling.md).
      const busy = `the gateway's ${this.limits.concurrency} call slots were busy`;
      this.noteUnsentWake({
        agentId,
        gatewayId: queuedOn,
        generation,
        attempt,
        deadlineAt,
        event: "lifecycle.wake.failed",
        message: `Wake ${attempt} not sent before its deadline: ${busy}`,
        data: { error: `not sent before its deadline: ${busy}`, notSent: true },
      });
      return;
    }
    const limitMs = Math.max(1, deadlineAt.getTime() - now.getTime());
    const work = await this.claim({ agentId, generation, statuses: ["waking"], attempt }, limitMs);
    if (!work) return;
    let error: string;
    try {
      const agent = await loadAgent(this.deps.db, agentId);
      if (!agent) return;
      const sent = await wakeOnGateway(this.deps, agent, work, { generation, attempt, deadlineAt });
      if (!("error" in sent)) {
        // The run outcome arrives later, outside this work's lease (it writes nothing to the gateway).
        if (sent.runOutcome) this.track(this.recordRunOutcome(agentId, generation, attempt, sent.runOutcome));
        return;
      }
      error = sent.error;
    } catch (err) {
      if (err instanceof CycleMovedOn) return;
      throw err;
    } finally {
      await work.release();
    }
    const result = await step(this.deps, agentId, { type: "wake_failed", generation, attempt, error }, null);
    await this.stepCommitted(agentId, result);
  }

  private noteUnsentWake(event: EventInput): void {
    this.unsentWakes.push(event);
    if (this.unsentWakes.length > 1) return;
    this.track(
      new Promise((r) => setTimeout(r, UNSENT_FLUSH_MS)).then(async () => {
        const events = this.unsentWakes;
        this.unsentWakes = [];
        this.deps.events.publish(await this.deps.events.recordBatch(this.deps.db, events));
      }),
    );
  }

  /** The gateway's word on the woken run: a failure is the reason the agent will not check in. */
  private async recordRunOutcome(agentId: string, generation: number, attempt: number, outcome: Promise<RunOutcome>): Promise<void> {
    const result = await outcome;
    if (result.status !== "error") return;
    const failed = await step(this.deps, agentId, { type: "run_failed", generation, attempt, error: result.error }, null);
    await this.stepCommitted(agentId, failed);
  }
}
