// The reconcile jobs due together, decided in one transaction on the decisions pool (docs/scaling.md): the batch
// locks its agents (SKIP LOCKED), reads the database's time after the locks, runs the pure policy per agent and
// writes the new states, attempts, next deadline jobs and events with one statement each. What runs after the
// commit (pushes, wakes) is returned for the caller; a decision never waits for gateway I/O.
import { dbNow, type Db, type Tx } from "../db/prisma";
import type { EventInput, StoredEvent } from "../events/bus";
import { enqueueReconciles, type ReconcileJobData } from "../queue/queues";
import { transition, type LifecycleInput, type LifecycleState } from "./policy";
import { policyConfigOf, type LifecycleDeps } from "./deps";
import { emittedEvent, PERSISTED_STATE_TYPES, sameState, stateColumns, toState, type PersistedState } from "./agent-record";

/** What a reconcile batch reads of each agent it locks (the policy's state and the gateway's overrides). */
interface BatchAgentRow extends LifecycleState {
  id: string;
  gatewayId: string;
  boardId: string | null;
  checkinDeadlineSeconds: number | null;
  maxWakeAttempts: number | null;
}

export interface BatchResult {
  /** Decision per agent the batch locked and decided. */
  decisions: Map<string, string>;
  events: StoredEvent[];
  /** Agents whose state changed. */
  changed: string[];
  wakes: { agentId: string; gatewayId: string; generation: number; attempt: number; deadlineAt: Date }[];
  started: number;
  outcomes: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Decides `jobs` (the worker's fetch) together on `db`. Jobs of agents another transaction holds, a second job of
 * the same agent, and missing agents are decided one by one afterwards by `alone`; `afterBatch` gets what the batch
 * committed. Returns each job's decision (or the error that failed it), in order.
 */
export async function reconcileBatch(
  deps: LifecycleDeps,
  db: Db,
  jobs: readonly ReconcileJobData[],
  alone: (job: ReconcileJobData) => Promise<string>,
  afterBatch: (batch: BatchResult) => void,
): Promise<PromiseSettledResult<string>[]> {
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
      applied = await db.$transaction((tx) => decideBatch(deps, tx, jobs, firstOf));
    } catch (err) {
      // Whatever failed the batch fails only its own job below (a decision is idempotent; nothing was committed).
      deps.logger.warn({ err: String(err), jobs: firstOf.size }, "reconcile batch failed; deciding its jobs one by one");
    }
    for (const [agentId, i] of firstOf) {
      const decision = applied?.decisions.get(agentId);
      if (decision === undefined) oneByOne.push(i);
      else decisions[i] = { status: "fulfilled", value: decision };
    }
    if (applied) afterBatch(applied);
  }
  for (const i of oneByOne.sort((a, b) => a - b)) {
    try {
      decisions[i] = { status: "fulfilled", value: await alone(jobs[i]) };
    } catch (reason) {
      decisions[i] = { status: "rejected", reason };
    }
  }
  return decisions;
}

async function decideBatch(deps: LifecycleDeps, tx: Tx, jobs: readonly ReconcileJobData[], firstOf: Map<string, number>): Promise<BatchResult> {
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
  // The time is read after the locks, from the database (as in a single step, step.ts).
  const now = await dbNow(tx);

  const updates: ({ id: string } & PersistedState)[] = [];
  const resolves: { agentId: string; generation: number; attempt: number; outcome: string; at: Date; error: string | null; from: string }[] = [];
  const inserts: { agentId: string; generation: number; attempt: number; sentAt: Date; deadlineAt: Date }[] = [];
  const scheduled: { data: ReconcileJobData; startAfter: Date }[] = [];
  const events: EventInput[] = [];
  for (const agent of agents) {
    const job = jobs[firstOf.get(agent.id)!];
    const input: LifecycleInput = { type: "reconcile", job: { generation: job.generation, attempt: job.attempt } };
    const state = toState(agent);
    const next = transition(state, input, now, policyConfigOf(deps.settings, agent));
    if (next.state && !sameState(state, next.state)) {
      updates.push({ id: agent.id, ...stateColumns(next.state) });
      result.changed.push(agent.id);
    }
    const generation = next.state?.lifecycleGeneration ?? job.generation;
    const agentIds = { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId };
    let decision = "none";
    for (const action of next.actions) {
      switch (action.type) {
        case "emit":
          if (decision === "none" && action.event.startsWith("lifecycle.reconcile.")) decision = action.event;
          events.push(emittedEvent(action, agentIds, generation, null));
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
  await enqueueReconciles(deps.boss, tx, scheduled);
  result.events = await deps.events.recordBatch(tx, events);
  return result;
}
