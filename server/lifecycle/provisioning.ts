// docs/lifecycle.md, step 2 (and Tokens): one provisioning of a cycle on its gateway, under the cycle's lease — a new
// token in the pending slot, the current templates rendered with it, the driver's call, and the token promoted only
// once delivered, so a failed delivery never locks out the running agent.
import type { LifecycleDeps } from "./deps";
import { describeGatewayError } from "../drivers/types";
import { issueAgentToken } from "../agent-model/tokens";
import { promotePendingToken } from "../agent-model/token-store";
import { heartbeatUrlOf, renderTemplates, TEMPLATE_REVISION } from "../templates/render";
import { requestGatewaySettings } from "../queue/queues";
import { normaliseBaseUrl } from "../platform/config";
import { driverAgent, failFastIfUnreachable, gatewayConnection, type LockedAgent } from "./agent-record";
import { CycleMovedOn, type GatewayWork } from "./gateway-work";

/**
 * Delivers a new token and the current templates. Returns the error text, or undefined on success; throws
 * CycleMovedOn when the cycle moved on (nothing is reported then). Emits provision.succeeded / provision.failed.
 */
export async function provisionOnGateway(deps: LifecycleDeps, agent: LockedAgent, generation: number, work: GatewayWork): Promise<string | undefined> {
  const { settings, db } = deps;
  const ids = { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId, generation };
  try {
    failFastIfUnreachable(agent);
    const connection = gatewayConnection(agent);
    const issued = issueAgentToken(agent.id);
    // The new token is pending: the one the runtime holds stays valid until this one is known to be delivered.
    const recorded = await db.$executeRaw`
      UPDATE "Agent" SET "pendingTokenHash" = ${issued.hash}, "pendingTokenGeneration" = ${generation}
       WHERE id = ${agent.id}::uuid AND "lifecycleGeneration" = ${generation} AND "gatewayLeaseId" = ${work.leaseId}::uuid`;
    if (recorded !== 1) throw new CycleMovedOn("provision");
    const baseUrl = normaliseBaseUrl(settings.baseUrl());
    const heartbeatUrl = heartbeatUrlOf(baseUrl);
    const files = await renderTemplates({
      agent: { id: agent.id, name: agent.name, kind: agent.kind, sessionKey: agent.sessionKey, heartbeatIntervalSeconds: agent.heartbeatIntervalSeconds },
      gateway: { name: agent.gateway.name },
      board: agent.board,
      heartbeatUrl,
      baseUrl,
    });
    const driver = deps.drivers(connection);
    await work.call("provision", settings.gatewayCallTimeoutMs, (signal) =>
      driver.provision({ agent: driverAgent(agent), token: issued.token, baseUrl, heartbeatUrl, files, signal }),
    );
    // Delivered: the new token becomes current (unless the agent's first heartbeat already promoted it).
    await promotePendingToken(db, agent.id, issued.hash, settings.tokenOverlapSeconds);
    // Gateway-side settings (OpenClaw's config) go in one batched job per gateway, never one write per agent.
    if (driver.applyAgentSettings) await requestGatewaySettings(deps.boss, agent.gatewayId);
    await db.agent.updateMany({
      where: { id: agent.id, lifecycleGeneration: generation },
      data: { provisionedGeneration: generation, templateRevision: TEMPLATE_REVISION },
    });
    await deps.events.emit({ ...ids, event: "lifecycle.provision.succeeded", message: `Provisioned on ${agent.gateway.name}`, data: { templateRevision: TEMPLATE_REVISION } });
    return undefined;
  } catch (err) {
    if (err instanceof CycleMovedOn) throw err;
    const error = describeGatewayError(err);
    await deps.events.emit({ ...ids, event: "lifecycle.provision.failed", message: `Provisioning failed: ${error}`, data: { error } });
    return error;
  }
}
