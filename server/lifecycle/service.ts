// The imperative shell around the convergence policy: loads an agent under a row lock, asks the pure policy what to
// do, persists the new state together with its wake attempts, events and delayed jobs in ONE transaction, and only
// after commit talks to gateways and browsers. Every time a decision compares is the database's clock, read inside
// that transaction after the lock; every gateway call runs under the agent's lease (gateway-work.ts); deletion is a
// job; the sweep repairs any agent left waiting without a job that will act (docs/lifecycle.md).
import { fromPrisma, type PgBoss } from "pg-boss";
import type { Db, Tx } from "../db/prisma";
import type { EventBus, EventInput, StoredEvent } from "../events/bus";
import type { Logger } from "../platform/logger";
import type { Publisher } from "../events/publisher";
import type { DriverFactory } from "../drivers";
import type { DriverAgent, GatewayConnection, RunOutcome, WakeReceipt } from "../drivers/types";
import { GatewayCallError, describeGatewayError, gatewayUnreachableError } from "../drivers/types";
import { recordWakeAttempts } from "../platform/metrics";
import { enqueueDelete, enqueueReconcile, QUEUES, requestGatewaySettings, type ReconcileJobData } from "../queue/queues";
import { agentViewSelect, toAgentView, type AgentView } from "../agent-model/view";
import { issueAgentToken } from "../agent-model/tokens";
import { promotePendingToken } from "../agent-model/token-store";
import { heartbeatUrlOf, renderTemplates, TEMPLATE_REVISION } from "../templates/render";
import { gatewayConnectionOf, gatewayConnectionSelect } from "../drivers/connection";
import {
  transition,
  type HeartbeatCredential,
  type AgentStatus,
  type LifecycleAction,
  type LifecycleInput,
  type LifecycleState,
  type PolicyConfig,
} from "./policy";
import { normaliseBaseUrl } from "../platform/config";
import { CycleMovedOn, GatewayWork, WorkRegistry, type WorkScope } from "./gateway-work";
import { GatewayLimits } from "./gateway-limits";
import { lockAgentRow } from "./lock";

export interface LifecycleSettings {
  checkinDeadlineSeconds: number;
  maxWakeAttempts: number;
  heartbeatIntervalSeconds: number;
  tokenOverlapSeconds: number;
  /** Longest a single gateway call may take; also the outer limit of one provisioning. */
  gatewayCallTimeoutMs: number;
  /** Gateway calls (provisioning, wakes, deletes) this process runs at once per gateway (gateway-limits.ts). */
  gatewayConcurrency: number;
  /** A cycle still provisioning this long after it started, with no work holding its lease, is resumed by the sweep. */
  stuckProvisioningSeconds: number;
  /** A waking agent this long past its deadline without a job that will act is repaired by the sweep. */
  repairAfterSeconds: number;
  /**
   * A reconcile or delete job still running after this long was taken by a worker that died (these jobs take
   * milliseconds; pg-boss would give it back only at its expiry): the sweep acts as if it were gone.
   */
  abandonedJobSeconds: number;
  /** The pg-boss schema (the sweep looks for an agent's due jobs there). */
  queueSchema: string;
  /** Where agents reach Mission Control; read at provisioning time because the port may be chosen at listen. */
  baseUrl: () => string;
}

export interface LifecycleDeps {
  db: Db;
  /**
   * A pool reserved for reconcile decisions, one connection per batch the worker decides at once: a decision never
   * queues for a connection behind gateway work or requests (docs/scaling.md). Defaults to `db`.
   */
  decisionsDb?: Db;
  boss: PgBoss;
  events: EventBus;
  publisher: Publisher;
  drivers: DriverFactory;
  logger: Logger;
  settings: LifecycleSettings;
}

export interface CreateAgentInput {
  gatewayId: string;
  boardId?: string | null;
  name: string;
  kind: DriverAgent["kind"];
  simulatorBehaviour?: string | null;
  heartbeatIntervalSeconds?: number;
}

export type DeleteOutcome = "deleted" | "deleting" | "missing";

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
  tokenGeneration: true,
  cycleTokenGeneration: true,
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
    cycleTokenGeneration: a.cycleTokenGeneration,
  };
}

/** The persisted columns of a lifecycle state (the heartbeat interval is configuration, not state). */
function stateColumns({ heartbeatIntervalSeconds: _interval, ...columns }: LifecycleState) {
  return columns;
}

type PersistedState = ReturnType<typeof stateColumns>;

/** SQL types of the persisted state for the batched update (a new state column fails to compile until it is here). */
const PERSISTED_STATE_TYPES = {
  status: "text",
  statusReason: "text",
  lifecycleGeneration: "int",
  wakeAttempts: "int",
  lastWakeSentAt: "timestamptz",
  checkinDeadlineAt: "timestamptz",
  lastSeenAt: "timestamptz",
  lastProvisionError: "text",
  cycleTokenGeneration: "int",
} as const satisfies Record<keyof PersistedState, string>;

/** What a reconcile batch reads of each agent it locks (the policy's state and the gateway's overrides). */
interface BatchAgentRow {
  id: string;
  gatewayId: string;
  boardId: string | null;
  status: AgentStatus;
  statusReason: string | null;
  lifecycleGeneration: number;
  wakeAttempts: number;
  lastWakeSentAt: Date | null;
  checkinDeadlineAt: Date | null;
  lastSeenAt: Date | null;
  lastProvisionError: string | null;
  heartbeatIntervalSeconds: number;
  cycleTokenGeneration: number | null;
  checkinDeadlineSeconds: number | null;
  maxWakeAttempts: number | null;
}

const UNSENT_FLUSH_MS = 200;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface BatchResult {
  /** Decision per agent the batch locked and decided. */
  decisions: Map<string, string>;
  events: StoredEvent[];
  /** Agents whose state changed. */
  changed: string[];
  wakes: { agentId: string; gatewayId: string; generation: number; attempt: number; deadlineAt: Date }[];
  started: number;
  outcomes: string[];
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

interface StepHooks {
  /** Runs before the row lock (e.g. creates the row). */
  create?: (tx: Tx) => Promise<void>;
  /** Runs under the row lock after the policy decided, in the same transaction (`now` is the database's). */
  within?: (tx: Tx, agent: LockedAgent, next: LifecycleState, now: Date) => Promise<void>;
}

export class LifecycleService {
  private readonly background = new Set<Promise<unknown>>();
  /**
   * Gateway calls run a few at a time per gateway (a bulk reprovision of thousands of agents, a wave of wakes): a
   * slow gateway fills only its own slots.
   */
  readonly gatewayLimits: GatewayLimits;
  /** Provisionings this process has queued or is running, so the sweep never queues the same cycle twice. */
  private readonly provisioningQueued = new Map<string, Promise<void>>();
  private readonly work = new WorkRegistry();

  /** The pool reserved for reconcile decisions (the worker records its jobs' events there too, never behind gateway work). */
  get decisionsDb(): Db {
    return this.deps.decisionsDb ?? this.deps.db;
  }

  constructor(private readonly deps: LifecycleDeps) {
    this.gatewayLimits = new GatewayLimits(deps.settings.gatewayConcurrency);
  }

  policyConfig(gateway: { checkinDeadlineSeconds: number | null; maxWakeAttempts: number | null }): PolicyConfig {
    return {
      checkinDeadlineSeconds: gateway.checkinDeadlineSeconds ?? this.deps.settings.checkinDeadlineSeconds,
      maxWakeAttempts: gateway.maxWakeAttempts ?? this.deps.settings.maxWakeAttempts,
    };
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
    const result = await this.step(id, { type: "start_cycle", isNew: true, startedBy: actor, reason: "agent created" }, actor, { create });
    const view = await this.afterCommit(id, result);
    if (!view) throw new Error("agent vanished right after creation");
    return view;
  }

  /**
   * docs/lifecycle.md, step 1: a new cycle with fresh attempts. `provision` re-provisions (new token, current templates);
   * `wake` only wakes an agent that was provisioned before. Returns null when the agent does not exist.
   */
  async startCycle(agentId: string, actor: string, reason: string, mode: "provision" | "wake" = "provision"): Promise<AgentView | null> {
    const wakeOnly = (agent: LockedAgent | null) => mode === "wake" && agent !== null && agent.provisionedGeneration !== null && agent.tokenHash !== null;
    const result = await this.step(
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
    return this.afterCommit(agentId, result);
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
    const result = await this.step(agentId, { type: "heartbeat", credential }, null, {
      within: async (tx) => {
        await tx.$executeRaw`UPDATE "Agent" SET "heartbeatsAccepted" = "heartbeatsAccepted" + 1 WHERE id = ${agentId}::uuid`;
        // The pending token was used: it was delivered, whatever its provisioning call reported.
        if (credential.slot === "pending" && secretHash) await promotePendingToken(tx, agentId, secretHash, this.deps.settings.tokenOverlapSeconds);
      },
    });
    if (!result.agent) return null;
    return this.afterCommit(agentId, result);
  }

  /** The delayed reconcile job (docs/lifecycle.md, step 5). Returns the name of the decision it took. */
  async reconcile(job: ReconcileJobData, db: Db = this.deps.db): Promise<string> {
    const result = await this.step(job.agentId, { type: "reconcile", job: { generation: job.generation, attempt: job.attempt } }, null, {}, db);
    // The decision is committed with its next deadline job; the wake is delivered in the background so that a slow
    // gateway never delays the decisions of other agents' jobs in the same batch.
    await this.afterCommit(job.agentId, result);
    const decision = result.events.find((e) => e.event.startsWith("lifecycle.reconcile."));
    return decision?.event ?? "none";
  }

  /**
   * A batch of reconcile jobs decided together (the worker's fetch): ONE transaction on the decisions pool locks the
   * batch's agents (SKIP LOCKED), reads the database's time after the locks, runs the pure policy per agent and writes
   * the new states, attempts, next deadline jobs and events with one statement each. Gateway calls and pushes happen
   * after commit, in the background: a decision never waits for gateway I/O. Jobs of agents another transaction holds,
   * a second job of the same agent, and missing agents are decided one by one afterwards, as before.
   * Returns each job's decision (or the error that failed it), in order (docs/scaling.md).
   */
  async reconcileBatch(jobs: readonly ReconcileJobData[]): Promise<PromiseSettledResult<string>[]> {
    const db = this.decisionsDb;
    const decisions: PromiseSettledResult<string>[] = jobs.map(() => ({ status: "fulfilled", value: "none" }));
    const firstOf = new Map<string, number>();
    const oneByOne: number[] = [];
    jobs.forEach((job, i) => {
      if (firstOf.has(job.agentId) || !UUID.test(job.agentId)) oneByOne.push(i);
      else firstOf.set(job.agentId, i);
    });
    if (firstOf.size > 0) {
      let applied: BatchResult | null = null;
      try {
        applied = await db.$transaction((tx) => this.decideBatch(tx, jobs, firstOf));
      } catch (err) {
        // Whatever failed the batch fails only its own job below (a decision is idempotent; nothing was committed).
        this.deps.logger.warn({ err: String(err), jobs: firstOf.size }, "reconcile batch failed; deciding its jobs one by one");
      }
      for (const [agentId, i] of firstOf) {
        const decision = applied?.decisions.get(agentId);
        if (decision === undefined) oneByOne.push(i);
        else decisions[i] = { status: "fulfilled", value: decision };
      }
      if (applied) this.afterBatch(applied);
    }
    for (const i of oneByOne.sort((a, b) => a - b)) {
      try {
        decisions[i] = { status: "fulfilled", value: await this.reconcile(jobs[i], db) };
      } catch (reason) {
        decisions[i] = { status: "rejected", reason };
      }
    }
    return decisions;
  }

  private async decideBatch(tx: Tx, jobs: readonly ReconcileJobData[], firstOf: Map<string, number>): Promise<BatchResult> {
    const ids = [...firstOf.keys()];
    // In id order and without waiting: two batches never deadlock, and an agent held by another transaction (a
    // heartbeat, a provisioning step) does not hold up the batch; it is decided on its own afterwards.
    // Only what the policy reads, in the same statement as the locks (a Prisma read with relations costs far more).
    const agents = await tx.$queryRaw<BatchAgentRow[]>`
      SELECT a.id, a."gatewayId", a."boardId", a.status::text AS status, a."statusReason", a."lifecycleGeneration", a."wakeAttempts",
             a."lastWakeSentAt", a."checkinDeadlineAt", a."lastSeenAt", a."lastProvisionError", a."heartbeatIntervalSeconds",
             a."cycleTokenGeneration", g."checkinDeadlineSeconds", g."maxWakeAttempts"
        FROM "Agent" a JOIN "Gateway" g ON g.id = a."gatewayId"
       WHERE a.id = ANY(${ids}::uuid[])
       ORDER BY a.id
         FOR UPDATE OF a SKIP LOCKED`;
    const result: BatchResult = { decisions: new Map(), events: [], changed: [], wakes: [], started: 0, outcomes: [] };
    if (agents.length === 0) return result;
    // The time is read after the locks, from the database (as in `stepIn`).
    const [{ now }] = await tx.$queryRaw<{ now: Date }[]>`SELECT clock_timestamp() AS now`;

    const updates: ({ id: string } & PersistedState)[] = [];
    const resolves: { agentId: string; generation: number; attempt: number; outcome: string; at: Date; error: string | null; from: string }[] = [];
    const inserts: { agentId: string; generation: number; attempt: number; sentAt: Date; deadlineAt: Date }[] = [];
    const scheduled: { data: ReconcileJobData; startAfter: Date }[] = [];
    const events: EventInput[] = [];
    for (const agent of agents) {
      const job = jobs[firstOf.get(agent.id)!];
      const input: LifecycleInput = { type: "reconcile", job: { generation: job.generation, attempt: job.attempt } };
      const state: LifecycleState = {
        status: agent.status,
        statusReason: agent.statusReason,
        lifecycleGeneration: agent.lifecycleGeneration,
        wakeAttempts: agent.wakeAttempts,
        lastWakeSentAt: agent.lastWakeSentAt,
        checkinDeadlineAt: agent.checkinDeadlineAt,
        lastSeenAt: agent.lastSeenAt,
        lastProvisionError: agent.lastProvisionError,
        heartbeatIntervalSeconds: agent.heartbeatIntervalSeconds,
        cycleTokenGeneration: agent.cycleTokenGeneration,
      };
      const next = transition(state, input, now, this.policyConfig(agent));
      if (next.state && !sameState(state, next.state)) {
        updates.push({ id: agent.id, ...stateColumns(next.state) });
        result.changed.push(agent.id);
      }
      const generation = next.state?.lifecycleGeneration ?? job.generation;
      const ids = { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId };
      let decision = "none";
      for (const action of next.actions) {
        switch (action.type) {
          case "emit":
            if (decision === "none" && action.event.startsWith("lifecycle.reconcile.")) decision = action.event;
            events.push({ ...ids, event: action.event, message: action.message, generation, attempt: action.attempt ?? null, deadlineAt: action.deadlineAt ?? null, data: action.data, actor: null });
            break;
          case "resolve_attempt":
            // A check-in is never a reconcile's outcome; its columns differ (checkedInAt), so it is not handled here.
            if (action.outcome === "checked_in") throw new Error("a reconcile resolved an attempt as checked_in");
            resolves.push({ agentId: agent.id, generation: action.generation, attempt: action.attempt, outcome: action.outcome, at: action.at, error: action.error ?? null, from: (action.from ?? ["pending"]).join(",") });
            break;
          case "insert_attempt":
            inserts.push({ agentId: agent.id, generation: action.generation, attempt: action.attempt, sentAt: action.sentAt, deadlineAt: action.deadlineAt });
            break;
          case "schedule_reconcile":
            scheduled.push({ data: { agentId: agent.id, generation: action.generation, attempt: action.attempt }, startAfter: action.at });
            break;
          case "send_wake":
            result.wakes.push({ agentId: agent.id, gatewayId: agent.gatewayId, generation: action.generation, attempt: action.attempt, deadlineAt: action.deadlineAt });
            break;
          default:
            // The policy's reconcile produces none of the others (test/policy.test.ts); fail loudly rather than drop one.
            throw new Error(`a reconcile produced the action ${action.type}, which the batch does not apply`);
        }
      }
      result.decisions.set(agent.id, decision);
    }

    if (updates.length > 0) {
      const columns = Object.entries(PERSISTED_STATE_TYPES);
      await tx.$executeRawUnsafe(
        `UPDATE "Agent" AS a
            SET ${columns.map(([c]) => `"${c}" = u."${c}"${c === "status" ? '::"AgentStatus"' : ""}`).join(", ")}, "updatedAt" = $2
           FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, ${columns.map(([c, t]) => `"${c}" ${t}`).join(", ")})
          WHERE a.id = u.id`,
        JSON.stringify(updates),
        now,
      );
    }
    if (resolves.length > 0) {
      const resolved = await tx.$queryRawUnsafe<{ outcome: string }[]>(
        `UPDATE "WakeAttempt" AS w
            SET outcome = r.outcome::"WakeOutcome", "resolvedAt" = r.at, error = r.error
           FROM jsonb_to_recordset($1::jsonb) AS r("agentId" uuid, generation int, attempt int, outcome text, at timestamptz, error text, "from" text)
          WHERE w."agentId" = r."agentId" AND w.generation = r.generation AND w.attempt = r.attempt
            AND w.outcome::text = ANY(string_to_array(r."from", ','))
         RETURNING r.outcome`,
        JSON.stringify(resolves),
      );
      for (const r of resolved) result.outcomes.push(r.outcome);
    }
    if (inserts.length > 0) {
      await tx.$executeRawUnsafe(
        `INSERT INTO "WakeAttempt" (id, "agentId", generation, attempt, "sentAt", "deadlineAt")
         SELECT gen_random_uuid(), i."agentId", i.generation, i.attempt, i."sentAt", i."deadlineAt"
           FROM jsonb_to_recordset($1::jsonb) AS i("agentId" uuid, generation int, attempt int, "sentAt" timestamptz, "deadlineAt" timestamptz)`,
        JSON.stringify(inserts),
      );
      result.started = inserts.length;
    }
    if (scheduled.length > 0) await this.deps.boss.insert(QUEUES.reconcile, scheduled, { db: fromPrisma(tx) });
    result.events = await this.deps.events.recordBatch(tx, events);
    return result;
  }

  /** After a batch committed: events, metrics, pushes and wakes, none of which the worker waits for. */
  private afterBatch(batch: BatchResult): void {
    for (const id of batch.changed) this.work.nudge(id);
    this.deps.events.publish(batch.events);
    recordWakeAttempts(batch.started, batch.outcomes);
    if (batch.changed.length > 0) this.track(this.publishViews(batch.changed));
    for (const w of batch.wakes) this.track(this.deliverWake(w.agentId, w.gatewayId, w.generation, w.attempt, w.deadlineAt));
  }

  /** One read for many agents' board rows, instead of one per decision. */
  private async publishViews(agentIds: string[]): Promise<void> {
    const rows = await this.deps.db.agent.findMany({ where: { id: { in: agentIds } }, select: agentViewSelect });
    for (const row of rows) this.deps.publisher.agentUpdated(toAgentView(row, this.deps.settings));
  }

  /**
   * Periodic: liveness after convergence, and repair of any agent left waiting without something that will act —
   * provisioning whose process died, a waking agent without a due reconcile job (its job failed for good, or is held
   * by a dead worker), a deleting agent without its delete job. Every repair is idempotent, so two sweeps at once
   * (two workers) do no harm.
   */
  async sweep(): Promise<{ lost: number; restarted: number; repaired: number }> {
    const { db, settings } = this.deps;
    const silent = await db.$queryRaw<{ id: string }[]>`
      SELECT id FROM "Agent"
      WHERE status = 'online'
        AND "lastSeenAt" < clock_timestamp() - make_interval(secs => 3 * "heartbeatIntervalSeconds")
      LIMIT 1000`;
    let lost = 0;
    for (const { id } of silent) {
      const result = await this.step(id, { type: "liveness_check" }, null);
      if (result.events.some((e) => e.event === "agent.heartbeat_lost")) lost += 1;
      await this.afterCommit(id, result);
    }

    const stuck = await db.$queryRaw<{ id: string; generation: number; gatewayId: string }[]>`
      SELECT id, "lifecycleGeneration" AS generation, "gatewayId" FROM "Agent"
      WHERE status IN ('provisioning', 'updating')
        AND "cycleStartedAt" < clock_timestamp() - make_interval(secs => ${settings.stuckProvisioningSeconds})
        AND ("gatewayLeaseUntil" IS NULL OR "gatewayLeaseUntil" < clock_timestamp())
      LIMIT 1000`;
    let restarted = 0;
    for (const a of stuck) {
      if (this.scheduleProvisioning(a.id, a.generation, a.gatewayId)) {
        restarted += 1;
        this.deps.logger.warn({ agentId: a.id, generation: a.generation }, "resuming a provisioning that never finished");
      }
    }

    const repaired = (await this.repairWaking()) + (await this.repairDeleting());
    return { lost, restarted, repaired };
  }

  /** Jobs of `queue` for agent `a` that will still act: waiting, or running and not abandoned (abandonedJobSeconds). */
  private liveJobCondition(queue: string): string {
    const schema = this.deps.settings.queueSchema;
    return `EXISTS (SELECT 1 FROM "${schema}".job j
                     WHERE j.name = '${queue}' AND j.data->>'agentId' = a.id::text
                       AND (j.state IN ('created', 'retry')
                            OR (j.state = 'active' AND j.started_on > clock_timestamp() - make_interval(secs => ${Number(this.deps.settings.abandonedJobSeconds)}))))`;
  }

  private async repairWaking(): Promise<number> {
    const { db, boss, settings } = this.deps;
    const rows = await db.$queryRawUnsafe<{ id: string; generation: number; attempt: number }[]>(
      `SELECT a.id, a."lifecycleGeneration" AS generation, a."wakeAttempts" AS attempt FROM "Agent" a
        WHERE a.status = 'waking'
          AND a."checkinDeadlineAt" < clock_timestamp() - make_interval(secs => $1)
          AND NOT ${this.liveJobCondition(QUEUES.reconcile)}
        LIMIT 1000`,
      settings.repairAfterSeconds,
    );
    for (const row of rows) {
      const stored = await db.$transaction(async (tx) => {
        await enqueueReconcile(boss, tx, { agentId: row.id, generation: row.generation, attempt: row.attempt }, new Date(0));
        return this.deps.events.record(tx, [
          {
            event: "lifecycle.reconcile.repaired",
            agentId: row.id,
            generation: row.generation,
            attempt: row.attempt,
            message: `Deadline of attempt ${row.attempt} passed without a reconcile job that will run: re-scheduled now`,
          },
        ]);
      });
      this.deps.events.publish(stored);
    }
    return rows.length;
  }

  /** The delete job is enqueued with the `deleting` status, so a deleting agent without a live one lost it. */
  private async repairDeleting(): Promise<number> {
    const { db, boss } = this.deps;
    const rows = await db.$queryRawUnsafe<{ id: string }[]>(
      `SELECT a.id FROM "Agent" a
        WHERE a.status = 'deleting'
          AND NOT ${this.liveJobCondition(QUEUES.delete)}
        LIMIT 1000`,
    );
    for (const row of rows) await db.$transaction((tx) => enqueueDelete(boss, tx, row.id, new Date(0)));
    return rows.length;
  }

  /**
   * Starts removing an agent (a delete job finishes it whatever happens to this process) and tries to finish at once.
   * Deleting an agent that is already being deleted tries again.
   */
  async deleteAgent(agentId: string, actor: string): Promise<DeleteOutcome> {
    const result = await this.step(agentId, { type: "delete" }, actor, {
      within: async (tx, agent, _next, now) => {
        // Already deleting (a crash or a failed attempt left it so): make sure its job exists again.
        if (agent.status === "deleting") await enqueueDelete(this.deps.boss, tx, agentId, this.deleteSafetyNetAt(now));
      },
    });
    if (!result.agent) return "missing";
    await this.afterCommit(agentId, result, { awaitPostCommit: true });
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
  async removeAgent(agentId: string): Promise<DeleteOutcome> {
    const agent = await loadAgent(this.deps.db, agentId);
    if (!agent) return "missing";
    if (agent.status !== "deleting") return "deleting";
    await this.gatewayLimits.run(agent.gatewayId, () => this.removeFromGateway(agent));
    await this.deps.db.agent.deleteMany({ where: { id: agentId } });
    return "deleted";
  }

  /** Best effort: a gateway that cannot delete the agent is reported, never retried here. */
  private async removeFromGateway(agent: LockedAgent): Promise<void> {
    const agentId = agent.id;
    const timeoutMs = this.deps.settings.gatewayCallTimeoutMs;
    const work = await this.claim({ agentId, generation: agent.lifecycleGeneration, statuses: ["deleting"] }, timeoutMs);
    try {
      if (work) await work.call("delete", timeoutMs, (signal) => this.deps.drivers(gatewayConnection(agent)).deleteAgent(driverAgent(agent), { signal }));
    } catch (err) {
      const error = describeGatewayError(err);
      this.deps.logger.warn({ agentId, error }, "gateway could not delete the agent; removing it from Mission Control anyway");
      await this.deps.events
        .emit({
          event: "lifecycle.delete.failed",
          agentId,
          gatewayId: agent.gatewayId,
          boardId: agent.boardId,
          message: `Gateway could not delete the agent (${error}); removed from Mission Control anyway`,
          data: { error },
        })
        .catch(() => undefined);
    } finally {
      await work?.release();
    }
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

  private step(
    agentId: string,
    input: LifecycleInput | ((agent: LockedAgent | null) => LifecycleInput),
    actor: string | null,
    hooks: StepHooks = {},
    db: Db = this.deps.db,
  ): Promise<StepResult> {
    return db.$transaction((tx) => this.stepIn(tx, agentId, input, actor, hooks));
  }

  private async stepIn(
    tx: Tx,
    agentId: string,
    inputOf: LifecycleInput | ((agent: LockedAgent | null) => LifecycleInput),
    actor: string | null,
    hooks: StepHooks,
  ): Promise<StepResult> {
    if (hooks.create) await hooks.create(tx);
    // The time is read after the lock, from the database: it is the clock pg-boss fires jobs by, and no step that
    // commits later can carry an earlier time than one that committed before it.
    const lockedAt = await lockAgentRow(tx, agentId);
    const now = lockedAt ?? (await tx.$queryRaw<{ now: Date }[]>`SELECT clock_timestamp() AS now`)[0].now;
    const agent = lockedAt ? await loadAgent(tx, agentId) : null;
    const input = typeof inputOf === "function" ? inputOf(agent) : inputOf;
    const state = agent ? toState(agent) : null;
    const config = agent ? this.policyConfig(agent.gateway) : this.policyConfig({ checkinDeadlineSeconds: null, maxWakeAttempts: null });
    const result = transition(state, input, now, config);

    if (agent && result.state && state && !sameState(state, result.state)) {
      const cycleStarted = input.type === "start_cycle" && result.state.lifecycleGeneration !== state.lifecycleGeneration;
      await tx.agent.update({
        where: { id: agentId },
        data: { ...stateColumns(result.state), updatedAt: now, ...(cycleStarted ? { cycleStartedAt: now, cycleStartedBy: actor } : {}) },
      });
    }
    if (agent && result.state && hooks.within) await hooks.within(tx, agent, result.state, now);

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
            where: { agentId, generation: action.generation, attempt: action.attempt, outcome: { in: action.from ?? ["pending"] } },
            data: {
              outcome: action.outcome,
              resolvedAt: action.at,
              // A check-in keeps the error of a wake the gateway reported as failed (it is still worth seeing).
              ...(action.outcome === "checked_in" ? { checkedInAt: action.at } : { error: action.error ?? null }),
            },
          });
          if (resolved.count > 0) attempts.outcomes.push(action.outcome);
          break;
        }
        case "schedule_reconcile":
          await enqueueReconcile(this.deps.boss, tx, { agentId, generation: action.generation, attempt: action.attempt }, action.at);
          break;
        case "remove_agent":
          // The job finishes the removal if this process dies first; the inline attempt usually wins.
          await enqueueDelete(this.deps.boss, tx, agentId, this.deleteSafetyNetAt(now));
          postCommit.push(action);
          break;
        case "provision":
        case "send_wake":
          postCommit.push(action);
          break;
      }
    }
    const stored = await this.deps.events.record(tx, events);
    return { agent, state: result.state, events: stored, postCommit, attempts };
  }

  /** When the delete job runs if the inline removal did not finish (its own time limit plus a margin). */
  private deleteSafetyNetAt(now: Date): Date {
    return new Date(now.getTime() + this.deps.settings.gatewayCallTimeoutMs + 5_000);
  }

  /** `inSlot`: the caller already holds one of the gateway's call slots (a wake right after its provisioning). */
  private async afterCommit(agentId: string, result: StepResult, opts: { awaitPostCommit?: boolean; inSlot?: boolean } = {}): Promise<AgentView | null> {
    this.work.nudge(agentId);
    this.deps.events.publish(result.events);
    recordWakeAttempts(result.attempts.started, result.attempts.outcomes);
    const view = await this.view(agentId);
    if (view) this.deps.publisher.agentUpdated(view);
    const gatewayId = result.agent?.gatewayId;
    const work = gatewayId ? result.postCommit.map((action) => this.runPostCommit(agentId, gatewayId, action, opts.inSlot ?? false)) : [];
    if (opts.awaitPostCommit) await Promise.all(work);
    else work.forEach((w) => this.track(w));
    return view;
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
        if (this.gatewayLimits.busy(gatewayId)) return;
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

  // ---- gateway calls (after commit, under the agent's lease) ----------------------------------------------------

  private claim(scope: WorkScope, limitMs: number): Promise<GatewayWork | null> {
    return GatewayWork.claim(this.deps.db, this.work, scope, limitMs);
  }

  /** Queues the provisioning of a cycle (a few per gateway run at a time). False when this process already has it queued. */
  private scheduleProvisioning(agentId: string, generation: number, gatewayId: string): boolean {
    const key = `${agentId}:${generation}`;
    if (this.provisioningQueued.has(key)) return false;
    const run = this.gatewayLimits.run(gatewayId, () => this.runProvisioning(agentId, generation)).finally(() => this.provisioningQueued.delete(key));
    this.provisioningQueued.set(key, run.catch(() => undefined));
    this.track(run);
    return true;
  }

  /**
   * Fleet operations (server/fleet/): makes sure the provisioning of cycle `generation` runs in this process and
   * resolves once it and its first wake have been attempted. A cycle that moved on, or that another process holds
   * (its lease), resolves at once.
   */
  async settleProvisioning(agentId: string, generation: number, gatewayId: string): Promise<void> {
    this.scheduleProvisioning(agentId, generation, gatewayId);
    await this.provisioningQueued.get(`${agentId}:${generation}`);
  }

  /** docs/lifecycle.md, step 2, then step 3 (the wake), whether provisioning worked or not: a failure still counts as an attempt. */
  private async runProvisioning(agentId: string, generation: number): Promise<void> {
    const timeoutMs = this.deps.settings.gatewayCallTimeoutMs;
    // Checked only now, with a slot: a queued provisioning whose cycle moved on does nothing.
    const work = await this.claim({ agentId, generation, statuses: ["provisioning", "updating"] }, timeoutMs);
    if (!work) return;
    let result: StepResult;
    try {
      const agent = await loadAgent(this.deps.db, agentId);
      if (!agent) return;
      // A wake cycle of an already provisioned agent skips straight to the wake.
      const provisionError = agent.provisionedGeneration === generation ? undefined : await this.provisionOnGateway(agent, generation, work);
      await work.ensureCurrent("provisioning");
      result = await this.step(agentId, { type: "wake_due", generation, provisionError }, null);
    } catch (err) {
      if (err instanceof CycleMovedOn) return;
      throw err;
    } finally {
      await work.release();
    }
    await this.afterCommit(agentId, result, { awaitPostCommit: true, inSlot: true });
  }

  /**
   * Delivers a new token and the current templates. Returns the error text, or undefined on success; throws
   * CycleMovedOn when the cycle moved on (nothing is reported then). Emits provision.succeeded / provision.failed.
   */
  private async provisionOnGateway(agent: LockedAgent, generation: number, work: GatewayWork): Promise<string | undefined> {
    const { settings, db } = this.deps;
    const ids = { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId, generation };
    try {
      failFastIfUnreachable(agent);
      const connection = gatewayConnection(agent);
      const issued = issueAgentToken(agent.id);
      // The new token is pending: the one the runtime holds stays valid until this one is known to be delivered.
      const recorded = await db.$executeRaw`
        UPDATE "Agent" SET "pendingTokenHash" = ${issued.hash}, "pendingTokenGeneration" = ${generation}
         WHERE id = ${agent.id}::uuid AND "lifecycleGeneration" = ${generation} AND "gatewayLeaseId" = ${work.leaseId}::uuid`;
      if (recorded !== 1) throw new CycleMovedOn("provision");
      const baseUrl = normaliseBaseUrl(settings.baseUrl());
      const heartbeatUrl = heartbeatUrlOf(baseUrl);
      const files = await renderTemplates({
        agent: { id: agent.id, name: agent.name, kind: agent.kind, sessionKey: agent.sessionKey, heartbeatIntervalSeconds: agent.heartbeatIntervalSeconds },
        gateway: { name: agent.gateway.name },
        board: agent.board,
        heartbeatUrl,
        baseUrl,
      });
      const driver = this.deps.drivers(connection);
      await work.call("provision", settings.gatewayCallTimeoutMs, (signal) =>
        driver.provision({ agent: driverAgent(agent), token: issued.token, baseUrl, heartbeatUrl, files, signal }),
      );
      // Delivered: the new token becomes current (unless the agent's first heartbeat already promoted it).
      await promotePendingToken(db, agent.id, issued.hash, settings.tokenOverlapSeconds);
      // Gateway-side settings (OpenClaw's config) go in one batched job per gateway, never one write per agent.
      if (driver.applyAgentSettings) await requestGatewaySettings(this.deps.boss, agent.gatewayId);
      await db.agent.updateMany({
        where: { id: agent.id, lifecycleGeneration: generation },
        data: { provisionedGeneration: generation, templateRevision: TEMPLATE_REVISION },
      });
      await this.deps.events.emit({ ...ids, event: "lifecycle.provision.succeeded", message: `Provisioned on ${agent.gateway.name}`, data: { templateRevision: TEMPLATE_REVISION } });
      return undefined;
    } catch (err) {
      if (err instanceof CycleMovedOn) throw err;
      const error = describeGatewayError(err);
      await this.deps.events.emit({ ...ids, event: "lifecycle.provision.failed", message: `Provisioning failed: ${error}`, data: { error } });
      return error;
    }
  }

  /** Wakes not sent because their deadline passed while queued, recorded together every UNSENT_FLUSH_MS. */
  private unsentWakes: EventInput[] = [];

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

  /** Delivers wake `attempt` once one of its gateway's call slots is free. */
  private deliverWake(agentId: string, gatewayId: string, generation: number, attempt: number, deadlineAt: Date): Promise<void> {
    return this.gatewayLimits.run(gatewayId, () => this.deliverWakeNow(agentId, generation, attempt, deadlineAt, gatewayId));
  }

  /**
   * Delivers wake `attempt`. Bounded by the attempt's deadline: when the deadline passes (or a newer cycle starts)
   * the work is cancelled, so it never overlaps the next attempt.
   */
  private async deliverWakeNow(agentId: string, generation: number, attempt: number, deadlineAt: Date, queuedOn?: string): Promise<void> {
    const { settings } = this.deps;
    const dbNow = await this.dbNow();
    if (queuedOn && dbNow >= deadlineAt) {
      // Its turn came after its deadline (the gateway's slots stayed busy): it is never sent late. The timeline says
      // so; the attempt itself expires at its reconcile like any unanswered wake. Under overload there are thousands
      // of these, so they cost one batched insert, not a lifecycle step each (docs/scaling.md).
      this.noteUnsentWake({
        agentId,
        gatewayId: queuedOn,
        generation,
        attempt,
        deadlineAt,
        event: "lifecycle.wake.failed",
        message: `Wake ${attempt} not sent before its deadline: the gateway's ${this.gatewayLimits.concurrency} call slots were busy`,
        data: { error: `not sent before its deadline: the gateway's ${this.gatewayLimits.concurrency} call slots were busy`, notSent: true },
      });
      return;
    }
    const limitMs = Math.max(1, deadlineAt.getTime() - dbNow.getTime());
    const work = await this.claim({ agentId, generation, statuses: ["waking"], attempt }, limitMs);
    if (!work) return;
    let error: string | undefined;
    try {
      const agent = await loadAgent(this.deps.db, agentId);
      if (!agent) return;
      const config = this.policyConfig(agent.gateway);
      const ids = { agentId, gatewayId: agent.gatewayId, boardId: agent.boardId, generation, attempt, deadlineAt };
      if (agent.provisionedGeneration !== generation) {
        // The provisioning of this cycle failed earlier: a retry provisions again before it wakes.
        error = await this.provisionOnGateway(agent, generation, work);
      }
      if (error === undefined) {
        const wake = () => {
          failFastIfUnreachable(agent);
          const driver = this.deps.drivers(gatewayConnection(agent));
          return work.call("wake", settings.gatewayCallTimeoutMs, (signal) =>
            driver.wake({
              agent: driverAgent(agent),
              attempt,
              generation,
              deadlineAt,
              message: wakeMessage(attempt, config.maxWakeAttempts, deadlineAt),
              signal,
            }),
          );
        };
        try {
          let receipt: WakeReceipt | void;
          try {
            receipt = await wake();
          } catch (err) {
            // The gateway lost the agent (it restarted): provision again, then retry.
            if (!(err instanceof GatewayCallError && err.kind === "not_found")) throw err;
            const provisionError = await this.provisionOnGateway(agent, generation, work);
            if (provisionError !== undefined) throw new GatewayCallError(provisionError);
            receipt = await wake();
          }
          await this.deps.events.emit({ ...ids, event: "lifecycle.wake.sent", message: `Wake ${attempt}/${config.maxWakeAttempts} sent; check-in due by ${deadlineAt.toISOString()}` });
          // The run outcome arrives later, outside this work's lease (it writes nothing to the gateway).
          if (receipt?.runOutcome) this.track(this.recordRunOutcome(agentId, generation, attempt, receipt.runOutcome));
          return;
        } catch (err) {
          if (err instanceof CycleMovedOn) throw err;
          error = describeGatewayError(err);
        }
      }
    } catch (err) {
      if (err instanceof CycleMovedOn) return;
      throw err;
    } finally {
      await work.release();
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

  private async dbNow(): Promise<Date> {
    const [row] = await this.deps.db.$queryRaw<{ now: Date }[]>`SELECT clock_timestamp() AS now`;
    return row.now;
  }
}

export function wakeMessage(attempt: number, maxAttempts: number, deadlineAt: Date): string {
  return (
    `Mission Control wake (attempt ${attempt}/${maxAttempts}). Check in now: follow HEARTBEAT.md and call the ` +
    `heartbeat API before any other work. Deadline: ${deadlineAt.toISOString()}.`
  );
}
