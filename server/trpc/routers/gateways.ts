import { z } from "zod";
import { TRPCError } from "@trpc/server";
import type { Prisma } from "../../db/prisma";
import { actorOf, adminProcedure, audit, notFound, router, viewerProcedure } from "../init";
import { agentName } from "./agents";
import { sealSecret } from "../../secrets/crypto";

const id = z.string().uuid();

/** Every gateway field an operator may read. The token is write-only: only whether one is set. */
export const gatewayViewSelect = {
  id: true,
  name: true,
  driver: true,
  url: true,
  workspaceRoot: true,
  allowInsecureTls: true,
  disableDevicePairing: true,
  status: true,
  runtimeVersion: true,
  lastContactAt: true,
  lastError: true,
  checkinDeadlineSeconds: true,
  maxWakeAttempts: true,
  templateRevision: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.GatewaySelect;

export const gatewayUrl = z
  .string()
  .trim()
  .max(2000)
  .url()
  .refine((u) => /^(https?|wss?):\/\//i.test(u), "URL must use http, https, ws or wss")
  .refine((u) => !new URL(u).username && !new URL(u).password, "Put credentials in the token field, not in the URL");

const gatewayInput = z
  .object({
    name: agentName,
    driver: z.enum(["simulator", "http", "openclaw"]),
    url: gatewayUrl.optional(),
    token: z.string().min(1).max(4096).optional(),
    workspaceRoot: z.string().trim().max(500).optional(),
    allowInsecureTls: z.boolean().optional(),
    disableDevicePairing: z.boolean().optional(),
    checkinDeadlineSeconds: z.number().int().min(1).max(3600).optional(),
    maxWakeAttempts: z.number().int().min(1).max(20).optional(),
  })
  .strict();

async function gatewayWithToken(db: Prisma.TransactionClient | import("../../db/prisma").Db, gatewayId: string) {
  const [row, agentsByStatus] = await Promise.all([
    db.gateway.findUnique({ where: { id: gatewayId }, select: { ...gatewayViewSelect, tokenSecret: true } }),
    db.agent.groupBy({ by: ["status"], where: { gatewayId }, _count: { _all: true } }),
  ]);
  if (!row) return null;
  const { tokenSecret, ...view } = row;
  return {
    ...view,
    hasToken: tokenSecret !== null && tokenSecret.length > 0,
    agentsByStatus: Object.fromEntries(agentsByStatus.map((r) => [r.status, r._count._all])) as Record<string, number>,
  };
}

export const gatewaysRouter = router({
  list: viewerProcedure.query(async ({ ctx }) => {
    const rows = await ctx.app.db.gateway.findMany({ select: { ...gatewayViewSelect, tokenSecret: true }, orderBy: { name: "asc" } });
    const counts = await ctx.app.db.agent.groupBy({ by: ["gatewayId", "status"], _count: { _all: true } });
    return rows.map(({ tokenSecret, ...g }) => ({
      ...g,
      hasToken: Boolean(tokenSecret),
      agentsByStatus: Object.fromEntries(counts.filter((c) => c.gatewayId === g.id).map((c) => [c.status, c._count._all])) as Record<string, number>,
    }));
  }),

  get: viewerProcedure.input(z.object({ id }).strict()).query(async ({ ctx, input }) => {
    const gateway = await gatewayWithToken(ctx.app.db, input.id);
    if (!gateway) notFound("Gateway");
    const boards = await ctx.app.db.board.findMany({ where: { gatewayId: input.id }, orderBy: { name: "asc" } });
    return { ...gateway, boards };
  }),

  create: adminProcedure.input(gatewayInput).mutation(async ({ ctx, input }) => {
    if (input.driver !== "simulator" && !input.url) {
      throw new TRPCError({ code: "BAD_REQUEST", message: `A ${input.driver} gateway needs a url` });
    }
    if (await ctx.app.db.gateway.findUnique({ where: { name: input.name }, select: { id: true } })) {
      throw new TRPCError({ code: "CONFLICT", message: `A gateway named ${input.name} already exists` });
    }
    const { token, ...fields } = input;
    const gateway = await ctx.app.db.gateway.create({ data: { ...fields, tokenSecret: sealSecret(token) }, select: { id: true, name: true } });
    await audit(ctx, "created gateway", { gatewayId: gateway.id, name: gateway.name });
    await ctx.app.lifecycle.createAgent({ gatewayId: gateway.id, name: "main", kind: "gateway_main", simulatorBehaviour: input.driver === "simulator" ? "healthy" : null }, actorOf(ctx.principal));
    return (await gatewayWithToken(ctx.app.db, gateway.id))!;
  }),
});
