// One lifecycle step (docs/lifecycle.md, One transaction per decision): lock the agent's row, read the database's
// time after the lock, ask the pure policy, and apply its decision — the new state, wake attempts, delayed jobs and
// events — in the same transaction. What must wait for the commit (gateway calls) is returned, never run here.
import { dbNow, type Db, type Tx } from "../db/prisma";
import type { EventInput, StoredEvent } from "../events/bus";
import { enqueueDelete, enqueueReconcile } from "../queue/queues";
import { transition, type LifecycleAction, type LifecycleInput, type LifecycleState } from "./policy";
import { policyConfigOf, type LifecycleDeps } from "./deps";
import { emittedEvent, loadAgent, sameState, stateColumns, toState, type LockedAgent } from "./agent-record";
import { lockAgentRow } from "./lock";
import { deleteSafetyNetAt } from "./removal";

export type PostCommitAction = Extract<LifecycleAction, { type: "provision" | "send_wake" | "remove_agent" }>;

export interface StepResult {
  agent: LockedAgent | null;
  state: LifecycleState | null;
  events: StoredEvent[];
  postCommit: PostCommitAction[];
  /** Wake attempts this step created and resolved (the mc_wake_attempts_* counters, counted after commit). */
  attempts: { started: number; outcomes: string[] };
}

export interface StepHooks {
  /** Runs before the row lock (e.g. creates the row). */
  create?: (tx: Tx) => Promise<void>;
  /** Runs under the row lock after the policy decided, in the same transaction (`now` is the database's). */
  within?: (tx: Tx, agent: LockedAgent, next: LifecycleState, now: Date) => Promise<void>;
}

/** `input` may depend on the locked agent (null when it does not exist). */
export type StepInput = LifecycleInput | ((agent: LockedAgent | null) => LifecycleInput);

export function step(
  deps: LifecycleDeps,
  agentId: string,
  input: StepInput,
  actor: string | null,
  hooks: StepHooks = {},
  db: Db = deps.db,
): Promise<StepResult> {
  return db.$transaction((tx) => stepIn(deps, tx, agentId, input, actor, hooks));
}

async function stepIn(deps: LifecycleDeps, tx: Tx, agentId: string, inputOf: StepInput, actor: string | null, hooks: StepHooks): Promise<StepResult> {
  if (hooks.create) await hooks.create(tx);
  // The time is read after the lock, from the database: it is the clock pg-boss fires jobs by, and no step that
  // commits later can carry an earlier time than one that committed before it.
  const lockedAt = await lockAgentRow(tx, agentId);
  const now = lockedAt ?? (await dbNow(tx));
  const agent = lockedAt ? await loadAgent(tx, agentId) : null;
  const input = typeof inputOf === "function" ? inputOf(agent) : inputOf;
  const state = agent ? toState(agent) : null;
  const config = policyConfigOf(deps.settings, agent ? agent.gateway : { checkinDeadlineSeconds: null, maxWakeAttempts: null });
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
        events.push(emittedEvent(action, ids, generation, actor));
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
        await enqueueReconcile(deps.boss, tx, { agentId, generation: action.generation, attempt: action.attempt }, action.at);
        break;
      case "remove_agent":
        // The job finishes the removal if this process dies first; the inline attempt usually wins.
        await enqueueDelete(deps.boss, tx, agentId, deleteSafetyNetAt(deps.settings, now));
        postCommit.push(action);
        break;
      case "provision":
      case "send_wake":
        postCommit.push(action);
        break;
    }
  }
  const stored = await deps.events.record(tx, events);
  return { agent, state: result.state, events: stored, postCommit, attempts };
}
