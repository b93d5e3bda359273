// The operator recovery checklist behind the Diagnose panel (components/agent/diagnose.tsx), as a pure function over
// an agent's data, so that notifications (server/notifications) say the same verdict the agent page shows.
import { agentProblem, hasStaleTemplates, shortRevision } from "./agents";
import { formatAbsolute, formatDuration, formatRelative, toDate } from "./time";
import type { AgentStatus, WakeOutcome } from "./status";

export type FixAction = "reprovision" | "wake" | "rotate";

export type CheckState = "ok" | "warn" | "fail" | "unknown";
export interface Check {
  key: string;
  label: string;
  state: CheckState;
  detail: string;
}

export type Cause =
  | "no_worker"
  | "gateway_unreachable"
  | "device_not_paired"
  | "run_failed"
  | "old_token"
  | "heartbeats_rejected"
  | "stale_templates"
  | "no_checkin"
  | "heartbeat_lost"
  | "provision_failed"
  | "converging"
  | "stuck"
  | "deleting"
  | "healthy";

export interface Verdict {
  cause: Cause;
  sentence: string;
  fix: FixAction | "worker" | "gateway" | null;
  fixLabel?: string;
}

export interface GatewayFacts {
  status: string;
  lastError: string | null;
  lastContactAt: Date | string | null;
  runtimeVersion: string | null;
  /** OpenClaw: the gateway's pending pairing request for Mission Control's device. */
  pairingRequestId?: string | null;
}

type Instant = Date | string | null;

/**
 * The facts of an agent Diagnose reads: what `agents.get` returns, written out here so that lib/ stays free of the
 * server's router types (the server builds the same shape for notifications).
 */
export interface DiagnoseAgent {
  status: AgentStatus;
  statusReason: string | null;
  lastProvisionError: string | null;
  lastSeenAt: Instant;
  lastWakeSentAt: Instant;
  cycleStartedAt: Instant;
  checkinDeadlineAt: Instant;
  lastRejectedAt: Instant;
  lastRejectedReason: string | null;
  heartbeatsAccepted: number;
  heartbeatsRejected: number;
  wakeAttempts: number;
  maxWakeAttempts: number;
  templateRevision: string | null;
  gateway: { name: string; driver: string; status: string; templateRevision: string | null };
  attempts: { generation: number; attempt: number; sentAt: Instant; outcome: WakeOutcome | null; error: string | null; runError?: string | null }[];
}

export interface DiagnoseInput {
  agent: DiagnoseAgent;
  health: { workersAlive: number; queueSchema: string } | undefined;
  gateway: GatewayFacts | undefined;
  events: DiagnoseEvent[];
  now: number;
}

export const ms = (d: Date | string | null | undefined) => toDate(d)?.getTime() ?? 0;

const RUN_FAILED = "agent run failed on the gateway: ";

/** The gateway's words when the last error is a failed run (server/lifecycle/policy.ts words it so). */
function runFailure(lastError: string | null): string | null {
  const at = lastError?.indexOf(RUN_FAILED) ?? -1;
  return at >= 0 ? lastError!.slice(at + RUN_FAILED.length) : null;
}

/** The last wake of the current cycle and whether it reached the gateway. */
/** The events Diagnose reads: whether each wake reached the gateway. */
export interface DiagnoseEvent {
  event: string;
  generation?: number | null;
  attempt?: number | null;
  at: Date;
  message: string;
}

function lastWake(agent: DiagnoseAgent, events: DiagnoseEvent[]) {
  const attempt = [...agent.attempts].sort((a, b) => ms(b.sentAt) - ms(a.sentAt))[0];
  if (!attempt) return null;
  const sent = events.find((e) => e.event === "lifecycle.wake.sent" && e.generation === attempt.generation && e.attempt === attempt.attempt);
  const failed = events.find((e) => e.event === "lifecycle.wake.failed" && e.generation === attempt.generation && e.attempt === attempt.attempt);
  const reached = attempt.outcome === "rpc_failed" || failed ? false : sent || attempt.outcome === "checked_in" ? true : null;
  return { attempt, reached, error: attempt.error ?? (failed ? failed.message : null), sentEventAt: sent?.at ?? null, runError: attempt.runError ?? null };
}

/** The operator recovery checklist (docs/architecture.md, Contracts (pages) Diagnose, docs/ops/) over live data, and the one thing to do about it. */
export function diagnose({ agent, health, gateway, events, now }: DiagnoseInput): { checks: Check[]; verdict: Verdict } {
  const problem = agentProblem(agent);
  const gwStatus = gateway?.status ?? agent.gateway.status;
  const gwError = gateway?.lastError ?? null;
  const wake = lastWake(agent, events);
  const stale = hasStaleTemplates(agent);
  const cycleStart = ms(agent.cycleStartedAt) || ms(agent.lastWakeSentAt);
  const rejectedAt = ms(agent.lastRejectedAt);
  const rejectedThisCycle = agent.heartbeatsRejected > 0 && rejectedAt > 0 && rejectedAt >= cycleStart - 1000;
  const inCycle = agent.status === "provisioning" || agent.status === "updating" || agent.status === "waking";
  const gatewayDown = gwStatus === "unreachable" || gwStatus === "incompatible" || problem?.kind === "gateway_unreachable" || wake?.reached === false;

  const checks: Check[] = [];
  checks.push(
    !health
      ? { key: "worker", label: "Queue worker running", state: "unknown", detail: "Checking…" }
      : health.workersAlive > 0
        ? {
            key: "worker",
            label: "Queue worker running",
            state: "ok",
            detail: `${health.workersAlive} alive on queue schema ${health.queueSchema}`,
          }
        : {
            key: "worker",
            label: "Queue worker running",
            state: "fail",
            detail: "No worker: deadlines, retries and syncs are not processed. Run `npm run worker` (or restart with MC_WORKER=1).",
          },
  );
  checks.push(
    gwStatus === "reachable"
      ? {
          key: "gateway",
          label: "Gateway reachable",
          state: "ok",
          detail: `${agent.gateway.name} (${agent.gateway.driver}${gateway?.runtimeVersion ? ` ${gateway.runtimeVersion}` : ""})${
            gateway?.lastContactAt ? `, last contact ${formatRelative(gateway.lastContactAt, now)}` : ""
          }`,
        }
      : gwStatus === "unknown"
        ? { key: "gateway", label: "Gateway reachable", state: wake?.reached === false ? "fail" : "unknown", detail: "Not probed yet" }
        : {
            key: "gateway",
            label: "Gateway reachable",
            state: "fail",
            detail: `${agent.gateway.name} is ${gwStatus}${gwError ? `: ${gwError}` : ""}.`,
          },
  );
  checks.push(
    stale
      ? {
          key: "templates",
          label: "Templates current",
          state: "warn",
          detail: `Agent has ${shortRevision(agent.templateRevision)}, gateway ${shortRevision(agent.gateway.templateRevision)}.`,
        }
      : {
          key: "templates",
          label: "Templates current",
          state: agent.templateRevision ? "ok" : "unknown",
          detail: agent.templateRevision ? `Revision ${shortRevision(agent.templateRevision)}` : "No templates delivered yet",
        },
  );
  checks.push(
    agent.heartbeatsRejected > 0
      ? {
          key: "rejected",
          label: "Heartbeats accepted",
          state: rejectedThisCycle ? "fail" : "warn",
          detail: `${agent.heartbeatsRejected} rejected${agent.lastRejectedReason ? ` (last: ${agent.lastRejectedReason}` : ""}${
            agent.lastRejectedAt ? `${agent.lastRejectedReason ? ", " : " ("}${formatRelative(agent.lastRejectedAt, now)}, ${formatAbsolute(agent.lastRejectedAt)})` : agent.lastRejectedReason ? ")" : ""
          }${rejectedThisCycle ? " — during the current cycle." : " — before the current cycle."}`,
        }
      : { key: "rejected", label: "Heartbeats accepted", state: "ok", detail: `None rejected; ${agent.heartbeatsAccepted} accepted` },
  );
  checks.push(
    problem
      ? { key: "error", label: "Last error", state: "fail", detail: problem.text }
      : { key: "error", label: "Last error", state: "ok", detail: "None" },
  );
  checks.push(
    !wake
      ? { key: "wake", label: "Last wake reached the gateway", state: "unknown", detail: "No wake sent yet" }
      : wake.reached === false
        ? {
            key: "wake",
            label: "Last wake reached the gateway",
            state: "fail",
            detail: `No: cycle ${wake.attempt.generation} attempt ${wake.attempt.attempt} failed at the gateway${wake.error ? `: ${wake.error}` : ""}.`,
          }
        : wake.runError
          ? {
              key: "wake",
              label: "Last wake reached the gateway",
              state: "fail",
              detail: `Yes, but the agent's run failed there: ${wake.runError}`,
            }
          : wake.reached === true
          ? {
              key: "wake",
              label: "Last wake reached the gateway",
              state: "ok",
              detail: `Yes: attempt ${wake.attempt.attempt} of cycle ${wake.attempt.generation} delivered ${formatRelative(wake.sentEventAt ?? wake.attempt.sentAt, now)}.`,
            }
          : {
              key: "wake",
              label: "Last wake reached the gateway",
              state: "unknown",
              detail: `Attempt ${wake.attempt.attempt} sent ${formatRelative(wake.attempt.sentAt, now)}; no answer from the gateway yet.`,
            },
  );

  const verdict = ((): Verdict => {
    if (agent.status === "deleting") return { cause: "deleting", sentence: "The agent is being deleted.", fix: null };
    const noWorker = health && health.workersAlive === 0;
    if (noWorker && agent.status !== "online") {
      return {
        cause: "no_worker",
        sentence:
          "No queue worker is running, so this agent's deadlines and retries never fire: start a worker (`npm run worker`) — nothing on this page can fix it until then.",
        fix: "worker",
        fixLabel: "Open System",
      };
    }
    if (gateway?.pairingRequestId && agent.status !== "online") {
      return {
        cause: "device_not_paired",
        sentence: `Gateway ${agent.gateway.name} is waiting for its owner to approve Mission Control's device: on the gateway host run \`openclaw devices approve ${gateway.pairingRequestId}\`, then probe the gateway and press Reprovision.`,
        fix: "gateway",
        fixLabel: "Open gateway",
      };
    }
    if (gatewayDown && agent.status !== "online") {
      return {
        cause: "gateway_unreachable",
        sentence: `Gateway ${agent.gateway.name} is unreachable${gwError || wake?.error ? ` (${gwError ?? wake?.error})` : ""}, so wakes never reach the agent — this is not the agent's fault: fix the gateway's URL, token or network, then press Reprovision.`,
        fix: "gateway",
        fixLabel: "Open gateway",
      };
    }
    // Heartbeats arrive after the last wake but did not count (a counted one makes the agent online): they carry the
    // token of an earlier cycle — the old session is alive, this cycle's provisioning never reached it.
    const seenThisCycle = agent.lastSeenAt && agent.lastWakeSentAt && new Date(agent.lastSeenAt) > new Date(agent.lastWakeSentAt);
    if (seenThisCycle && (agent.status === "waking" || (agent.status === "offline" && problem?.kind !== "heartbeat_lost"))) {
      return {
        cause: "old_token",
        sentence:
          "The agent is alive but still checks in with the token of an earlier cycle, so this cycle's provisioning did not reach it (see the last error): fix what the error says, then press Reprovision.",
        fix: "reprovision",
        fixLabel: "Reprovision",
      };
    }
    const runError = wake?.runError ?? runFailure(agent.lastProvisionError);
    if (runError && agent.status !== "online" && !rejectedThisCycle) {
      return {
        cause: "run_failed",
        sentence: `The wakes reach ${agent.gateway.name}, but the gateway reports that the agent's run fails: "${runError}". The agent cannot check in until the gateway can run it (e.g. a model provider configured for it); fix that on the gateway, then press Reprovision.`,
        fix: "reprovision",
        fixLabel: "Reprovision",
      };
    }
    if (rejectedThisCycle && agent.status !== "online") {
      return {
        cause: "heartbeats_rejected",
        sentence: `The agent calls back but its heartbeats are rejected (${agent.lastRejectedReason ?? "bad token"}): press Reprovision to deliver a new token with current templates.`,
        fix: "reprovision",
        fixLabel: "Reprovision",
      };
    }
    if (stale && agent.status !== "online") {
      return {
        cause: "stale_templates",
        sentence: "The agent runs stale templates (older heartbeat instructions or token): press Reprovision to deliver the current revision.",
        fix: "reprovision",
        fixLabel: "Reprovision",
      };
    }
    if (agent.status === "offline" && problem?.kind === "heartbeat_lost") {
      return {
        cause: "heartbeat_lost",
        sentence: "The agent checked in, then its heartbeats stopped (its runtime likely crashed or lost its session): press Wake to start a new cycle.",
        fix: "wake",
        fixLabel: "Wake",
      };
    }
    if (agent.status === "offline" && problem?.kind === "no_checkin") {
      return {
        cause: "no_checkin",
        sentence: `Every wake reached the gateway but the agent never called the heartbeat API after ${agent.wakeAttempts || agent.maxWakeAttempts} attempts (runtime not starting, or a wrong base URL): press Reprovision to start a fresh cycle.`,
        fix: "reprovision",
        fixLabel: "Reprovision",
      };
    }
    if (agent.status === "offline") {
      return {
        cause: "provision_failed",
        sentence: `The agent is offline${problem ? `: ${problem.text}` : ""}. Press Reprovision to start a new cycle.`,
        fix: "reprovision",
        fixLabel: "Reprovision",
      };
    }
    if (inCycle) {
      const deadline = ms(agent.checkinDeadlineAt);
      if (deadline && now - deadline > 15_000) {
        return {
          cause: "stuck",
          sentence: `The check-in deadline passed ${formatDuration(now - deadline)} ago and nothing reconciled it: check the queue on the System page, then Reprovision.`,
          fix: "reprovision",
          fixLabel: "Reprovision",
        };
      }
      return {
        cause: "converging",
        sentence:
          agent.status === "waking"
            ? `Waiting for the agent to check in: attempt ${agent.wakeAttempts}/${agent.maxWakeAttempts}${deadline ? `, deadline ${formatRelative(deadline, now)}` : ""}. Nothing to do yet.`
            : `A ${agent.status === "provisioning" ? "provisioning" : "update"} cycle is running. Nothing to do yet.`,
        fix: null,
      };
    }
    return {
      cause: "healthy",
      sentence: `Healthy: online${agent.lastSeenAt ? `, last heartbeat ${formatRelative(agent.lastSeenAt, now)}` : ""}.${stale ? " Its templates are stale: Reprovision when convenient." : ""}`,
      fix: stale ? "reprovision" : null,
      fixLabel: stale ? "Reprovision" : undefined,
    };
  })();

  return { checks, verdict };
}
