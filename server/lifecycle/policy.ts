// The convergence policy (docs/lifecycle.md) as a pure function: (state, input, now, config) → new state + actions.
// Nothing here touches the database, the queue, a gateway or a socket; the lifecycle service applies the result.
import type { EventName } from "../../lib/events";

import { AGENT_STATUSES, type AgentStatus, type WakeOutcome } from "../../lib/contract/enums";

export { AGENT_STATUSES, type AgentStatus, type WakeOutcome };

export interface PolicyConfig {
  checkinDeadlineSeconds: number;
  maxWakeAttempts: number;
}

export interface LifecycleState {
  status: AgentStatus;
  statusReason: string | null;
  lifecycleGeneration: number;
  wakeAttempts: number;
  lastWakeSentAt: Date | null;
  checkinDeadlineAt: Date | null;
  lastSeenAt: Date | null;
  lastProvisionError: string | null;
  heartbeatIntervalSeconds: number;
  /**
   * Oldest token generation whose check-in completes the current cycle: the cycle's own generation when it delivers a
   * new token, the delivered token's generation when it only wakes. Null for rows that predate it (any token counts).
   */
  cycleTokenGeneration: number | null;
}

/** Which of an agent's token slots a heartbeat's token matched (server/agent-model/tokens.ts). */
export interface HeartbeatCredential {
  slot: "current" | "pending" | "previous";
  /** The lifecycle generation that issued the token. */
  generation: number | null;
}

export interface ReconcileJob {
  generation: number;
  attempt: number;
}

export type LifecycleInput =
  /** Operator or system starts a provision / update / wake cycle. */
  | {
      type: "start_cycle";
      isNew: boolean;
      startedBy: string;
      reason: string;
      /** A wake-only cycle reuses the delivered token of this generation; null when the cycle delivers a new one. */
      reusesTokenOf?: number | null;
    }
  /** Provisioning of this generation finished (or failed): send the next wake. */
  | { type: "wake_due"; generation: number; provisionError?: string }
  /** The gateway call that delivers the wake failed. */
  | { type: "wake_failed"; generation: number; attempt: number; error: string }
  /** The wake was delivered, but the gateway reports that the run it started failed (e.g. no model provider). */
  | { type: "run_failed"; generation: number; attempt: number; error: string }
  /** A heartbeat with an accepted token (which token decides whether it completes the cycle). */
  | { type: "heartbeat"; credential: HeartbeatCredential }
  /** The delayed reconcile job of an attempt fired. */
  | { type: "reconcile"; job: ReconcileJob }
  /** Periodic liveness sweep over agents that converged. */
  | { type: "liveness_check" }
  /** The agent is being removed. */
  | { type: "delete" };

export interface EmitAction {
  type: "emit";
  event: EventName;
  message: string;
  attempt?: number;
  deadlineAt?: Date;
  data?: Record<string, unknown>;
}

export type LifecycleAction =
  | EmitAction
  /** Every still-pending attempt of earlier generations becomes `superseded`. */
  | { type: "supersede_pending_attempts" }
  /** Run the gateway driver's provisioning for this generation, then feed back `wake_due`. */
  | { type: "provision"; generation: number }
  | { type: "insert_attempt"; generation: number; attempt: number; sentAt: Date; deadlineAt: Date }
  /** Record on the attempt what the gateway said about the run the wake started. */
  | { type: "record_run_error"; generation: number; attempt: number; error: string }
  /** Resolve the attempt if its outcome is still one of `from` (default: pending). */
  | {
      type: "resolve_attempt";
      generation: number;
      attempt: number;
      outcome: Exclude<WakeOutcome, "pending">;
      at: Date;
      error?: string;
      from?: WakeOutcome[];
    }
  /** Delayed reconcile job, enqueued in the same transaction as the state change. */
  | { type: "schedule_reconcile"; generation: number; attempt: number; at: Date }
  /** After commit: ask the gateway to wake the agent. */
  | { type: "send_wake"; generation: number; attempt: number; deadlineAt: Date }
  /** After commit: remove the agent from its gateway and from the database. */
  | { type: "remove_agent" };

export interface Transition<S extends LifecycleState | null = LifecycleState> {
  state: S;
  actions: LifecycleAction[];
}

export const REASON_MAX_WAKE_ATTEMPTS = "max_wake_attempts";
export const REASON_HEARTBEAT_LOST = "heartbeat_lost";
/** An online agent is lost after this many missed heartbeat intervals. */
export const HEARTBEAT_LOSS_FACTOR = 3;

const unchanged = (state: LifecycleState, actions: LifecycleAction[] = []): Transition => ({ state, actions });

function emit(event: EventName, message: string, extra: Omit<EmitAction, "type" | "event" | "message"> = {}): EmitAction {
  return { type: "emit", event, message, ...extra };
}

/** Every transition that changes the status also emits `agent.status.changed` (status bands of the timeline). */
function withStatusChange(before: LifecycleState, after: Transition): Transition {
  if (before.status === after.state.status) return after;
  const change = emit("agent.status.changed", `Status ${before.status} → ${after.state.status}`, {
    data: { from: before.status, to: after.state.status, reason: after.state.statusReason },
  });
  return { state: after.state, actions: [...after.actions, change] };
}

const addSeconds = (at: Date, seconds: number) => new Date(at.getTime() + seconds * 1000);

function startCycle(state: LifecycleState, input: Extract<LifecycleInput, { type: "start_cycle" }>): Transition {
  if (state.status === "deleting") return unchanged(state);
  const generation = state.lifecycleGeneration + 1;
  const status: AgentStatus = input.isNew ? "provisioning" : "updating";
  return {
    state: {
      ...state,
      status,
      statusReason: null,
      lifecycleGeneration: generation,
      wakeAttempts: 0,
      checkinDeadlineAt: null,
      lastProvisionError: null,
      cycleTokenGeneration: input.reusesTokenOf ?? generation,
    },
    actions: [
      { type: "supersede_pending_attempts" },
      emit("lifecycle.cycle.started", `Cycle ${generation} started by ${input.startedBy}: ${input.reason}`, {
        data: { startedBy: input.startedBy, reason: input.reason, kind: status },
      }),
      { type: "provision", generation },
    ],
  };
}

/** docs/lifecycle.md, step 3: one more wake attempt with its deadline job. */
function beginWake(state: LifecycleState, now: Date, config: PolicyConfig, provisionError?: string): Transition {
  const generation = state.lifecycleGeneration;
  const attempt = state.wakeAttempts + 1;
  const deadlineAt = addSeconds(now, config.checkinDeadlineSeconds);
  const actions: LifecycleAction[] = [
    { type: "insert_attempt", generation, attempt, sentAt: now, deadlineAt },
    { type: "schedule_reconcile", generation, attempt, at: deadlineAt },
    emit("lifecycle.queue.enqueued", `Reconcile for attempt ${attempt}/${config.maxWakeAttempts} due at deadline`, {
      attempt,
      deadlineAt,
    }),
  ];
  if (provisionError === undefined) {
    actions.push({ type: "send_wake", generation, attempt, deadlineAt });
  } else {
    actions.push({ type: "resolve_attempt", generation, attempt, outcome: "rpc_failed", at: now, error: provisionError });
  }
  return {
    state: {
      ...state,
      status: "waking",
      wakeAttempts: attempt,
      lastWakeSentAt: now,
      checkinDeadlineAt: deadlineAt,
      lastProvisionError: provisionError ?? state.lastProvisionError,
    },
    actions,
  };
}

function wakeDue(state: LifecycleState, input: Extract<LifecycleInput, { type: "wake_due" }>, now: Date, config: PolicyConfig): Transition {
  const cycleOpen = state.status === "provisioning" || state.status === "updating";
  if (input.generation !== state.lifecycleGeneration || !cycleOpen) return unchanged(state);
  return beginWake(state, now, config, input.provisionError);
}

function wakeFailed(state: LifecycleState, input: Extract<LifecycleInput, { type: "wake_failed" }>, now: Date): Transition {
  const current =
    state.status === "waking" && input.generation === state.lifecycleGeneration && input.attempt === state.wakeAttempts;
  if (!current) return unchanged(state);
  return {
    state: { ...state, lastProvisionError: input.error },
    actions: [
      { type: "resolve_attempt", generation: input.generation, attempt: input.attempt, outcome: "rpc_failed", at: now, error: input.error },
      emit("lifecycle.wake.failed", `Wake ${input.attempt} failed: ${input.error}`, {
        attempt: input.attempt,
        data: { error: input.error },
      }),
    ],
  };
}

/**
 * The agent will not check in from this run: the gateway's words become the error the operator sees. A run of an
 * earlier attempt of this cycle may report late (a gateway can take longer than the deadline to give up on a run);
 * it still names the cause, also of a cycle that has just ended offline for want of a check-in.
 */
function runFailed(state: LifecycleState, input: Extract<LifecycleInput, { type: "run_failed" }>, config: PolicyConfig): Transition {
  if (input.generation !== state.lifecycleGeneration) return unchanged(state);
  const cause = `agent run failed on the gateway: ${input.error}`;
  const record: LifecycleAction[] = [
    { type: "record_run_error", generation: input.generation, attempt: input.attempt, error: input.error },
    emit("lifecycle.run.failed", `Wake ${input.attempt} reached the gateway, but the agent's run failed: ${input.error}`, {
      attempt: input.attempt,
      data: { error: input.error },
    }),
  ];
  if (state.status === "waking") return { state: { ...state, lastProvisionError: cause }, actions: record };
  if (state.status === "offline" && state.statusReason === REASON_MAX_WAKE_ATTEMPTS && !state.lastProvisionError?.includes(cause)) {
    const reason = noCheckinMessage(state.wakeAttempts, config.checkinDeadlineSeconds, cause);
    return { state: { ...state, lastProvisionError: reason }, actions: record };
  }
  return unchanged(state, record.slice(0, 1));
}

/**
 * Does a heartbeat with this token complete the current cycle? Only a token the cycle delivered (or, for a wake-only
 * cycle, the delivered token it relies on): an old session still holding an earlier cycle's token proves nothing
 * about this cycle, least of all when its provisioning failed (docs/lifecycle.md, "Tokens").
 */
export function countsForCycle(state: LifecycleState, credential: HeartbeatCredential): boolean {
  if (credential.slot === "previous") return false;
  if (state.cycleTokenGeneration === null) return true;
  return credential.generation !== null && credential.generation >= state.cycleTokenGeneration;
}

function heartbeat(state: LifecycleState, credential: HeartbeatCredential, now: Date): Transition {
  // During provisioning the check-in that counts is the one after the wake; a deleted agent stays deleted.
  if (state.status === "deleting" || state.status === "provisioning" || state.status === "updating") {
    return unchanged({ ...state, lastSeenAt: now });
  }
  // Stored (the heartbeat is acknowledged), but it does not make the agent online for this cycle.
  if (state.status !== "online" && !countsForCycle(state, credential)) return unchanged({ ...state, lastSeenAt: now });
  const wasWaking = state.status === "waking";
  const after: LifecycleState = {
    ...state,
    status: "online",
    statusReason: null,
    lastSeenAt: now,
    wakeAttempts: 0,
    checkinDeadlineAt: null,
    lastProvisionError: null,
  };
  if (state.status === "online") return unchanged(after);
  const actions: LifecycleAction[] = [];
  if (wasWaking) {
    actions.push({
      type: "resolve_attempt",
      generation: state.lifecycleGeneration,
      attempt: state.wakeAttempts,
      outcome: "checked_in",
      at: now,
      // A wake the gateway reported as failed may still have arrived: the check-in is what happened.
      from: ["pending", "rpc_failed"],
    });
  }
  const message = wasWaking
    ? `Checked in on attempt ${state.wakeAttempts}`
    : `Checked in while ${state.status}`;
  actions.push(emit("agent.heartbeat", message, { attempt: wasWaking ? state.wakeAttempts : undefined }));
  return { state: after, actions };
}

export function noCheckinMessage(attempts: number, deadlineSeconds: number, lastError: string | null): string {
  const base = `No check-in after ${attempts} wake${attempts === 1 ? "" : "s"} (${deadlineSeconds}s deadline each)`;
  return lastError ? `${base}; last gateway error: ${lastError}` : base;
}

function reconcile(state: LifecycleState | null, job: ReconcileJob, now: Date, config: PolicyConfig): Transition<LifecycleState | null> {
  if (state === null) {
    return { state, actions: [emit("lifecycle.reconcile.skip_missing_agent", "Agent no longer exists", { attempt: job.attempt })] };
  }
  if (job.generation !== state.lifecycleGeneration) {
    return unchanged(state, [
      emit("lifecycle.reconcile.skip_stale_generation", `Job of generation ${job.generation}, agent is at ${state.lifecycleGeneration}`, {
        attempt: job.attempt,
        data: { jobGeneration: job.generation },
      }),
    ]);
  }
  // Checked in: decided from the status the policy itself recorded (a counted heartbeat makes the agent online), never
  // from comparing timestamps that different processes and clocks wrote.
  const checkedIn = state.status === "online" || (state.status === "offline" && state.statusReason === REASON_HEARTBEAT_LOST);
  if (checkedIn) {
    return unchanged(state, [emit("lifecycle.reconcile.skip_not_stuck", "Agent checked in during this cycle", { attempt: job.attempt })]);
  }
  if (state.status === "deleting") {
    return unchanged(state, [emit("lifecycle.reconcile.skip_deleting", "Agent is being deleted", { attempt: job.attempt })]);
  }
  if (state.status === "offline") {
    // A duplicate of the job that ended this cycle (a retry after a crash, or the sweep's repair): nothing to do.
    return unchanged(state, [
      emit("lifecycle.reconcile.skip_cycle_ended", `Cycle ${state.lifecycleGeneration} already ended offline`, {
        attempt: job.attempt,
        data: { reason: state.statusReason },
      }),
    ]);
  }
  if (state.status !== "waking") {
    return unchanged(state, [
      emit("lifecycle.reconcile.skip_no_wake_outstanding", `Agent is ${state.status}, no wake outstanding`, {
        attempt: job.attempt,
        data: { status: state.status },
      }),
    ]);
  }
  if (job.attempt !== state.wakeAttempts) {
    return unchanged(state, [
      emit("lifecycle.reconcile.skip_stale_generation", `Job of attempt ${job.attempt}, agent is at attempt ${state.wakeAttempts}`, {
        attempt: job.attempt,
        data: { jobGeneration: job.generation, currentAttempt: state.wakeAttempts },
      }),
    ]);
  }
  if (state.checkinDeadlineAt !== null && now < state.checkinDeadlineAt) {
    const at = state.checkinDeadlineAt;
    return unchanged(state, [
      { type: "schedule_reconcile", generation: job.generation, attempt: job.attempt, at },
      emit("lifecycle.reconcile.deferred", `Deadline not reached, re-scheduled for ${at.toISOString()}`, {
        attempt: job.attempt,
        deadlineAt: at,
      }),
    ]);
  }

  const expire: LifecycleAction = {
    type: "resolve_attempt",
    generation: job.generation,
    attempt: job.attempt,
    outcome: "expired",
    at: now,
  };
  if (state.wakeAttempts >= config.maxWakeAttempts) {
    const reason = noCheckinMessage(state.wakeAttempts, config.checkinDeadlineSeconds, state.lastProvisionError);
    const after: LifecycleState = {
      ...state,
      status: "offline",
      statusReason: REASON_MAX_WAKE_ATTEMPTS,
      checkinDeadlineAt: null,
      lastProvisionError: reason,
    };
    return {
      state: after,
      actions: [
        expire,
        emit("lifecycle.reconcile.max_attempts_reached", reason, {
          attempt: job.attempt,
          data: { maxWakeAttempts: config.maxWakeAttempts },
        }),
      ],
    };
  }
  const next = beginWake(state, now, config);
  return {
    state: next.state,
    actions: [
      expire,
      emit("lifecycle.reconcile.retriggered", `No check-in for attempt ${job.attempt}; waking again (attempt ${job.attempt + 1}/${config.maxWakeAttempts})`, {
        attempt: job.attempt,
      }),
      ...next.actions,
    ],
  };
}

function livenessCheck(state: LifecycleState, now: Date): Transition {
  if (state.status !== "online" || state.lastSeenAt === null) return unchanged(state);
  const lostAfterSeconds = HEARTBEAT_LOSS_FACTOR * state.heartbeatIntervalSeconds;
  const silentForMs = now.getTime() - state.lastSeenAt.getTime();
  if (silentForMs <= lostAfterSeconds * 1000) return unchanged(state);
  const after: LifecycleState = { ...state, status: "offline", statusReason: REASON_HEARTBEAT_LOST };
  return {
    state: after,
    actions: [
      emit("agent.heartbeat_lost", `No heartbeat for ${Math.round(silentForMs / 1000)}s (limit ${lostAfterSeconds}s)`, {
        data: { lastSeenAt: state.lastSeenAt.toISOString(), limitSeconds: lostAfterSeconds },
      }),
    ],
  };
}

function remove(state: LifecycleState): Transition {
  if (state.status === "deleting") return unchanged(state);
  return {
    state: { ...state, status: "deleting", statusReason: null, checkinDeadlineAt: null },
    actions: [{ type: "supersede_pending_attempts" }, { type: "remove_agent" }],
  };
}

/**
 * The whole policy. `state` is null only when a reconcile job finds its agent gone; every other input needs an agent.
 * The returned state is the complete new lifecycle state to persist; actions are applied in order.
 */
export function transition(
  state: LifecycleState | null,
  input: LifecycleInput,
  now: Date,
  config: PolicyConfig,
): Transition<LifecycleState | null> {
  if (state === null) return input.type === "reconcile" ? reconcile(state, input.job, now, config) : { state, actions: [] };
  return withStatusChange(state, decide(state, input, now, config));
}

function decide(state: LifecycleState, input: LifecycleInput, now: Date, config: PolicyConfig): Transition {
  switch (input.type) {
    case "reconcile":
      return reconcile(state, input.job, now, config) as Transition;
    case "start_cycle":
      return startCycle(state, input);
    case "wake_due":
      return wakeDue(state, input, now, config);
    case "wake_failed":
      return wakeFailed(state, input, now);
    case "run_failed":
      return runFailed(state, input, config);
    case "heartbeat":
      return heartbeat(state, input.credential, now);
    case "liveness_check":
      return livenessCheck(state, now);
    case "delete":
      return remove(state);
  }
}
