// The lifecycle's other jobs: removing an agent (finishes even if the process that asked died) and the periodic
// liveness sweep (docs/lifecycle.md).
import type { LifecycleService } from "../server/lifecycle/service";
import { QUEUES } from "../server/queue/queues";
import type { JobHandler } from "../server/queue/worker";

export function deleteAgentHandler(lifecycle: LifecycleService): JobHandler<{ agentId: string }> {
  return {
    queue: QUEUES.delete,
    options: { batchSize: 10, localConcurrency: 2 },
    async handle(jobs) {
      for (const job of jobs) await lifecycle.removeAgent(job.data.agentId);
    },
  };
}

export function livenessSweepHandler(lifecycle: LifecycleService, everySeconds: number): JobHandler {
  return {
    queue: QUEUES.liveness,
    everySeconds,
    async handle(_jobs, { logger }) {
      const result = await lifecycle.sweep();
      if (result.lost > 0 || result.restarted > 0 || result.repaired > 0) logger.info({ ...result }, "liveness sweep");
    },
  };
}
