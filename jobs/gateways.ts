// Gateway jobs: template sync runs (server/gateways/template-sync.ts), probes (server/gateways/probe.ts) and the
// gateway-side settings of a gateway's agents (server/gateways/agent-settings.ts). Operator-triggered and periodic
// work, polled less often than the deadline-critical reconcile queue.
import type { PgBoss } from "pg-boss";
import type { Db } from "../server/db/prisma";
import type { DriverFactory } from "../server/drivers";
import type { EventBus } from "../server/events/bus";
import { runGatewaySettings } from "../server/gateways/agent-settings";
import { probeAllGateways, probeGateway } from "../server/gateways/probe";
import { failTemplateSync, runTemplateSync } from "../server/gateways/template-sync";
import type { LifecycleService } from "../server/lifecycle/service";
import type { Logger } from "../server/platform/logger";
import { QUEUES, type GatewayProbeJobData, type GatewaySettingsJobData, type TemplateSyncJobData } from "../server/queue/queues";
import type { JobHandler } from "../server/queue/worker";

export interface GatewayJobDeps {
  db: Db;
  boss: PgBoss;
  events: EventBus;
  drivers: DriverFactory;
  lifecycle: LifecycleService;
  logger: Logger;
  baseUrl: () => string;
  tokenOverlapSeconds: number;
  /** Seconds between probes of every gateway. */
  probeSeconds: number;
  /** At least one second between polls: nothing here is deadline-critical. */
  pollSeconds: number;
}

export function gatewayHandlers(deps: GatewayJobDeps): JobHandler[] {
  const slowPoll = Math.max(1, deps.pollSeconds);
  const templateSync: JobHandler<TemplateSyncJobData> = {
    queue: QUEUES.templateSync,
    options: { pollingIntervalSeconds: slowPoll, localConcurrency: 2 },
    async handle([job]) {
      try {
        await runTemplateSync(deps, job.data);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        deps.logger.error({ runId: job.data.runId, err: error }, "template sync job failed");
        await failTemplateSync(deps, job.data.runId, error).catch(() => undefined);
      }
    },
  };
  const probe: JobHandler<GatewayProbeJobData> = {
    queue: QUEUES.gatewayProbe,
    options: { pollingIntervalSeconds: slowPoll },
    everySeconds: deps.probeSeconds,
    async handle([job]) {
      if (job.data?.gatewayId) await probeGateway(deps, job.data.gatewayId);
      else await probeAllGateways(deps);
    },
  };
  const settings: JobHandler<GatewaySettingsJobData> = {
    queue: QUEUES.gatewaySettings,
    options: { localConcurrency: 2 },
    async handle([job]) {
      await runGatewaySettings(deps, job.data);
    },
  };
  return [templateSync, probe, settings];
}
