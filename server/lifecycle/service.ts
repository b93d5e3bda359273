// The lifecycle shell's one entry point (docs/lifecycle.md): every change to an agent's lifecycle goes through here.
// Each method is one step in one transaction (step.ts) — the row locked, the database's clock read after the lock,
// the pure policy (policy.ts) applied with its wake attempts, events and delayed jobs — and only after commit the
// gateway calls and pushes (after-commit.ts). Reconcile jobs due together are decided as a batch (reconcile.ts);
// deletion is a job (removal.ts); the sweep repairs any agent left waiting without a job that will act (sweep.ts).
import type { Db, Tx } from "../db/prisma";
import type { DriverAgent } from "../drivers/types";
import { enqueueDelete, type ReconcileJobData } from "../queue/queues";
import type { AgentView } from "../agent-model/view";
import { promotePendingToken } from "../agent-model/token-store";
import type { HeartbeatCredential, PolicyConfig } from "./policy";
import { policyConfigOf, type LifecycleDeps } from "./deps";
import { loadView, type LockedAgent } from "./agent-record";
import { step } from "./step";
import { reconcileBatch } from "./reconcile";
import { sweep } from "./sweep";
import { deleteSafetyNetAt, type DeleteOutcome } from "./removal";
import { AfterCommit } from "./after-commit";
import { GatewayLimits } from "./gateway-limits";

export type { LifecycleDeps, LifecycleSettings } from "./deps";
export type { DeleteOutcome } from "./removal";

export interface CreateAgentInput {
  gatewayId: string;
  boardId?: string | null;
  name: string;
  kind: DriverAgent["kind"];
  simulatorBehaviour?: string | null;
  heartbeatIntervalSeconds?: number;
}

export class LifecycleService {
  /**
   * Gateway calls run a few at a time per gateway (a bulk reprovision of thousands of agents, a wave of wakes): a
   * slow gateway fills only its own slots.
   */
  readonly gatewayLimits: GatewayLimits;
  private readonly after: AfterCommit;

  /** The pool reserved for reconcile decisions (the worker records its jobs' events there too, never behind gateway work). */
  get decisionsDb(): Db {
    return this.deps.decisionsDb ?? this.deps.db;
  }

  constructor(private readonly deps: LifecycleDeps) {
    this.gatewayLimits = new GatewayLimits(deps.settings.gatewayConcurrency);
    this.after = new AfterCommit(deps, this.gatewayLimits);
  }

  policyConfig(gateway: { checkinDeadlineSeconds: number | null; maxWakeAttempts: number | null }): PolicyConfig {
    return policyConfigOf(this.deps.settings, gateway);
  }

  /**
   * Creates an agent and starts its first cycle in the same transaction; `before` adds more to that transaction (a
   * board created with its lead: both or neither).
   */
  async createAgent(input: CreateAgentInput, actor: string, before?: (tx: Tx) => Promise<void>): Promise<AgentView> {
    const id = crypto.randomUUID();
    const create = async (tx: Tx) => {
      if (before) await before(tx);
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
    };
    const result = await step(this.deps, id, { type: "start_cycle", isNew: true, startedBy: actor, reason: "agent created" }, actor, { create });
    const view = await this.after.stepCommitted(id, result);
    if (!view) throw new Error("agent vanished right after creation");
    return view;
  }

  /**
   * docs/lifecycle.md, step 1: a new cycle with fresh attempts. `provision` re-provisions (new token, current templates);
   * `wake` only wakes an agent that was provisioned before. Returns null when the agent does not exist.
   */
  async startCycle(agentId: string, actor: string, reason: string, mode: "provision" | "wake" = "provision"): Promise<AgentView | null> {
    const wakeOnly = (agent: LockedAgent | null) => mode === "wake" && agent !== null && agent.provisionedGeneration !== null && agent.tokenHash !== null;
    const result = await step(
      this.deps,
      agentId,
      (agent) => ({ type: "start_cycle", isNew: false, startedBy: actor, reason, reusesTokenOf: wakeOnly(agent) ? agent!.tokenGeneration : null }),
      actor,
      {
        within: async (tx, agent, next) => {
          if (wakeOnly(agent) && next.lifecycleGeneration !== agent.lifecycleGeneration) {
            await tx.agent.update({ where: { id: agentId }, data: { provisionedGeneration: next.lifecycleGeneration } });
          }
        },
      },
    );
    if (!result.agent) return null;
    return this.after.stepCommitted(agentId, result);
  }

  /**
   * A heartbeat whose token was accepted (`credential` says which token, `secretHash` is its hash). It is stored
   * before this returns. Routine heartbeats of online agents take a one-statement fast path.
   */
  async heartbeat(agentId: string, credential: HeartbeatCredential, secretHash?: string): Promise<AgentView | null> {
    if (credential.slot !== "pending") {
      const routine = await this.deps.db.$executeRaw`
        UPDATE "Agent" SET "lastSeenAt" = clock_timestamp(), "heartbeatsAccepted" = "heartbeatsAccepted" + 1, "updatedAt" = clock_timestamp()
         WHERE id = ${agentId}::uuid AND status = 'online'`;
      if (routine === 1) {
        const view = await this.view(agentId);
        if (view) this.deps.publisher.agentUpdated(view);
        return view;
      }
    }
    const result = await step(this.deps, agentId, { type: "heartbeat", credential }, null, {
      within: async (tx) => {
        await tx.$executeRaw`UPDATE "Agent" SET "heartbeatsAccepted" = "heartbeatsAccepted" + 1 WHERE id = ${agentId}::uuid`;
        // The pending token was used: it was delivered, whatever its provisioning call reported.
        if (credential.slot === "pending" && secretHash) await promotePendingToken(tx, agentId, secretHash, this.deps.settings.tokenOverlapSeconds);
      },
    });
    if (!result.agent) return null;
    return this.after.stepCommitted(agentId, result);
  }

  /** The delayed reconcile job (docs/lifecycle.md, step 5). Returns the name of the decision it took. */
  async reconcile(job: ReconcileJobData, db: Db = this.deps.db): Promise<string> {
    const result = await step(this.deps, job.agentId, { type: "reconcile", job: { generation: job.generation, attempt: job.attempt } }, null, {}, db);
    // The decision is committed with its next deadline job; the wake is delivered in the background so that a slow
    // gateway never delays the decisions of other agents' jobs in the same batch.
    await this.after.stepCommitted(job.agentId, result);
    const decision = result.events.find((e) => e.event.startsWith("lifecycle.reconcile."));
    return decision?.event ?? "none";
  }

  /**
   * A batch of reconcile jobs decided together (the worker's fetch) in ONE transaction on the decisions pool; what a
   * batch cannot take is decided one by one. Returns each job's decision (or the error that failed it), in order
   * (reconcile.ts, docs/scaling.md).
   */
  reconcileBatch(jobs: readonly ReconcileJobData[]): Promise<PromiseSettledResult<string>[]> {
    const db = this.decisionsDb;
    return reconcileBatch(
      this.deps,
      db,
      jobs,
      (job) => this.reconcile(job, db),
      (batch) => this.after.batchCommitted(batch),
    );
  }

  /** Periodic: liveness after convergence, and repair of any agent left waiting without something that will act (sweep.ts). */
  sweep(): Promise<{ lost: number; restarted: number; repaired: number }> {
    return sweep(this.deps, {
      checkLiveness: async (agentId) => {
        const result = await step(this.deps, agentId, { type: "liveness_check" }, null);
        await this.after.stepCommitted(agentId, result);
        return result.events.some((e) => e.event === "agent.heartbeat_lost");
      },
      resumeProvisioning: (agentId, generation, gatewayId) => this.after.scheduleProvisioning(agentId, generation, gatewayId),
    });
  }

  /**
   * Starts removing an agent (a delete job finishes it whatever happens to this process) and tries to finish at once.
   * Deleting an agent that is already being deleted tries again.
   */
  async deleteAgent(agentId: string, actor: string): Promise<DeleteOutcome> {
    const result = await step(this.deps, agentId, { type: "delete" }, actor, {
      within: async (tx, agent, _next, now) => {
        // Already deleting (a crash or a failed attempt left it so): make sure its job exists again.
        if (agent.status === "deleting") await enqueueDelete(this.deps.boss, tx, agentId, deleteSafetyNetAt(this.deps.settings, now));
      },
    });
    if (!result.agent) return "missing";
    await this.after.stepCommitted(agentId, result, { awaitPostCommit: true });
    if (!result.postCommit.some((a) => a.type === "remove_agent") && !this.gatewayLimits.busy(result.agent.gatewayId)) {
      await this.removeAgent(agentId).catch(() => undefined);
    }
    const left = await this.deps.db.agent.findUnique({ where: { id: agentId }, select: { id: true } });
    return left ? "deleting" : "deleted";
  }

  /**
   * The delete job (and the inline attempt): removes the agent from its gateway (best effort: a gateway that cannot
   * delete it is reported, and the agent leaves Mission Control anyway), then its row. Throws when the row could not
   * be deleted, so the job retries.
   */
  removeAgent(agentId: string): Promise<DeleteOutcome> {
    return this.after.removeAgent(agentId);
  }

  /**
   * Fleet operations (server/fleet/): makes sure the provisioning of cycle `generation` runs in this process and
   * resolves once it and its first wake have been attempted. A cycle that moved on, or that another process holds
   * (its lease), resolves at once.
   */
  settleProvisioning(agentId: string, generation: number, gatewayId: string): Promise<void> {
    return this.after.settleProvisioning(agentId, generation, gatewayId);
  }

  view(agentId: string): Promise<AgentView | null> {
    return loadView(this.deps, agentId);
  }

  /** Resolves when all provisioning and wake calls started so far have finished (tests, shutdown). */
  idle(): Promise<void> {
    return this.after.idle();
  }
}
