// The fleet operation job: runs (or resumes) one operation of server/fleet/operations.ts. A failure is retried by
// pg-boss from the operation's cursor; the last try marks the operation failed so the console stops waiting for it.
import type { Job, JobWithMetadata } from "pg-boss";
import type { FleetOperations } from "../server/fleet/operations";
import type { Logger } from "../server/platform/logger";
import { FLEET_OPERATION_QUEUE_POLICY, QUEUES, type FleetOperationJobData } from "../server/queue/queues";
import type { JobHandler } from "../server/queue/worker";

export interface FleetOperationJobDeps {
  fleet: FleetOperations;
  logger: Logger;
}

export async function runFleetOperationJob(deps: FleetOperationJobDeps, job: Job<FleetOperationJobData>): Promise<void> {
  const { operationId } = job.data;
  try {
    const view = await deps.fleet.run(operationId);
    if (view) deps.logger.info({ operationId, kind: view.kind, total: view.total, done: view.done, failed: view.failed, status: view.status }, "fleet operation ended");
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    const meta = job as Partial<JobWithMetadata<FleetOperationJobData>>;
    const retryLimit = meta.retryLimit ?? FLEET_OPERATION_QUEUE_POLICY.retryLimit;
    const retryCount = meta.retryCount ?? 0;
    deps.logger.warn({ operationId, err: error, retryCount, retryLimit }, "fleet operation failed; the job retries from its cursor");
    if (retryCount >= retryLimit) await deps.fleet.fail(operationId, error).catch(() => undefined);
    throw err;
  }
}

/** One operation at a time per worker; each bounds its own work. */
export function fleetOperationHandler(deps: FleetOperationJobDeps, pollSeconds: number): JobHandler<FleetOperationJobData> {
  return {
    queue: QUEUES.fleetOperation,
    options: { pollingIntervalSeconds: Math.max(1, pollSeconds), includeMetadata: true },
    handle: ([job]) => runFleetOperationJob(deps, job),
  };
}
