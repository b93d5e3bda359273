// Input schemas shared by the tRPC routers and the forms that build their input. Client-safe: zod and the schema's
// enums only.
import { z } from "zod";
import { AgentKind, AgentStatus, GatewayDriver } from "./enums";

/** Every record id the API accepts. */
export const id = z.string().uuid();

export const agentKind = z.enum(AgentKind);
export const gatewayDriver = z.enum(GatewayDriver);

/** Bounds the forms put on their inputs, the same the schemas below enforce. */
export const LIMITS = {
  name: 80,
  checkinDeadlineSeconds: { min: 1, max: 3600 },
  maxWakeAttempts: { min: 1, max: 20 },
  password: { min: 12, max: 200 },
} as const;

/**
 * A page cursor over a bigint id (the event log, the audit log): only rows with a smaller id. Bounded to PostgreSQL's
 * bigint, so a larger one is refused here rather than failing in the database.
 */
export const bigintCursor = z
  .string()
  .regex(/^\d{1,19}$/, "a decimal id")
  .refine((v) => BigInt(v) <= 2n ** 63n - 1n, "beyond the largest id");

/** An operator's password as they choose it. */
export const operatorPassword = z.string().min(LIMITS.password.min, `at least ${LIMITS.password.min} characters`).max(LIMITS.password.max);

/** Names of agents, boards and gateways. */
export const agentName = z
  .string()
  .trim()
  .min(1)
  .max(LIMITS.name)
  .regex(/^[\p{L}\p{N} ._-]+$/u, "letters, digits, spaces, dot, dash and underscore only");

export const gatewayUrl = z
  .string()
  .trim()
  .max(2000)
  .url()
  .refine((u) => /^(https?|wss?):\/\//i.test(u), "URL must use http, https, ws or wss")
  .refine((u) => !new URL(u).username && !new URL(u).password, "Put credentials in the token field, not in the URL");

const checkinDeadlineSeconds = z.number().int().min(LIMITS.checkinDeadlineSeconds.min).max(LIMITS.checkinDeadlineSeconds.max);
const maxWakeAttempts = z.number().int().min(LIMITS.maxWakeAttempts.min).max(LIMITS.maxWakeAttempts.max);
const gatewayToken = z.string().min(1).max(4096);
const workspaceRoot = z.string().trim().max(500);

/** `gateways.create`. */
export const gatewayInput = z
  .object({
    name: agentName,
    driver: gatewayDriver,
    url: gatewayUrl.optional(),
    token: gatewayToken.optional(),
    workspaceRoot: workspaceRoot.optional(),
    allowInsecureTls: z.boolean().optional(),
    checkinDeadlineSeconds: checkinDeadlineSeconds.optional(),
    maxWakeAttempts: maxWakeAttempts.optional(),
  })
  .strict();
export type GatewayInput = z.input<typeof gatewayInput>;

/** `gateways.update`: any subset of the editable fields. The driver is fixed at creation (agents live on that runtime). */
export const gatewayUpdateInput = z
  .object({
    id,
    name: agentName.optional(),
    url: gatewayUrl.nullable().optional(),
    /** Write-only: a string replaces the token, null clears it, absent keeps it. */
    token: gatewayToken.nullable().optional(),
    workspaceRoot: workspaceRoot.nullable().optional(),
    allowInsecureTls: z.boolean().optional(),
    checkinDeadlineSeconds: checkinDeadlineSeconds.nullable().optional(),
    maxWakeAttempts: maxWakeAttempts.nullable().optional(),
  })
  .strict();
export type GatewayUpdateInput = z.input<typeof gatewayUpdateInput>;

/** How a simulated agent behaves (simulator gateways only; server/drivers/simulator). */
export const SIMULATOR_BEHAVIOURS = ["healthy", "slow", "silent", "flaky", "bad_token", "crash_after"] as const;
export type SimulatorBehaviour = (typeof SIMULATOR_BEHAVIOURS)[number];
const simulatorBehaviour = z.enum(SIMULATOR_BEHAVIOURS);

/** Agents per `agents.createMany` call. */
export const BULK_CREATE_MAX = 10_000;

/** The agent filters of `agents.list`, `agents.page` and `agents.counts` (the board's filters). */
export const agentFilter = {
  status: z.array(z.enum(AgentStatus)).max(Object.keys(AgentStatus).length).optional(),
  gatewayId: id.optional(),
  boardId: id.optional(),
  kind: z.array(agentKind).max(Object.keys(AgentKind).length).optional(),
  q: z.string().trim().max(100).optional(),
};

/** `agents.list`. */
export const agentListInput = z
  .object({ ...agentFilter, limit: z.number().int().min(1).max(20_000).default(5_000) })
  .strict();

/** `agents.create`. */
export const agentCreateInput = z
  .object({
    gatewayId: id,
    boardId: id.optional(),
    name: agentName,
    kind: agentKind,
    simulatorBehaviour: simulatorBehaviour.optional(),
  })
  .strict();

/** `agents.createMany`: the rows are validated as a whole by the service, so that every bad row is named at once. */
export const agentsCreateManyInput = z
  .object({
    gatewayId: id,
    boardId: id.optional(),
    agents: z
      .array(
        z
          .object({
            name: z.string().max(200),
            kind: agentKind,
            boardId: id.optional(),
            simulatorBehaviour: simulatorBehaviour.optional(),
          })
          .strict(),
      )
      .min(1)
      .max(BULK_CREATE_MAX),
    /** Validate only: the same answer (or error) without creating anything (`mc import` checks every chunk first). */
    dryRun: z.boolean().optional(),
  })
  .strict();
