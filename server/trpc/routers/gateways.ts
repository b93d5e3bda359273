import { z } from "zod";
import { TRPCError } from "@trpc/server";
import type { Prisma } from "../../db/prisma";
import { actorOf, adminProcedure, audit, notFound, operatorProcedure, router, viewerProcedure } from "../init";
import { gatewayInput, gatewayUpdateInput, id } from "../../../lib/contract/schemas";
import { sealSecret } from "../../secrets/crypto";
import { QUEUES } from "../../queue/queues";
import { runningSync, startTemplateSync } from "../../gateways/template-sync";
import { probeGateway } from "../../gateways/probe";
import { TEMPLATE_REVISION } from "../../templates/render";

/** Every gateway field an operator may read. The token is write-only: only whether one is set. */
export const gatewayViewSelect = {
  id: true,
  name: true,
  driver: true,
  url: true,
  workspaceRoot: true,
  allowInsecureTls: true,
  pairingRequestId: true,
  status: true,
  runtimeVersion: true,
  protocolVersion: true,
  lastContactAt: true,
  lastError: true,
  checkinDeadlineSeconds: true,
  maxWakeAttempts: true,
  templateRevision: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.GatewaySelect;

/** Runs `fn` over `items`, at most `limit` at a time. */
async function inLanes<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

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
    currentTemplateRevision: TEMPLATE_REVISION,
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
      currentTemplateRevision: TEMPLATE_REVISION,
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
    // Find out at once whether it answers, rather than at the next periodic probe.
    await ctx.app.boss.send(QUEUES.gatewayProbe, { gatewayId: gateway.id }).catch((err) => ctx.app.logger.warn({ err: String(err) }, "could not schedule a gateway probe"));
    await ctx.app.lifecycle.createAgent({ gatewayId: gateway.id, name: "main", kind: "gateway_main", simulatorBehaviour: input.driver === "simulator" ? "healthy" : null }, actorOf(ctx.principal));
    return (await gatewayWithToken(ctx.app.db, gateway.id))!;
  }),

  update: adminProcedure.input(gatewayUpdateInput).mutation(async ({ ctx, input }) => {
    const current = await ctx.app.db.gateway.findUnique({ where: { id: input.id }, select: { id: true, name: true, driver: true, url: true } });
    if (!current) notFound("Gateway");
    const { id: gatewayId, token, ...fields } = input;
    const url = fields.url === undefined ? current.url : fields.url;
    if (current.driver !== "simulator" && !url) {
      throw new TRPCError({ code: "BAD_REQUEST", message: `A ${current.driver} gateway needs a url` });
    }
    if (fields.name !== undefined && fields.name !== current.name) {
      const clash = await ctx.app.db.gateway.findUnique({ where: { name: fields.name }, select: { id: true } });
      if (clash) throw new TRPCError({ code: "CONFLICT", message: `A gateway named ${fields.name} already exists` });
    }
    const data: Prisma.GatewayUpdateInput = {};
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) (data as Record<string, unknown>)[key] = value;
    if (token !== undefined) data.tokenSecret = sealSecret(token);
    const changed = [...Object.keys(data).filter((k) => k !== "tokenSecret"), ...(token !== undefined ? [token === null ? "token cleared" : "token"] : [])];
    // New connection settings invalidate what the last probe found (and end the fail-fast of an unreachable gateway).
    const connectionChanged = ["url", "tokenSecret", "allowInsecureTls"].some((k) => k in data);
    if (connectionChanged) Object.assign(data, { status: "unknown", lastError: null });
    // A device token and a pairing request belong to the gateway at the old URL.
    if ("url" in data && data.url !== current.url) Object.assign(data, { deviceTokenSecret: null, pairingRequestId: null });
    await ctx.app.db.gateway.update({ where: { id: gatewayId }, data });
    if (connectionChanged) {
      await ctx.app.boss.send(QUEUES.gatewayProbe, { gatewayId }).catch((err) => ctx.app.logger.warn({ err: String(err) }, "could not schedule a gateway probe"));
    }
    await audit(ctx, `updated gateway${changed.length ? ` (${changed.join(", ")})` : ""}`, { gatewayId, name: fields.name ?? current.name });
    return (await gatewayWithToken(ctx.app.db, gatewayId))!;
  }),

  delete: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const gateway = await ctx.app.db.gateway.findUnique({ where: { id: input.id }, select: { id: true, name: true } });
    if (!gateway) notFound("Gateway");
    const actor = actorOf(ctx.principal);
    const agents = await ctx.app.db.agent.findMany({ where: { gatewayId: gateway.id }, select: { id: true } });
    // Through the lifecycle: each agent is removed from its runtime (best effort) and its cycle ends.
    let deletedAgents = 0;
    await inLanes(agents, 16, async (a) => {
      if ((await ctx.app.lifecycle.deleteAgent(a.id, actor)) !== "missing") deletedAgents += 1;
    });
    await ctx.app.db.$transaction([
      ctx.app.db.templateSyncRun.deleteMany({ where: { gatewayId: gateway.id } }),
      // Boards (and any agent created meanwhile) go with the gateway.
      ctx.app.db.gateway.delete({ where: { id: gateway.id } }),
    ]);
    await audit(ctx, `deleted gateway (${deletedAgents} agent${deletedAgents === 1 ? "" : "s"})`, { gatewayId: gateway.id, name: gateway.name });
    return { id: gateway.id, deletedAgents };
  }),

  probe: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const outcome = await probeGateway({ db: ctx.app.db, events: ctx.app.events, drivers: ctx.app.drivers, logger: ctx.app.logger }, input.id);
    if (!outcome) notFound("Gateway");
    const gateway = (await gatewayWithToken(ctx.app.db, input.id))!;
    await audit(ctx, `probed gateway (${outcome.to})`, { gatewayId: input.id, name: gateway.name }, outcome.to === "reachable" ? "ok" : "failed");
    return gateway;
  }),

  /** Pushes the current template revision to every agent of the gateway (docs/architecture.md, Contracts (templates)); progress arrives as events. */
  syncTemplates: operatorProcedure
    .input(z.object({ id, wake: z.boolean().optional() }).strict())
    .mutation(async ({ ctx, input }) => {
      const gateway = await ctx.app.db.gateway.findUnique({ where: { id: input.id }, select: { id: true, name: true } });
      if (!gateway) notFound("Gateway");
      const running = await runningSync(ctx.app.db, gateway.id);
      if (running) throw new TRPCError({ code: "CONFLICT", message: `A template sync of ${gateway.name} is already running (run ${running})` });
      const { runId } = await startTemplateSync(ctx.app.db, ctx.app.boss, { gatewayId: gateway.id, wake: input.wake ?? false, actor: actorOf(ctx.principal) });
      await audit(ctx, `synced templates${input.wake ? " and woke agents" : ""}`, { gatewayId: gateway.id, name: gateway.name });
      return { runId };
    }),

  /** A wake cycle for every agent of the gateway, as a queued fleet operation (server/fleet/); answers at once. */
  wakeAll: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const gateway = await ctx.app.db.gateway.findUnique({ where: { id: input.id }, select: { id: true, name: true } });
    if (!gateway) notFound("Gateway");
    const operation = await ctx.app.fleet.start({ kind: "wake_gateway", gatewayId: gateway.id, agentIds: [], startedBy: actorOf(ctx.principal) });
    await audit(ctx, "woke every agent of", { gatewayId: gateway.id, name: gateway.name }, "ok", { operationId: operation.id });
    return { operationId: operation.id };
  }),

  /** Recent sync runs of a gateway, newest first, each with its per-agent results. */
  syncRuns: viewerProcedure
    .input(z.object({ id, limit: z.number().int().min(1).max(100).optional() }).strict())
    .query(async ({ ctx, input }) => {
      const runs = await ctx.app.db.templateSyncRun.findMany({
        where: { gatewayId: input.id },
        orderBy: { startedAt: "desc" },
        take: input.limit ?? 10,
        include: { results: { orderBy: { at: "asc" } } },
      });
      const agentIds = [...new Set(runs.flatMap((r) => r.results.map((x) => x.agentId)))];
      const names = new Map(
        (await ctx.app.db.agent.findMany({ where: { id: { in: agentIds } }, select: { id: true, name: true } })).map((a) => [a.id, a.name]),
      );
      return runs.map((run) => ({
        ...run,
        results: run.results.map((r) => ({ ...r, agentName: names.get(r.agentId) ?? null })),
      }));
    }),
});
