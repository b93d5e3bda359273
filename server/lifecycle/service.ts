// The imperative shell around the convergence policy: loads an agent under a row lock, asks the pure policy what to
// do, persists the new state together with its wake attempts, events and delayed reconcile job in ONE transaction,
// and only after commit talks to gateways and browsers.
import type { PgBoss } from "pg-boss";
import type { Db, Tx } from "../db/prisma";
import type { EventBus, EventInput, StoredEvent } from "../events/bus";
import type { Logger } from "../logger";
import type { Publisher } from "../realtime/publisher";
import type { DriverFactory } from "../drivers";
import type { DriverAgent, GatewayConnection, RunOutcome, WakeReceipt } from "../drivers/types";
import { GatewayCallError, describeGatewayError, withTimeout } from "../drivers/types";
import { gatewayUnreachableError } from "../gateways/probe";
import { recordWakeAttempts } from "../metrics";
import { enqueueReconcile, requestGatewaySettings, type ReconcileJobData } from "../../jobs/queue";
import { agentViewSelect, toAgentView, type AgentView } from "../agents/view";
import { issueAgentToken, rotateTokenColumns } from "../agents/tokens";
import { renderTemplates, TEMPLATE_REVISION } from "../templates/render";
import { gatewayConnectionOf, gatewayConnectionSelect } from "../drivers/connection";
import {
  transition,
  type LifecycleAction,
  type LifecycleInput,
  type LifecycleState,
  type PolicyConfig,
} from "./policy";

export interface LifecycleSettings {
  checkinDeadlineSeconds: number;
  maxWakeAttempts: number;
  heartbeatIntervalSeconds: number;
  tokenOverlapSeconds: number;
  /** Longest a single gateway call may take. */
  gatewayCallTimeoutMs: number;
  /** A cycle still provisioning after this long (e.g. its process died) is restarted by the sweep. */
  stuckProvisioningSeconds: number;
  /** Where agents reach Mission Control; read at provisioning time because the port may be chosen at listen. */
  baseUrl: () => string;
}

export interface LifecycleDeps {
  db: Db;
  boss: PgBoss;
  events: EventBus;
  publisher: Publisher;
  drivers: DriverFactory;
  logger: Logger;
  clock?: () => Date;
  settings: LifecycleSettings;
}

export interface CreateAgentInput {
  gatewayId: string;
  boardId?: string | null;
  name: string;
  kind: "gateway_main" | "board_lead" | "board_worker";
  simulatorBehaviour?: string | null;
  heartbeatIntervalSeconds?: number;
}

const lockedAgentSelect = {
  id: true,
  name: true,
  kind: true,
  gatewayId: true,
  boardId: true,
  sessionKey: true,
  status: true,
  statusReason: true,
  lifecycleGeneration: true,
  provisionedGeneration: true,
  wakeAttempts: true,
  lastWakeSentAt: true,
  checkinDeadlineAt: true,
  lastSeenAt: true,
  lastProvisionError: true,
  heartbeatIntervalSeconds: true,
  simulatorBehaviour: true,
  tokenHash: true,
  tokenDelivered: true,
  previousTokenHash: true,
  previousTokenExpiresAt: true,
  gateway: {
    select: { ...gatewayConnectionSelect, status: true, lastError: true, checkinDeadlineSeconds: true, maxWakeAttempts: true },
  },
  board: { select: { name: true } },
} as const;

type LockedAgent = NonNullable<Awaited<ReturnType<typeof loadAgent>>>;

function loadAgent(db: Db | Tx, agentId: string) {
  return db.agent.findUnique({ where: { id: agentId }, select: lockedAgentSelect });
}

function toState(a: LockedAgent): LifecycleState {
  return {
    status: a.status,
    statusReason: a.statusReason,
    lifecycleGeneration: a.lifecycleGeneration,
    wakeAttempts: a.wakeAttempts,
    lastWakeSentAt: a.lastWakeSentAt,
    checkinDeadlineAt: a.checkinDeadlineAt,
    lastSeenAt: a.lastSeenAt,
    lastProvisionError: a.lastProvisionError,
    heartbeatIntervalSeconds: a.heartbeatIntervalSeconds,
  };
}

/** The persisted columns of a lifecycle state (the heartbeat interval is configuration, not state). */
function stateColumns({ heartbeatIntervalSeconds: _interval, ...columns }: LifecycleState) {
  return columns;
}

function sameState(a: LifecycleState, b: LifecycleState): boolean {
  return (Object.keys(a) as (keyof LifecycleState)[]).every((k) => {
    const x = a[k];
    const y = b[k];
    return x instanceof Date && y instanceof Date ? x.getTime() === y.getTime() : x === y;
  });
}

function driverAgent(a: LockedAgent): DriverAgent {
  return {
    id: a.id,
    name: a.name,
    kind: a.kind,
    boardId: a.boardId,
    sessionKey: a.sessionKey,
    heartbeatIntervalSeconds: a.heartbeatIntervalSeconds,
    simulatorBehaviour: a.simulatorBehaviour,
  };
}

function gatewayConnection(a: LockedAgent): GatewayConnection {
  return gatewayConnectionOf(a.gateway);
}

/** While the last probe found the gateway unreachable, its agents' calls fail at once (server/gateways/probe.ts). */
function failFastIfUnreachable(a: LockedAgent): void {
  if (a.gateway.status === "unreachable") throw new GatewayCallError(gatewayUnreachableError(a.gateway.lastError), "unreachable");
}

type PostCommitAction = Extract<LifecycleAction, { type: "provision" | "send_wake" | "remove_agent" }>;

interface StepResult {
  agent: LockedAgent | null;
  state: LifecycleState | null;
  events: StoredEvent[];
  postCommit: PostCommitAction[];
  /** Wake attempts this step created and resolved (the mc_wake_attempts_* counters, counted after commit). */
  attempts: { started: number; outcomes: string[] };
}

export class LifecycleService {
  private readonly background = new Set<Promise<unknown>>();
  /** A bulk reprovision of thousands of agents provisions a few at a time, so the process stays responsive. */
  private readonly provisioningSlots = new Semaphore(16);
  private readonly clock: () => Date;

  constructor(private readonly deps: LifecycleDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  policyConfig(gateway: { checkinDeadlineSeconds: number | null; maxWakeAttempts: number | null }): PolicyConfig {
    return {
      checkinDeadlineSeconds: gateway.checkinDeadlineSeconds ?? this.deps.settings.checkinDeadlineSeconds,
      maxWakeAttempts: gateway.maxWakeAttempts ?? this.deps.settings.maxWakeAttempts,
    };
  }

  /** Creates an agent and starts its first cycle in the same transaction. */
  async createAgent(input: CreateAgentInput, actor: string): Promise<AgentView> {
    const id = crypto.randomUUID();
    const result = await this.step(id, { type: "start_cycle", isNew: true, startedBy: actor, reason: "agent created" }, actor, async (tx) => {
      await tx.agent.create({
        data: {
          id,
          name: input.name,
          kind: input.kind,
          gatewayId: input.gatewayId,
          boardId: input.boardId ?? null,
          sessionKey: `agent:${input.kind}:${id}`,
          status: "provisioning",
          heartbeatIntervalSeconds: input.heartbeatIntervalSeconds ?? this.deps.settings.heartbeatIntervalSeconds,
          simulatorBehaviour: input.simulatorBehaviour ?? null,
        },
      });
    });
    const view = await this.afterCommit(id, result);
    if (!view) throw new Error("agent vanished right after creation");
    return view;
  }

  /**
   * SPEC §1 step 1: a new cycle with fresh attempts. `provision` re-provisions (new token, current templates);
   * `wake` only wakes an agent that was provisioned before. Returns null when the agent does not exist.
   */
  async startCycle(agentId: string, actor: string, reason: string, mode: "provision" | "wake" = "provision"): Promise<AgentView | null> {
    const result = await this.step(agentId, { type: "start_cycle", isNew: false, startedBy: actor, reason }, actor, undefined, (agent, next) =>
      mode === "wake" && agent.provisionedGeneration !== null ? { provisionedGeneration: next.lifecycleGeneration } : {},
    );
    if (!result.agent) return null;
    return this.afterCommit(agentId, result);
  }

  /** A valid heartbeat (the token was checked by the caller). Routine heartbeats of online agents take a fast path. */
  async heartbeat(agentId: string): Promise<AgentView | null> {
    const now = this.clock();
    const routine = await this.deps.db.agent.updateMany({
      where: { id: agentId, status: "online" },
      data: { lastSeenAt: now, heartbeatsAccepted: { increment: 1 } },
    });
    if (routine.count === 1) {
      const view = await this.view(agentId);
      if (view) this.deps.publisher.agentUpdated(view);
      return view;
    }
    const result = await this.step(agentId, { type: "heartbeat" }, null, async (tx) => {
      await tx.agent.update({ where: { id: agentId }, data: { heartbeatsAccepted: { increment: 1 } } });
    });
    if (!result.agent) return null;
    return this.afterCommit(agentId, result);
  }

  /** The delayed reconcile job (SPEC §1 step 5). Returns the name of the decision it took. */
  async reconcile(job: ReconcileJobData): Promise<string> {
    const result = await this.step(job.agentId, { type: "reconcile", job: { generation: job.generation, attempt: job.attempt } }, null);
    // The decision is committed with its next deadline job; the wake is delivered in the background so that a slow
    // gateway never delays the decisions of other agents' jobs in the same batch.
    await this.afterCommit(job.agentId, result);
    const decision = result.events.find((e) => e.event.startsWith("lifecycle.reconcile."));
    return decision?.event ?? "none";
  }

  /** Liveness after convergence, and recovery of cycles whose provisioning never finished. */
  async sweep(): Promise<{ lost: number; restarted: number }> {
    const now = this.clock();
    const silent = await this.deps.db.$queryRaw<{ id: string }[]>`
      SELECT id FROM "Agent"
      WHERE status = 'online'
        AND "lastSeenAt" < ${now}::timestamptz - make_interval(secs => 3 * "heartbeatIntervalSeconds")
      LIMIT 1000`;
    let lost = 0;
    for (const { id } of silent) {
      const result = await this.step(id, { type: "liveness_check" }, null);
      if (result.events.some((e) => e.event === "agent.heartbeat_lost")) lost += 1;
      await this.afterCommit(id, result);
    }
    const stuckBefore = new Date(now.getTime() - this.deps.settings.stuckProvisioningSeconds * 1000);
    const stuck = await this.deps.db.agent.findMany({
      where: { status: { in: ["provisioning", "updating"] }, wakeAttempts: 0, cycleStartedAt: { lt: stuckBefore } },
      select: { id: true, lifecycleGeneration: true },
      take: 1000,
    });
    for (const a of stuck) {
      this.deps.logger.warn({ agentId: a.id, generation: a.lifecycleGeneration }, "restarting a provisioning step that never finished");
      this.track(this.runProvisioning(a.id, a.lifecycleGeneration));
    }
    return { lost, restarted: stuck.length };
  }

  async deleteAgent(agentId: string, actor: string): Promise<boolean> {
    const result = await this.step(agentId, { type: "delete" }, actor);
    if (!result.agent) return false;
    await this.afterCommit(agentId, result, { awaitPostCommit: true });
    return true;
  }

  async view(agentId: string): Promise<AgentView | null> {
    const row = await this.deps.db.agent.findUnique({ where: { id: agentId }, select: agentViewSelect });
    return row ? toAgentView(row, this.deps.settings) : null;
  }

  /** Resolves when all provisioning and wake calls started so far have finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  // ---- the transaction ------------------------------------------------------------------------------------------

  private async step(
    agentId: string,
    input: LifecycleInput,
    actor: string | null,
    before?: (tx: Tx) => Promise<void>,
    extraColumns?: (agent: LockedAgent, next: LifecycleState) => { provisionedGeneration?: number },
  ): Promise<StepResult> {
    const now = this.clock();
    return this.deps.db.$transaction(async (tx) => {
      if (before) await before(tx);
      await tx.$queryRaw`SELECT 1 FROM "Agent" WHERE id = ${agentId}::uuid FOR UPDATE`;
      const agent = await loadAgent(tx, agentId);
      const state = agent ? toState(agent) : null;
      const config = agent ? this.policyConfig(agent.gateway) : this.policyConfig({ checkinDeadlineSeconds: null, maxWakeAttempts: null });
      const result = transition(state, input, now, config);

      if (agent && result.state && state && !sameState(state, result.state)) {
        const cycleStarted = input.type === "start_cycle" && result.state.lifecycleGeneration !== state.lifecycleGeneration;
        await tx.agent.update({
          where: { id: agentId },
          data: {
            ...stateColumns(result.state),
            ...(cycleStarted ? { cycleStartedAt: now, cycleStartedBy: actor } : {}),
            ...(extraColumns ? extraColumns(agent, result.state) : {}),
          },
        });
      }

      const ids = { agentId, gatewayId: agent?.gatewayId ?? null, boardId: agent?.boardId ?? null };
      const generation = result.state?.lifecycleGeneration ?? (input.type === "reconcile" ? input.job.generation : null);
      const events: EventInput[] = [];
      const postCommit: PostCommitAction[] = [];
      const attempts = { started: 0, outcomes: [] as string[] };
      for (const action of result.actions) {
        switch (action.type) {
          case "emit":
            events.push({
              ...ids,
              event: action.event,
              message: action.message,
              generation,
              attempt: action.attempt ?? null,
              deadlineAt: action.deadlineAt ?? null,
              data: action.data,
              actor,
            });
            break;
          case "supersede_pending_attempts": {
            const superseded = await tx.wakeAttempt.updateMany({
              where: { agentId, outcome: "pending" },
              data: { outcome: "superseded", resolvedAt: now },
            });
            for (let i = 0; i < superseded.count; i++) attempts.outcomes.push("superseded");
            break;
          }
          case "insert_attempt":
            await tx.wakeAttempt.create({
              data: { agentId, generation: action.generation, attempt: action.attempt, sentAt: action.sentAt, deadlineAt: action.deadlineAt },
            });
            attempts.started += 1;
            break;
          case "record_run_error":
            await tx.wakeAttempt.updateMany({
              where: { agentId, generation: action.generation, attempt: action.attempt },
              data: { runError: action.error },
            });
            break;
          case "resolve_attempt": {
            const resolved = await tx.wakeAttempt.updateMany({
              where: { agentId, generation: action.generation, attempt: action.attempt, outcome: "pending" },
              data: {
                outcome: action.outcome,
                resolvedAt: action.at,
                error: action.error ?? null,
                checkedInAt: action.outcome === "checked_in" ? action.at : undefined,
              },
            });
            if (resolved.count > 0) attempts.outcomes.push(action.outcome);
            break;
          }
          case "schedule_reconcile":
            await enqueueReconcile(this.deps.boss, tx, { agentId, generation: action.generation, attempt: action.attempt }, action.at);
            break;
          case "provision":
          case "send_wake":
          case "remove_agent":
            postCommit.push(action);
            break;
        }
      }
      const stored = await this.deps.events.record(tx, events);
      return { agent, state: result.state, events: stored, postCommit, attempts };
    });
  }

  private async afterCommit(agentId: string, result: StepResult, opts: { awaitPostCommit?: boolean } = {}): Promise<AgentView | null> {
    this.deps.events.publish(result.events);
    recordWakeAttempts(result.attempts.started, result.attempts.outcomes);
    const view = await this.view(agentId);
    if (view) this.deps.publisher.agentUpdated(view);
    const work = result.postCommit.map((action) => this.runPostCommit(agentId, action));
    if (opts.awaitPostCommit) await Promise.all(work);
    else work.forEach((w) => this.track(w));
    return view;
  }

  private async runPostCommit(agentId: string, action: PostCommitAction): Promise<void> {
    switch (action.type) {
      case "provision":
        return this.provisioningSlots.run(() => this.runProvisioning(agentId, action.generation));
      case "send_wake":
        return this.deliverWake(agentId, action.generation, action.attempt, action.deadlineAt);
      case "remove_agent":
        return this.removeAgent(agentId);
    }
  }

  private track(work: Promise<unknown>): void {
    const p = work.catch((err) => this.deps.logger.error({ err }, "lifecycle background work failed"));
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  // ---- gateway calls (after commit) -----------------------------------------------------------------------------

  /** SPEC §1 step 2, then step 3 (the wake), whether provisioning worked or not: a failure still counts as an attempt. */
  private async runProvisioning(agentId: string, generation: number): Promise<void> {
    const agent = await loadAgent(this.deps.db, agentId);
    if (!agent || agent.lifecycleGeneration !== generation) return;
    // A wake cycle of an already provisioned agent skips straight to the wake.
    const provisionError = agent.provisionedGeneration === generation ? undefined : await this.provisionOnGateway(agent, generation);
    const result = await this.step(agentId, { type: "wake_due", generation, provisionError }, null);
    await this.afterCommit(agentId, result, { awaitPostCommit: true });
  }

  /** Returns the error text, or undefined on success. Emits provision.succeeded / provision.failed. */
  private async provisionOnGateway(agent: LockedAgent, generation: number): Promise<string | undefined> {
    const { settings } = this.deps;
    const ids = { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId, generation };
    try {
      failFastIfUnreachable(agent);
      const issued = issueAgentToken(agent.id);
      await this.deps.db.agent.update({
        where: { id: agent.id },
        data: rotateTokenColumns(agent, issued, this.clock(), settings.tokenOverlapSeconds),
      });
      const baseUrl = settings.baseUrl();
      const heartbeatUrl = `${baseUrl}/api/agent/heartbeat`;
      const files = await renderTemplates({
        agent: { id: agent.id, name: agent.name, kind: agent.kind, sessionKey: agent.sessionKey, heartbeatIntervalSeconds: agent.heartbeatIntervalSeconds },
        gateway: { name: agent.gateway.name },
        board: agent.board,
        heartbeatUrl,
        baseUrl,
      });
      const driver = this.deps.drivers(gatewayConnection(agent));
      await withTimeout(
        driver.provision({
          agent: driverAgent(agent),
          token: issued.token,
          baseUrl,
          heartbeatUrl,
          files,
          signal: AbortSignal.timeout(settings.gatewayCallTimeoutMs),
        }),
        settings.gatewayCallTimeoutMs,
        "provision",
      );
      // Gateway-side settings (OpenClaw's config) go in one batched job per gateway, never one write per agent.
      if (driver.applyAgentSettings) await requestGatewaySettings(this.deps.boss, agent.gatewayId);
      await this.deps.db.agent.updateMany({
        where: { id: agent.id, tokenHash: issued.hash },
        data: { tokenDelivered: true, provisionedGeneration: generation, templateRevision: TEMPLATE_REVISION },
      });
      await this.deps.events.emit({ ...ids, event: "lifecycle.provision.succeeded", message: `Provisioned on ${agent.gateway.name}`, data: { templateRevision: TEMPLATE_REVISION } });
      return undefined;
    } catch (err) {
      const error = describeGatewayError(err);
      await this.deps.events.emit({ ...ids, event: "lifecycle.provision.failed", message: `Provisioning failed: ${error}`, data: { error } });
      return error;
    }
  }

  private async deliverWake(agentId: string, generation: number, attempt: number, deadlineAt: Date): Promise<void> {
    const agent = await loadAgent(this.deps.db, agentId);
    if (!agent || agent.lifecycleGeneration !== generation) return;
    const config = this.policyConfig(agent.gateway);
    const ids = { agentId, gatewayId: agent.gatewayId, boardId: agent.boardId, generation, attempt, deadlineAt };
    let error: string | undefined;
    if (agent.provisionedGeneration !== generation) {
      // The provisioning of this cycle failed earlier: a retry provisions again before it wakes.
      error = await this.provisionOnGateway(agent, generation);
    }
    if (error === undefined) {
      const wake = () => {
        failFastIfUnreachable(agent);
        return withTimeout(
          this.deps.drivers(gatewayConnection(agent)).wake({
            agent: driverAgent(agent),
            attempt,
            generation,
            deadlineAt,
            message: wakeMessage(attempt, config.maxWakeAttempts, deadlineAt),
            signal: AbortSignal.timeout(this.deps.settings.gatewayCallTimeoutMs),
          }),
          this.deps.settings.gatewayCallTimeoutMs,
          "wake",
        );
      };
      try {
        let receipt: WakeReceipt | void;
        try {
          receipt = await wake();
        } catch (err) {
          // The gateway lost the agent (it restarted, or another process provisioned it): provision again, then retry.
          if (!(err instanceof GatewayCallError && err.kind === "not_found")) throw err;
          const provisionError = await this.provisionOnGateway(agent, generation);
          if (provisionError !== undefined) throw new GatewayCallError(provisionError);
          receipt = await wake();
        }
        await this.deps.events.emit({ ...ids, event: "lifecycle.wake.sent", message: `Wake ${attempt}/${config.maxWakeAttempts} sent; check-in due by ${deadlineAt.toISOString()}` });
        if (receipt?.runOutcome) this.track(this.recordRunOutcome(agentId, generation, attempt, receipt.runOutcome));
        return;
      } catch (err) {
        error = describeGatewayError(err);
      }
    }
    const result = await this.step(agentId, { type: "wake_failed", generation, attempt, error }, null);
    await this.afterCommit(agentId, result);
  }

  /** The gateway's word on the woken run: a failure is the reason the agent will not check in. */
  private async recordRunOutcome(agentId: string, generation: number, attempt: number, outcome: Promise<RunOutcome>): Promise<void> {
    const result = await outcome;
    if (result.status !== "error") return;
    const step = await this.step(agentId, { type: "run_failed", generation, attempt, error: result.error }, null);
    await this.afterCommit(agentId, step);
  }

  private async removeAgent(agentId: string): Promise<void> {
    const agent = await loadAgent(this.deps.db, agentId);
    if (!agent) return;
    try {
      await withTimeout(this.deps.drivers(gatewayConnection(agent)).deleteAgent(driverAgent(agent)), this.deps.settings.gatewayCallTimeoutMs, "delete");
    } catch (err) {
      this.deps.logger.warn({ agentId, error: describeGatewayError(err) }, "gateway could not delete the agent; removing it from Mission Control anyway");
    }
    await this.deps.db.agent.delete({ where: { id: agentId } }).catch(() => undefined);
  }
}

class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(slots: number) {
    this.free = slots;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}

export function wakeMessage(attempt: number, maxAttempts: number, deadlineAt: Date): string {
  return (
    `Mission Control wake (attempt ${attempt}/${maxAttempts}). Check in now: follow HEARTBEAT.md and call the ` +
    `heartbeat API before any other work. Deadline: ${deadlineAt.toISOString()}.`
  );
}
