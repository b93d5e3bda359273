// Gateway-side settings of every agent of one gateway, written at once. For OpenClaw these are the agents' entries in
// the gateway config (heartbeat cadence and prompt): one `config.patch` for the whole gateway, because gateways
// rate-limit config writes (OpenClaw 2026.4: 3 per minute) and a board's agents are provisioned one after another.
// A rate-limit answer is not a failure: the job runs again when the gateway's retry hint says it may.
import type { PgBoss } from "pg-boss";
import type { Db } from "../db/prisma";
import type { Logger } from "../platform/logger";
import type { DriverFactory } from "../drivers";
import { GatewayCallError, describeGatewayError, withTimeout } from "../drivers/types";
import { gatewayConnectionOf, gatewayConnectionSelect } from "../drivers/connection";
import { requestGatewaySettings, type GatewaySettingsJobData } from "../queue/queues";

export interface GatewaySettingsDeps {
  db: Db;
  boss: PgBoss;
  drivers: DriverFactory;
  logger: Logger;
  callTimeoutMs?: number;
}

export type GatewaySettingsResult = "patched" | "current" | "rescheduled" | "skipped";

export async function runGatewaySettings(deps: GatewaySettingsDeps, job: GatewaySettingsJobData): Promise<GatewaySettingsResult> {
  const gateway = await deps.db.gateway.findUnique({ where: { id: job.gatewayId }, select: gatewayConnectionSelect });
  if (!gateway) return "skipped";
  const driver = deps.drivers(gatewayConnectionOf(gateway));
  if (!driver.applyAgentSettings) return "skipped";
  const agents = await deps.db.agent.findMany({
    where: { gatewayId: gateway.id, status: { not: "deleting" }, provisionedGeneration: { not: null } },
    select: { id: true, heartbeatIntervalSeconds: true },
    orderBy: { createdAt: "asc" },
  });
  if (agents.length === 0) return "current";
  try {
    const { patched } = await withTimeout(driver.applyAgentSettings(agents), deps.callTimeoutMs ?? 30_000, "gateway settings");
    if (patched) deps.logger.info({ gatewayId: gateway.id, agents: agents.length }, "gateway settings written");
    return patched ? "patched" : "current";
  } catch (err) {
    if (err instanceof GatewayCallError && err.kind === "rate_limited") {
      const seconds = Math.ceil((err.details.retryAfterMs ?? 1000) / 1000) + 1;
      deps.logger.info({ gatewayId: gateway.id, retryInSeconds: seconds }, "gateway rate-limited a settings write; retrying when it allows");
      await requestGatewaySettings(deps.boss, gateway.id, seconds);
      return "rescheduled";
    }
    deps.logger.warn({ gatewayId: gateway.id, err: describeGatewayError(err) }, "gateway settings write failed");
    throw err;
  }
}
