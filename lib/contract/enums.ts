// The schema's enums (prisma/schema.prisma), taken from Prisma's browser-safe enums module: the server's validation,
// the forms and the board's wire form all read these, so adding a value to the schema is the one change to make.
// The lists keep the schema's declaration order: the board's wire form (lib/agent-row.ts) encodes kind and status as
// indexes into them.
import {
  AgentKind,
  AgentStatus,
  GatewayDriver,
  NotificationChannelKind,
  NotificationScope,
  NotificationState,
  WakeOutcome,
} from "../../server/generated/prisma/enums";

export { AgentKind, AgentStatus, GatewayDriver, NotificationChannelKind, NotificationScope, NotificationState, WakeOutcome };

/** The values of a Prisma enum object as a non-empty list (what `z.enum` and `includes` take). */
function valuesOf<T extends Record<string, string>>(e: T): readonly [T[keyof T], ...T[keyof T][]] {
  return Object.values(e) as [T[keyof T], ...T[keyof T][]];
}

export const AGENT_KINDS = valuesOf(AgentKind);
export const AGENT_STATUSES = valuesOf(AgentStatus);
export const GATEWAY_DRIVERS = valuesOf(GatewayDriver);
export const WAKE_OUTCOMES = valuesOf(WakeOutcome);
