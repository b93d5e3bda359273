// docs/lifecycle.md, step 3: one wake delivered to the gateway, under the attempt's lease. A cycle whose provisioning
// failed is provisioned again first, and an agent the gateway lost (it restarted) is provisioned again, then woken.
import { policyConfigOf, type LifecycleDeps } from "./deps";
import { GatewayCallError, describeGatewayError, type RunOutcome, type WakeReceipt } from "../drivers/types";
import { driverAgent, failFastIfUnreachable, gatewayConnection, type LockedAgent } from "./agent-record";
import { CycleMovedOn, type GatewayWork } from "./gateway-work";
import { provisionOnGateway } from "./provisioning";

export interface WakeOnGateway {
  generation: number;
  attempt: number;
  deadlineAt: Date;
}

/**
 * Sends wake `attempt` (emits lifecycle.wake.sent). Returns the run's outcome still to come, if the gateway reports
 * one, or the error that failed the attempt; throws CycleMovedOn when the cycle moved on.
 */
export async function wakeOnGateway(
  deps: LifecycleDeps,
  agent: LockedAgent,
  work: GatewayWork,
  { generation, attempt, deadlineAt }: WakeOnGateway,
): Promise<{ runOutcome?: Promise<RunOutcome> } | { error: string }> {
  const config = policyConfigOf(deps.settings, agent.gateway);
  const ids = { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId, generation, attempt, deadlineAt };
  if (agent.provisionedGeneration !== generation) {
    // The provisioning of this cycle failed earlier: a retry provisions again before it wakes.
    const error = await provisionOnGateway(deps, agent, generation, work);
    if (error !== undefined) return { error };
  }
  const wake = () => {
    failFastIfUnreachable(agent);
    const driver = deps.drivers(gatewayConnection(agent));
    return work.call("wake", deps.settings.gatewayCallTimeoutMs, (signal) =>
      driver.wake({
        agent: driverAgent(agent),
        attempt,
        generation,
        deadlineAt,
        message: wakeMessage(attempt, config.maxWakeAttempts, deadlineAt),
        signal,
      }),
    );
  };
  try {
    let receipt: WakeReceipt | void;
    try {
      receipt = await wake();
    } catch (err) {
      // The gateway lost the agent (it restarted): provision again, then retry.
      if (!(err instanceof GatewayCallError && err.kind === "not_found")) throw err;
      const provisionError = await provisionOnGateway(deps, agent, generation, work);
      if (provisionError !== undefined) throw new GatewayCallError(provisionError);
      receipt = await wake();
    }
    await deps.events.emit({ ...ids, event: "lifecycle.wake.sent", message: `Wake ${attempt}/${config.maxWakeAttempts} sent; check-in due by ${deadlineAt.toISOString()}` });
    return { runOutcome: receipt?.runOutcome };
  } catch (err) {
    if (err instanceof CycleMovedOn) throw err;
    return { error: describeGatewayError(err) };
  }
}

export function wakeMessage(attempt: number, maxAttempts: number, deadlineAt: Date): string {
  return (
    `Mission Control wake (attempt ${attempt}/${maxAttempts}). Check in now: follow HEARTBEAT.md and call the ` +
    `heartbeat API before any other work. Deadline: ${deadlineAt.toISOString()}.`
  );
}
