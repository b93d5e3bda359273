// docs/lifecycle.md, Deletion is a job: the `deleting` status is committed with a delete job, and this removal —
// run by that job, or inline right after the commit — takes the agent off its gateway (best effort) and then out of
// the database.
import type { LifecycleDeps, LifecycleSettings } from "./deps";
import { describeGatewayError } from "../drivers/types";
import { driverAgent, gatewayConnection, loadAgent, type LockedAgent } from "./agent-record";
import { GatewayWork, type WorkRegistry } from "./gateway-work";
import type { GatewayLimits } from "./gateway-limits";

export type DeleteOutcome = "deleted" | "deleting" | "missing";

/** When the delete job runs if the inline removal did not finish (its own time limit plus a margin). */
export function deleteSafetyNetAt(settings: LifecycleSettings, now: Date): Date {
  return new Date(now.getTime() + settings.gatewayCallTimeoutMs + 5_000);
}

/**
 * Removes a `deleting` agent from its gateway (best effort: a gateway that cannot delete it is reported, and the
 * agent leaves Mission Control anyway), then its row. Throws when the row could not be deleted, so the job retries.
 */
export async function removeAgent(deps: LifecycleDeps, limits: GatewayLimits, registry: WorkRegistry, agentId: string): Promise<DeleteOutcome> {
  const agent = await loadAgent(deps.db, agentId);
  if (!agent) return "missing";
  if (agent.status !== "deleting") return "deleting";
  await limits.run(agent.gatewayId, () => removeFromGateway(deps, registry, agent));
  await deps.db.agent.deleteMany({ where: { id: agentId } });
  return "deleted";
}

/** Best effort: a gateway that cannot delete the agent is reported, never retried here. */
async function removeFromGateway(deps: LifecycleDeps, registry: WorkRegistry, agent: LockedAgent): Promise<void> {
  const agentId = agent.id;
  const timeoutMs = deps.settings.gatewayCallTimeoutMs;
  const work = await GatewayWork.claim(deps.db, registry, { agentId, generation: agent.lifecycleGeneration, statuses: ["deleting"] }, timeoutMs);
  try {
    if (work) await work.call("delete", timeoutMs, (signal) => deps.drivers(gatewayConnection(agent)).deleteAgent(driverAgent(agent), { signal }));
  } catch (err) {
    const error = describeGatewayError(err);
    deps.logger.warn({ agentId, error }, "gateway could not delete the agent; removing it from Mission Control anyway");
    await deps.events
      .emit({
        event: "lifecycle.delete.failed",
        agentId,
        gatewayId: agent.gatewayId,
        boardId: agent.boardId,
        message: `Gateway could not delete the agent (${error}); removed from Mission Control anyway`,
        data: { error },
      })
      .catch(() => undefined);
  } finally {
    await work?.release();
  }
}
