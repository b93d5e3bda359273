// Where a new agent may live, checked before anything is read or written. The bulk path (server/fleet/create.ts)
// applies the same rules row by row, so that every bad row is named at once.
import type { AgentKind } from "../../lib/contract/enums";
import { ServiceError } from "../platform/service-error";

/** A gateway's main agent belongs to no board; every other kind belongs to exactly one. */
export function checkBoardPlacement(input: { kind: AgentKind; boardId?: string | null }): void {
  if (input.kind === "gateway_main" && input.boardId) throw new ServiceError("invalid", "A gateway_main agent has no board");
  if (input.kind !== "gateway_main" && !input.boardId) throw new ServiceError("invalid", `A ${input.kind} needs a boardId`);
}

/** Only the simulator plays a behaviour; a real gateway's agents behave as they do. */
export function checkSimulatorBehaviour(input: { simulatorBehaviour?: string | null }, gatewayDriver: string): void {
  if (input.simulatorBehaviour && gatewayDriver !== "simulator") {
    throw new ServiceError("invalid", "simulatorBehaviour applies to simulator gateways only");
  }
}
