// The queue worker: runs reconcile jobs at their deadlines and the periodic liveness sweep. Any number of processes
// may run it; pg-boss hands each job to exactly one of them.
import os from "node:os";
import type { PgBoss, JobResult, JobWithMetadata } from "pg-boss";
import type { Db } from "../db/prisma";
import type { EventBus, EventInput } from "../events/bus";
import type { LifecycleService } from "../lifecycle/service";
import type { Logger } from "../platform/logger";
import { metrics } from "../platform/metrics";
import { QUEUES, RECONCILE_QUEUE_POLICY, type ReconcileJobData } from "./queues";
import type { DriverFactory } from "../drivers";
import { probeAllGateways, probeGateway } from "../gateways/probe";
import { failTemplateSync, runTemplateSync, type TemplateSyncJobData } from "../gateways/template-sync";
import { runGatewaySettings } from "../gateways/agent-settings";
import type { GatewaySettingsJobData, FleetOperationJobData } from "./queues";
import type { FleetOperations } from "../fleet/operations";
import { runFleetOperationJob } from "../../jobs/fleet-operation";

export interface WorkerDeps {
  boss: PgBoss;
  db: Db;
  events: EventBus;
  lifecycle: LifecycleService;
  logger: Logger;
  pollSeconds: number;
  livenessSweepSeconds: number;
  gatewayProbeSeconds: number;
  drivers: DriverFactory;
  baseUrl: () => string;
  queueSchema: string;
  tokenOverlapSeconds?: number;
  fleet: FleetOperations;
  /** Reconcile jobs fetched and decided together (one transaction). */
  reconcileBatchSize?: number;
  /** Reconcile batches decided at once; the decisions pool has exactly this many connections (docs/scaling.md). */
  reconcileConcurrency?: number;
}

export interface WorkerHandle {
  id: string;
  stop(): Promise<void>;
}

const WORKER_BEAT_MS = 5_000;

export async function startWorker(deps: WorkerDeps): Promise<WorkerHandle> {
  const { boss, lifecycle, events, logger } = deps;
  const workerId = `${os.hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;

  // Each of `reconcileConcurrency` fetchers takes up to `reconcileBatchSize` due jobs and decides them in one
  // transaction on its own connection of the decisions pool (LifecycleService.reconcileBatch); the wakes those
  // decisions start run afterwards, limited per gateway. A full batch fetches the next one at once (burst), so a wave
  // of 10,000 deadlines is decided in a few dozen transactions (docs/scaling.md).
  await boss.work<ReconcileJobData>(
    QUEUES.reconcile,
    {
      pollingIntervalSeconds: deps.pollSeconds,
      batchSize: deps.reconcileBatchSize ?? 200,
      burstWhenBatchFull: true,
      localConcurrency: deps.reconcileConcurrency ?? 2,
      includeMetadata: true,
      perJobResults: true,
    },
    async (jobs): Promise<JobResult[]> => {
      const settled = await lifecycle.reconcileBatch(jobs.map((job) => job.data));
      const now = Date.now();
      let completed = 0;
      const records = jobs.map((job, i) => {
        const ids = { agentId: job.data.agentId, generation: job.data.generation, attempt: job.data.attempt };
        const outcome = settled[i];
        if (outcome.status === "fulfilled") {
          completed += 1;
          const decision = outcome.value;
          const lagMs = Math.max(0, now - new Date((job as JobWithMetadata<ReconcileJobData>).startAfter).getTime());
          metrics.reconcileLag.observe({ queue: QUEUES.reconcile }, lagMs / 1000);
          metrics.reconcileDecisions.inc({ decision });
          const result: JobResult = { id: job.id, status: "completed", output: { decision, lagMs } };
          const event: EventInput = {
            ...ids,
            event: "queue.worker.success",
            message: `Reconcile job done: ${decision}`,
            data: { queue: QUEUES.reconcile, jobId: job.id, decision, lagMs, worker: workerId },
          };
          return { result, event };
        }
        const error = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
        const retryLimit = (job as JobWithMetadata<ReconcileJobData>).retryLimit ?? RECONCILE_QUEUE_POLICY.retryLimit;
        const lastTry = job.retryCount >= retryLimit;
        const result: JobResult = { id: job.id, status: "failed", output: { error } };
        const event: EventInput = {
          ...ids,
          event: "queue.worker.failed",
          message: lastTry
            ? `Reconcile job failed for good after ${job.retryCount + 1} tries: ${error}; the sweep re-schedules it`
            : `Reconcile job failed (will retry, try ${job.retryCount + 1} of ${retryLimit + 1}): ${error}`,
          data: { queue: QUEUES.reconcile, jobId: job.id, retryCount: job.retryCount, retryLimit, final: lastTry, worker: workerId },
        };
        return { result, event };
      });
      metrics.jobsProcessed.inc({ queue: QUEUES.reconcile, result: "completed" }, completed);
      if (completed < jobs.length) metrics.jobsProcessed.inc({ queue: QUEUES.reconcile, result: "failed" }, jobs.length - completed);
      // One insert for the whole batch, on the decisions' own connection (the main pool may be busy with gateway
      // work); the decisions are committed already, so a failure here fails no job.
      const stored = await events.recordBatch(lifecycle.decisionsDb, records.map((r) => r.event)).catch((err) => {
        logger.warn({ err: String(err) }, "could not record the reconcile jobs' events");
        return [];
      });
      events.publish(stored);
      return records.map((r) => r.result);
    },
  );

  await boss.work<{ agentId: string }>(QUEUES.delete, { pollingIntervalSeconds: deps.pollSeconds, batchSize: 10, localConcurrency: 2 }, async (jobs) => {
    for (const job of jobs) await lifecycle.removeAgent(job.data.agentId);
  });

  await boss.work(QUEUES.liveness, { pollingIntervalSeconds: deps.pollSeconds }, async () => {
    const result = await lifecycle.sweep();
    if (result.lost > 0 || result.restarted > 0 || result.repaired > 0) logger.info({ ...result }, "liveness sweep");
  });

  // Template sync runs (server/gateways/template-sync.ts) and gateway probes (server/gateways/probe.ts).
  // Operator-triggered and periodic work: polled less often than the deadline-critical reconcile queue.
  await boss.work<TemplateSyncJobData>(QUEUES.templateSync, { pollingIntervalSeconds: Math.max(1, deps.pollSeconds), localConcurrency: 2 }, async ([job]) => {
    const syncDeps = { db: deps.db, events, drivers: deps.drivers, lifecycle, logger, baseUrl: deps.baseUrl, tokenOverlapSeconds: deps.tokenOverlapSeconds };
    try {
      await runTemplateSync(syncDeps, job.data);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      logger.error({ runId: job.data.runId, err: error }, "template sync job failed");
      await failTemplateSync(syncDeps, job.data.runId, error).catch(() => undefined);
    }
  });
  await boss.work<{ gatewayId?: string }>(QUEUES.gatewayProbe, { pollingIntervalSeconds: Math.max(1, deps.pollSeconds) }, async ([job]) => {
    const probeDeps = { db: deps.db, events, drivers: deps.drivers, logger };
    if (job.data?.gatewayId) await probeGateway(probeDeps, job.data.gatewayId);
    else await probeAllGateways(probeDeps);
  });
  await boss.work<GatewaySettingsJobData>(QUEUES.gatewaySettings, { pollingIntervalSeconds: deps.pollSeconds, localConcurrency: 2 }, async ([job]) => {
    await runGatewaySettings({ db: deps.db, boss, drivers: deps.drivers, logger }, job.data);
  });
  // Fleet operations (server/fleet/operations.ts): one at a time per worker; each bounds its own work.
  await boss.work<FleetOperationJobData>(
    QUEUES.fleetOperation,
    { pollingIntervalSeconds: Math.max(1, deps.pollSeconds), includeMetadata: true },
    async ([job]) => runFleetOperationJob({ fleet: deps.fleet, logger }, job),
  );
  const requestProbe = () =>
    boss
      .send(QUEUES.gatewayProbe, {}, { singletonKey: "probe-all", singletonSeconds: Math.max(1, Math.floor(deps.gatewayProbeSeconds)) })
      .catch((err) => logger.warn({ err: String(err) }, "could not schedule the gateway probe"));

  const requestSweep = () =>
    boss
      .send(QUEUES.liveness, {}, { singletonKey: "sweep", singletonSeconds: Math.max(1, Math.floor(deps.livenessSweepSeconds)) })
      .catch((err) => logger.warn({ err: String(err) }, "could not schedule the liveness sweep"));
  // The database's clock, like every liveness comparison (server/system/health.ts).
  const queues: string[] = Object.values(QUEUES);
  const beat = () =>
    deps.db.$executeRaw`
      INSERT INTO "QueueWorker" (id, host, pid, "queueSchema", queues, "startedAt", "lastBeatAt")
      VALUES (${workerId}, ${os.hostname()}, ${process.pid}, ${deps.queueSchema}, ${queues}::text[], clock_timestamp(), clock_timestamp())
      ON CONFLICT (id) DO UPDATE SET "lastBeatAt" = clock_timestamp()`.catch((err) => logger.warn({ err: String(err) }, "worker beat failed"));

  await beat();
  void requestSweep();
  void requestProbe();
  const sweepTimer = setInterval(requestSweep, deps.livenessSweepSeconds * 1000);
  const probeTimer = setInterval(requestProbe, deps.gatewayProbeSeconds * 1000);
  probeTimer.unref();
  const beatTimer = setInterval(beat, WORKER_BEAT_MS);
  sweepTimer.unref();
  beatTimer.unref();
  logger.info({ worker: workerId, queueSchema: deps.queueSchema, queues: Object.values(QUEUES) }, "queue worker started");

  return {
    id: workerId,
    async stop() {
      clearInterval(sweepTimer);
      clearInterval(probeTimer);
      clearInterval(beatTimer);
      await boss.offWork(QUEUES.reconcile, { wait: true }).catch(() => undefined);
      await boss.offWork(QUEUES.delete, { wait: true }).catch(() => undefined);
      await boss.offWork(QUEUES.liveness, { wait: true }).catch(() => undefined);
      await boss.offWork(QUEUES.templateSync, { wait: true }).catch(() => undefined);
      await boss.offWork(QUEUES.gatewayProbe, { wait: true }).catch(() => undefined);
      await boss.offWork(QUEUES.gatewaySettings, { wait: true }).catch(() => undefined);
      await boss.offWork(QUEUES.fleetOperation, { wait: true }).catch(() => undefined);
      await deps.db.queueWorker.delete({ where: { id: workerId } }).catch(() => undefined);
    },
  };
}

export const WORKER_STALE_AFTER_MS = 3 * WORKER_BEAT_MS;
