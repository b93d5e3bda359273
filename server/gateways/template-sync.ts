// "Sync templates": pushes the current template revision to every agent of a gateway, records a run with a result per
// agent, and (on request) wakes the agents afterwards. It never touches lifecycle fields and never cancels a cycle in
// progress. Where the runtime keeps the agent's token in a file (OpenClaw), the token found there is compared with the
// stored hash; a token that drifted (edited, lost, another agent's) is replaced by a new one, delivered in the same
// write, and only then stored. A token read back is never adopted.
//
// Events (the console depends on them):
//   gateway.templates.sync.started                    {runId, total, wake, revision}
//   gateway.templates.sync.succeeded|failed + agentId {runId, done, total, error?}         one per agent
//   gateway.templates.sync.succeeded|failed           {runId, final: true, succeeded, failed, revision}  (failed if any agent failed)
import type { PgBoss } from "pg-boss";
import pLimit from "p-limit";
import type { Db, Tx } from "../db/prisma";
import type { EventBus } from "../events/bus";
import type { Logger } from "../platform/logger";
import type { DriverFactory } from "../drivers";
import type { DriverAgent, GatewayDriver } from "../drivers/types";
import { GatewayCallError, describeGatewayError, gatewayUnreachableError, withTimeout } from "../drivers/types";
import { gatewayConnectionOf, gatewayConnectionSelect } from "../drivers/connection";
import type { LifecycleService } from "../lifecycle/service";
import { renderTemplates, templateContextOf, TEMPLATE_REVISION } from "../templates/render";
import { enqueueTemplateSync, type TemplateSyncJobData } from "../queue/queues";
import { checkAgentToken, issueAgentToken, parseAgentToken } from "../agent-model/tokens";
import { storeDeliveredToken } from "../agent-model/token-store";


export interface TemplateSyncDeps {
  db: Db;
  events: EventBus;
  drivers: DriverFactory;
  lifecycle: LifecycleService;
  logger: Logger;
  baseUrl: () => string;
  /** Longest one agent's sync call may take. */
  callTimeoutMs?: number;
  /** Agents synced in parallel. */
  concurrency?: number;
  /** How long a replaced token keeps working (AGENT_TOKEN_OVERLAP_SECONDS). */
  tokenOverlapSeconds?: number;
}

/** A run still `running` after this long was abandoned by a dead worker; it no longer blocks a new one. */
export const SYNC_RUN_STALE_MS = 60 * 60 * 1000;
/** Agents in the middle of a cycle: a sync never wakes them (their cycle already does). */
const IN_CYCLE = new Set(["provisioning", "updating", "waking", "deleting"]);
/** Agents whose provisioning is writing their files (and a new token) right now. */
const PROVISIONING = new Set(["provisioning", "updating"]);

/** True when the token read from the agent's files is missing, not this agent's, or not one Mission Control accepts. */
async function tokenRepairNeeded(db: Db, agentId: string, delivered: string | null): Promise<boolean> {
  const parsed = delivered ? parseAgentToken(delivered) : null;
  if (!parsed || parsed.agentId !== agentId) return true;
  const stored = await db.agent.findUnique({
    where: { id: agentId },
    select: { tokenHash: true, pendingTokenHash: true, previousTokenHash: true, previousTokenExpiresAt: true },
  });
  return !stored || !checkAgentToken(parsed.secretHash, stored, new Date()).ok;
}

/** Creates the run and enqueues its job in one transaction: a run never exists without the job that completes it. */
export async function startTemplateSync(
  db: Db,
  boss: PgBoss,
  input: { gatewayId: string; wake: boolean; actor: string },
): Promise<{ runId: string }> {
  return db.$transaction(async (tx: Tx) => {
    const run = await tx.templateSyncRun.create({
      data: { gatewayId: input.gatewayId, revision: TEMPLATE_REVISION, wake: input.wake, startedBy: input.actor },
      select: { id: true },
    });
    await enqueueTemplateSync(boss, tx, run.id);
    return { runId: run.id };
  });
}

/** Marks runs abandoned by a dead worker as failed; returns the id of a run that is genuinely still running, if any. */
export async function runningSync(db: Db, gatewayId: string, now = new Date()): Promise<string | null> {
  await db.templateSyncRun.updateMany({
    where: { gatewayId, status: "running", startedAt: { lt: new Date(now.getTime() - SYNC_RUN_STALE_MS) } },
    data: { status: "failed", finishedAt: now },
  });
  const run = await db.templateSyncRun.findFirst({ where: { gatewayId, status: "running" }, select: { id: true } });
  return run?.id ?? null;
}

/** The job: runs one sync run to its end. Safe to call twice for the same run (a finished run is left alone). */
export async function runTemplateSync(deps: TemplateSyncDeps, job: TemplateSyncJobData): Promise<{ succeeded: number; failed: number } | null> {
  const { db, events } = deps;
  const run = await db.templateSyncRun.findUnique({ where: { id: job.runId } });
  if (!run || run.status !== "running") return null;
  const revision = TEMPLATE_REVISION;
  const gateway = await db.gateway.findUnique({
    where: { id: run.gatewayId },
    select: { ...gatewayConnectionSelect, status: true, lastError: true },
  });
  if (!gateway) {
    await db.templateSyncRun.update({ where: { id: run.id }, data: { status: "failed", finishedAt: new Date() } });
    return { succeeded: 0, failed: 0 };
  }

  const agents = await db.agent.findMany({
    where: { gatewayId: gateway.id, status: { not: "deleting" } },
    select: {
      id: true,
      name: true,
      kind: true,
      status: true,
      boardId: true,
      sessionKey: true,
      heartbeatIntervalSeconds: true,
      simulatorBehaviour: true,
      board: { select: { name: true } },
    },
    orderBy: [{ boardId: "asc" }, { name: "asc" }],
  });
  const total = agents.length;
  await db.templateSyncRun.update({ where: { id: run.id }, data: { total, revision, succeeded: 0, failed: 0 } });
  await events.emit({
    event: "gateway.templates.sync.started",
    gatewayId: gateway.id,
    actor: run.startedBy,
    message: `Template sync of ${gateway.name} started: revision ${revision} to ${total} agent${total === 1 ? "" : "s"}${run.wake ? ", then wake" : ""}`,
    data: { runId: run.id, total, wake: run.wake, revision },
  });

  // The driver is built once per run; a gateway that cannot have a driver, or that the last probe found unreachable,
  // fails every agent at once instead of waiting for a timeout per agent.
  let driver: GatewayDriver | null = null;
  let gatewayProblem: string | null = null;
  if (gateway.status === "unreachable") {
    gatewayProblem = gatewayUnreachableError(gateway.lastError);
  } else {
    try {
      driver = deps.drivers(gatewayConnectionOf(gateway));
    } catch (err) {
      gatewayProblem = describeGatewayError(err);
    }
  }

  const baseUrl = deps.baseUrl();
  let succeeded = 0;
  let failed = 0;
  const syncOne = async (agent: (typeof agents)[number]) => {
    let error: string | null = null;
    let tokenRepaired = false;
    try {
      if (gatewayProblem || !driver) throw new GatewayCallError(gatewayProblem ?? "no driver", "unreachable");
      const files = await renderTemplates(
        templateContextOf(
          { id: agent.id, name: agent.name, kind: agent.kind, sessionKey: agent.sessionKey, heartbeatIntervalSeconds: agent.heartbeatIntervalSeconds },
          { name: gateway.name },
          agent.board,
          baseUrl,
        ),
      );
      const target: DriverAgent = {
        id: agent.id,
        name: agent.name,
        kind: agent.kind,
        boardId: agent.boardId,
        sessionKey: agent.sessionKey,
        heartbeatIntervalSeconds: agent.heartbeatIntervalSeconds,
        simulatorBehaviour: agent.simulatorBehaviour,
      };
      const timeoutMs = deps.callTimeoutMs ?? 10_000;
      if (driver.deliveredToken && !PROVISIONING.has(agent.status)) {
        // The file holds the token: check it, and replace it if it drifted (see the top of this file).
        const delivered = await withTimeout(driver.deliveredToken(target), timeoutMs, "reading the delivered token");
        const repair = await tokenRepairNeeded(db, agent.id, delivered);
        const issued = repair ? issueAgentToken(agent.id) : null;
        await withTimeout(driver.syncTemplates(target, files, { token: issued?.token ?? delivered ?? undefined }), timeoutMs, "template sync");
        if (issued) {
          await storeDeliveredToken(db, agent.id, issued, deps.tokenOverlapSeconds ?? 600);
          tokenRepaired = true;
        }
      } else if (driver.deliveredToken) {
        // Its provisioning is writing the current templates and a new token right now: leave the files to it.
      } else {
        await withTimeout(driver.syncTemplates(target, files), timeoutMs, "template sync");
      }
      // Only the revision: status, attempts, deadline and generation belong to the lifecycle.
      await db.agent.updateMany({ where: { id: agent.id }, data: { templateRevision: revision } });
    } catch (err) {
      error = describeGatewayError(err);
    }
    const ok = error === null;
    await db.templateSyncResult.create({ data: { runId: run.id, agentId: agent.id, ok, error, tokenRepaired } });
    const counts = await db.templateSyncRun.update({
      where: { id: run.id },
      data: ok ? { succeeded: { increment: 1 } } : { failed: { increment: 1 } },
      select: { succeeded: true, failed: true },
    });
    if (ok) succeeded += 1;
    else failed += 1;
    const done = counts.succeeded + counts.failed;
    await events.emit({
      event: ok ? "gateway.templates.sync.succeeded" : "gateway.templates.sync.failed",
      agentId: agent.id,
      gatewayId: gateway.id,
      boardId: agent.boardId,
      actor: run.startedBy,
      message: ok
        ? `Templates ${revision} synced to ${agent.name} (${done}/${total})${tokenRepaired ? "; its token had drifted and was replaced" : ""}`
        : `Template sync to ${agent.name} failed (${done}/${total}): ${error}`,
      data: { runId: run.id, done, total, ...(ok ? {} : { error }), ...(tokenRepaired ? { tokenRepaired } : {}) },
    });
    if (ok && run.wake) await wakeAfterSync(deps, agent.id, run.startedBy);
  };

  const limit = pLimit(deps.concurrency ?? 8);
  await Promise.all(agents.map((agent) => limit(() => syncOne(agent))));

  const status = failed > 0 ? "failed" : "succeeded";
  await db.templateSyncRun.update({ where: { id: run.id }, data: { status, finishedAt: new Date(), succeeded, failed } });
  await db.gateway.update({ where: { id: gateway.id }, data: { templateRevision: revision } });
  await events.emit({
    event: failed > 0 ? "gateway.templates.sync.failed" : "gateway.templates.sync.succeeded",
    gatewayId: gateway.id,
    actor: run.startedBy,
    message:
      failed > 0
        ? `Template sync of ${gateway.name} finished with failures: ${succeeded} succeeded, ${failed} failed (revision ${revision})`
        : `Template sync of ${gateway.name} finished: ${succeeded} agent${succeeded === 1 ? "" : "s"} on revision ${revision}`,
    data: { runId: run.id, final: true, succeeded, failed, revision },
  });
  return { succeeded, failed };
}

/** Marks a run whose job failed outright (e.g. the database went away) as failed, with the final event. */
export async function failTemplateSync(deps: Pick<TemplateSyncDeps, "db" | "events">, runId: string, error: string): Promise<void> {
  const run = await deps.db.templateSyncRun.findUnique({ where: { id: runId } });
  if (!run || run.status !== "running") return;
  await deps.db.templateSyncRun.update({ where: { id: runId }, data: { status: "failed", finishedAt: new Date() } });
  await deps.events.emit({
    event: "gateway.templates.sync.failed",
    gatewayId: run.gatewayId,
    actor: run.startedBy,
    message: `Template sync failed: ${error}`,
    data: { runId, final: true, succeeded: run.succeeded, failed: run.failed, revision: run.revision, error },
  });
}

async function wakeAfterSync(deps: TemplateSyncDeps, agentId: string, actor: string): Promise<void> {
  // Read the status now, not at the start of the run: a cycle may have started meanwhile.
  const current = await deps.db.agent.findUnique({ where: { id: agentId }, select: { status: true } });
  if (!current || IN_CYCLE.has(current.status)) return;
  try {
    await deps.lifecycle.startCycle(agentId, actor, "template sync", "wake");
  } catch (err) {
    deps.logger.warn({ agentId, err: describeGatewayError(err) }, "could not wake the agent after a template sync");
  }
}
