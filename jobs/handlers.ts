// Every queue a worker serves, and the handler for it: what `App.startWorker` runs (main/server.ts, main/worker.ts
// and the test harness pass this table to createApp). A new job is a handler here plus its queue in
// server/queue/queues.ts.
import type { App } from "../server/runtime/app";
import type { JobHandler } from "../server/queue/worker";
import { fleetOperationHandler } from "./fleet-operation";
import { gatewayHandlers } from "./gateways";
import { deleteAgentHandler, livenessSweepHandler } from "./lifecycle";
import { reconcileHandler } from "./reconcile";
import { retentionHandler } from "./retention";

export function jobHandlers(app: App): JobHandler[] {
  const { config, lifecycle, logger } = app;
  return [
    reconcileHandler({ lifecycle, events: app.events, batchSize: config.RECONCILE_BATCH_SIZE, concurrency: config.RECONCILE_CONCURRENCY }),
    deleteAgentHandler(lifecycle),
    livenessSweepHandler(lifecycle, config.LIVENESS_SWEEP_SECONDS),
    ...gatewayHandlers({
      db: app.db,
      boss: app.boss,
      events: app.events,
      drivers: app.drivers,
      lifecycle,
      logger,
      baseUrl: app.baseUrl,
      tokenOverlapSeconds: config.AGENT_TOKEN_OVERLAP_SECONDS,
      probeSeconds: config.GATEWAY_PROBE_SECONDS,
      pollSeconds: config.QUEUE_POLL_SECONDS,
    }),
    fleetOperationHandler({ fleet: app.fleet, logger }, config.QUEUE_POLL_SECONDS),
    retentionHandler(app.db, {
      schedule: config.RETENTION_SCHEDULE,
      historyDays: config.RETENTION_DAYS,
      auditDays: config.AUDIT_RETENTION_DAYS,
      batchSize: config.RETENTION_BATCH_SIZE,
    }),
  ];
}
