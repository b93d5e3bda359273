// Reconcile jobs, due at an agent's check-in deadline. Each of RECONCILE_CONCURRENCY fetchers takes up to
// RECONCILE_BATCH_SIZE due jobs and decides them in one transaction on its own connection of the decisions pool
// (LifecycleService.reconcileBatch); the wakes those decisions start run afterwards, limited per gateway. A full batch
// fetches the next one at once (burst), so a wave of 10,000 deadlines is decided in a few dozen transactions
// (docs/scaling.md).
import type { JobResult, JobWithMetadata } from "pg-boss";
import type { EventBus, EventInput } from "../server/events/bus";
import type { LifecycleService } from "../server/lifecycle/service";
import { metrics } from "../server/platform/metrics";
import { QUEUES, RECONCILE_QUEUE_POLICY, type ReconcileJobData } from "../server/queue/queues";
import type { JobHandler } from "../server/queue/worker";

export interface ReconcileHandlerDeps {
  lifecycle: LifecycleService;
  events: EventBus;
  batchSize: number;
  concurrency: number;
}

export function reconcileHandler(deps: ReconcileHandlerDeps): JobHandler<ReconcileJobData> {
  const { lifecycle, events } = deps;
  return {
    queue: QUEUES.reconcile,
    options: { batchSize: deps.batchSize, burstWhenBatchFull: true, localConcurrency: deps.concurrency, includeMetadata: true, perJobResults: true },
    async handle(jobs, { workerId, logger }): Promise<JobResult[]> {
      const settled = await lifecycle.reconcileBatch(jobs.map((job) => job.data));
      const now = Date.now();
      let completed = 0;
      const records = jobs.map((job, i) => {
        const meta = job as JobWithMetadata<ReconcileJobData>;
        const ids = { agentId: job.data.agentId, generation: job.data.generation, attempt: job.data.attempt };
        const outcome = settled[i];
        if (outcome.status === "fulfilled") {
          completed += 1;
          const decision = outcome.value;
          const lagMs = Math.max(0, now - new Date(meta.startAfter).getTime());
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
        const retryLimit = meta.retryLimit ?? RECONCILE_QUEUE_POLICY.retryLimit;
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
  };
}
