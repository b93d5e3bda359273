import { z } from "zod";
import { TRPCError } from "@trpc/server";
import { agentViewSelect, toAgentView } from "../../agent-model/view";
import { AGENT_STATUSES } from "../../../lib/contract/enums";
import { agentKind, agentName, id } from "../../../lib/contract/schemas";
import { SIMULATOR_BEHAVIOURS } from "../../drivers/simulator/driver";
import { toStoredEvent } from "../../events/bus";
import { actorOf, audit, notFound, operatorProcedure, router, viewerProcedure } from "../init";
import type { Prisma } from "../../db/prisma";
import { revokeTokenColumns } from "../../agent-model/tokens";
import { BULK_CREATE_MAX, BulkCreateRejected, createAgentsInBulk, validateBulk } from "../../fleet/create";
import { agentCounts, agentPage, decodeCursor } from "../../agents/page";
import { BOARD_SORTS, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX } from "../../../lib/board-query";


export const listFilter = z
  .object({
    status: z.array(z.enum(AGENT_STATUSES)).max(AGENT_STATUSES.length).optional(),
    gatewayId: id.optional(),
    boardId: id.optional(),
    kind: z.array(agentKind).max(3).optional(),
    q: z.string().trim().max(100).optional(),
    limit: z.number().int().min(1).max(20_000).default(5_000),
  })
  .strict();

/** The board's filters (agents.page, agents.counts): the same as agents.list's, without its limit. */
const pageFilter = {
  status: z.array(z.enum(AGENT_STATUSES)).max(AGENT_STATUSES.length).optional(),
  gatewayId: id.optional(),
  boardId: id.optional(),
  kind: z.array(agentKind).max(3).optional(),
  q: z.string().trim().max(100).optional(),
};

export const pageInput = z
  .object({
    ...pageFilter,
    sort: z.enum(BOARD_SORTS).default("group"),
    dir: z.enum(["asc", "desc"]).default("asc"),
    cursor: z.string().max(1000).nullish(),
    limit: z.number().int().min(1).max(PAGE_LIMIT_MAX).default(PAGE_LIMIT_DEFAULT),
  })
  .strict();

function whereOf(filter: z.infer<typeof listFilter>): Prisma.AgentWhereInput {
  return {
    status: filter.status?.length ? { in: filter.status } : undefined,
    gatewayId: filter.gatewayId,
    boardId: filter.boardId,
    kind: filter.kind?.length ? { in: filter.kind } : undefined,
    name: filter.q ? { contains: filter.q, mode: "insensitive" } : undefined,
  };
}

export const agentsRouter = router({
  list: viewerProcedure.input(listFilter.optional()).query(async ({ ctx, input }) => {
    const filter = listFilter.parse(input ?? {});
    const rows = await ctx.app.db.agent.findMany({
      where: whereOf(filter),
      select: agentViewSelect,
      orderBy: [{ gatewayId: "asc" }, { boardId: "asc" }, { kind: "asc" }, { name: "asc" }],
      take: filter.limit,
    });
    return rows.map((r) => toAgentView(r, ctx.app.policyDefaults));
  }),

  /**
   * One page of board rows (lib/agent-row.ts wire form), in keyset order: pass `nextCursor` back as `cursor` for the
   * next. Filters, search and sort run in the database (server/agents/page.ts).
   */
  page: viewerProcedure.input(pageInput).query(async ({ ctx, input }) => {
    const after = input.cursor ? decodeCursor(input.cursor, input.sort) : null;
    if (input.cursor && !after) throw new TRPCError({ code: "BAD_REQUEST", message: "cursor does not belong to this sort" });
    return agentPage(ctx.app.db, ctx.app.policyDefaults.maxWakeAttempts, { ...input, cursor: input.cursor ?? undefined }, after);
  }),

  /** Agents per status under the board's filters except the status one (every agent without input). */
  counts: viewerProcedure.input(z.object(pageFilter).strict().optional()).query(async ({ ctx, input }) => {
    return agentCounts(ctx.app.db, input ?? {});
  }),

  get: viewerProcedure.input(z.object({ id }).strict()).query(async ({ ctx, input }) => {
    const view = await ctx.app.lifecycle.view(input.id);
    if (!view) notFound("Agent");
    const attempts = await ctx.app.db.wakeAttempt.findMany({
      where: { agentId: input.id },
      orderBy: [{ sentAt: "desc" }],
      take: 50,
    });
    return { ...view, attempts };
  }),

  create: operatorProcedure
    .input(
      z
        .object({
          gatewayId: id,
          boardId: id.optional(),
          name: agentName,
          kind: agentKind,
          simulatorBehaviour: z.enum(SIMULATOR_BEHAVIOURS).optional(),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      const gateway = await ctx.app.db.gateway.findUnique({ where: { id: input.gatewayId }, select: { id: true, driver: true } });
      if (!gateway) notFound("Gateway");
      if (input.kind === "gateway_main" && input.boardId) {
        throw new TRPCError({ code: "BAD_REQUEST", message: "A gateway_main agent has no board" });
      }
      if (input.kind !== "gateway_main" && !input.boardId) {
        throw new TRPCError({ code: "BAD_REQUEST", message: `A ${input.kind} needs a boardId` });
      }
      if (input.boardId) {
        const board = await ctx.app.db.board.findUnique({ where: { id: input.boardId }, select: { gatewayId: true } });
        if (!board || board.gatewayId !== input.gatewayId) notFound("Board on this gateway");
      }
      if (input.simulatorBehaviour && gateway.driver !== "simulator") {
        throw new TRPCError({ code: "BAD_REQUEST", message: "simulatorBehaviour applies to simulator gateways only" });
      }
      const clash = await ctx.app.db.agent.findFirst({ where: { gatewayId: input.gatewayId, name: input.name }, select: { id: true } });
      if (clash) throw new TRPCError({ code: "CONFLICT", message: `An agent named ${input.name} already exists on this gateway` });
      const agent = await ctx.app.lifecycle.createAgent(input, actorOf(ctx.principal));
      await audit(ctx, "created agent", { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name });
      return agent;
    }),

  reprovision: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.lifecycle.startCycle(input.id, actorOf(ctx.principal), "reprovision", "provision");
    if (!agent) notFound("Agent");
    await audit(ctx, "reprovisioned", { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name });
    return agent;
  }),

  wake: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.lifecycle.startCycle(input.id, actorOf(ctx.principal), "wake", "wake");
    if (!agent) notFound("Agent");
    await audit(ctx, "woke", { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name });
    return agent;
  }),

  /**
   * A new agent token, delivered through the gateway by a provisioning cycle. The previous token stays valid for
   * AGENT_TOKEN_OVERLAP_SECONDS (rotateTokenColumns), so a running agent is never locked out mid-session. The token
   * itself is never returned: only the gateway receives it.
   */
  rotateToken: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.lifecycle.startCycle(input.id, actorOf(ctx.principal), "token rotation", "provision");
    if (!agent) notFound("Agent");
    await audit(ctx, "rotated the token of", { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name }, "ok", {
      overlapSeconds: ctx.app.config.AGENT_TOKEN_OVERLAP_SECONDS,
    });
    return agent;
  }),

  /**
   * Revokes the agent's current and overlap tokens at once (a leaked token). Its heartbeats are rejected with reason
   * "revoked" until a new token is delivered (rotateToken or reprovision).
   */
  revokeToken: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const revoked = await ctx.app.db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1 FROM "Agent" WHERE id = ${input.id}::uuid FOR UPDATE`;
      const row = await tx.agent.findUnique({ where: { id: input.id }, select: { tokenHash: true, pendingTokenHash: true, previousTokenHash: true } });
      if (!row) return false;
      await tx.agent.update({ where: { id: input.id }, data: revokeTokenColumns(row) });
      return true;
    });
    if (!revoked) notFound("Agent");
    const agent = await ctx.app.lifecycle.view(input.id);
    if (!agent) notFound("Agent");
    ctx.app.publisher.agentUpdated(agent);
    await audit(ctx, "revoked the token of", { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name });
    return agent;
  }),

  /**
   * Up to 10,000 agents in one call, validated as a whole (nothing is created if any row is bad), written in chunked
   * transactions, each agent in its first cycle; their provisioning runs as a queued fleet operation (server/fleet/).
   */
  createMany: operatorProcedure
    .input(
      z
        .object({
          gatewayId: id,
          boardId: id.optional(),
          agents: z
            .array(
              z
                .object({
                  // Checked row by row by the bulk validation, so that every bad row is named at once.
                  name: z.string().max(200),
                  kind: agentKind,
                  boardId: id.optional(),
                  simulatorBehaviour: z.enum(SIMULATOR_BEHAVIOURS).optional(),
                })
                .strict(),
            )
            .min(1)
            .max(BULK_CREATE_MAX),
          /** Validate only: the same answer (or error) without creating anything (`mc import` checks every chunk first). */
          dryRun: z.boolean().optional(),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      const actor = actorOf(ctx.principal);
      const { db, events, fleet, config } = ctx.app;
      let result;
      try {
        if (input.dryRun) {
          const rows = await validateBulk(db, input);
          return { ids: [] as string[], count: rows.length, operationId: null as string | null, dryRun: true };
        }
        result = await createAgentsInBulk(
          { db, events, operations: fleet, settings: { ...ctx.app.policyDefaults, heartbeatIntervalSeconds: config.HEARTBEAT_INTERVAL_SECONDS }, chunkSize: config.FLEET_CREATE_CHUNK_SIZE },
          input,
          actor,
        );
      } catch (err) {
        if (err instanceof BulkCreateRejected) throw new TRPCError({ code: err.code, message: err.message });
        throw err;
      }
      await audit(ctx, "created agents in bulk", { gatewayId: input.gatewayId, boardId: input.boardId }, "ok", {
        count: result.count,
        operationId: result.operationId,
      });
      return { ...result, operationId: result.operationId as string | null, dryRun: false };
    }),

  /** Queues a fleet operation (server/fleet/): answers at once with its id; `fleet.operation` follows it. */
  bulkReprovision: operatorProcedure
    .input(z.object({ ids: z.array(id).min(1).max(10_000) }).strict())
    .mutation(async ({ ctx, input }) => {
      const actor = actorOf(ctx.principal);
      const wanted = [...new Set(input.ids)];
      const found = await ctx.app.db.agent.findMany({ where: { id: { in: wanted } }, select: { id: true } });
      const existing = new Set(found.map((a) => a.id));
      const missing = wanted.filter((agentId) => !existing.has(agentId));
      const operation = existing.size > 0 ? await ctx.app.fleet.start({ kind: "reprovision", agentIds: [...existing], startedBy: actor }) : null;
      await ctx.app.events.emit({
        event: "operator.action",
        actor,
        message: `${actor} queued the reprovision of ${existing.size} agents`,
        data: { action: "bulk reprovision", result: "ok", started: existing.size, missing: missing.length, operationId: operation?.id },
      });
      return { started: existing.size, missing, operationId: operation?.id ?? null };
    }),

  delete: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const before = await ctx.app.lifecycle.view(input.id);
    if (!before) notFound("Agent");
    const outcome = await ctx.app.lifecycle.deleteAgent(input.id, actorOf(ctx.principal));
    if (outcome === "missing") notFound("Agent");
    await audit(ctx, outcome === "deleted" ? "deleted agent" : "started deleting agent", { agentId: before.id, gatewayId: before.gatewayId, boardId: before.boardId ?? undefined, name: before.name });
    // Not finished now (e.g. the database hiccuped): its delete job finishes it, and deleting again retries at once.
    return { id: input.id, deleted: outcome === "deleted", status: outcome };
  }),

  timeline: viewerProcedure
    .input(z.object({ id, limit: z.number().int().min(1).max(2000).default(500) }).strict())
    .query(async ({ ctx, input }) => {
      const [attempts, events] = await Promise.all([
        ctx.app.db.wakeAttempt.findMany({ where: { agentId: input.id }, orderBy: { sentAt: "asc" }, take: input.limit }),
        ctx.app.db.lifecycleEvent.findMany({ where: { agentId: input.id }, orderBy: { at: "desc" }, take: input.limit }),
      ]);
      return { attempts, events: events.reverse().map(toStoredEvent) };
    }),
});
