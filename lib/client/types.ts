// Client-side views of the operator API, derived from the server's router type (types only: nothing from server/ is
// bundled into the browser).
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/trpc/root";
import type { AgentKind, AgentStatus, WakeOutcome } from "../contract/enums";

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

export type Agent = RouterOutputs["agents"]["list"][number];
export type AgentDetail = RouterOutputs["agents"]["get"];
export type AgentTimeline = RouterOutputs["agents"]["timeline"];
export type WakeAttempt = AgentTimeline["attempts"][number];
export type LifecycleEvent = AgentTimeline["events"][number];
export type AgentListInput = NonNullable<RouterInputs["agents"]["list"]>;
export type EventsListInput = NonNullable<RouterInputs["events"]["list"]>;
export type Health = RouterOutputs["system"]["health"];
export type GatewayDetail = RouterOutputs["gateways"]["get"];
export type FleetTimeline = RouterOutputs["fleet"]["timeline"];
export type FleetTimelineAgent = FleetTimeline["agents"][number];
export type ConvergeStats = FleetTimeline["converge"][number];
export type FailedJob = RouterOutputs["system"]["failedJobs"][number];

// Compile-time checks that the shared enums (lib/contract/enums.ts) are exactly what the API returns.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const enumsMatch: [Same<AgentStatus, Agent["status"]>, Same<WakeOutcome, WakeAttempt["outcome"]>, Same<AgentKind, Agent["kind"]>] = [true, true, true];
void enumsMatch;
