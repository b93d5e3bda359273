import { z } from "zod";
import { AGENT_STATUSES } from "../../../lib/contract/enums";
import { agentKind, agentName, id } from "../../../lib/contract/schemas";
import { SIMULATOR_BEHAVIOURS } from "../../drivers/simulator/driver";
import { actorOf, audit, operatorProcedure, router, viewerProcedure } from "../init";
import { BULK_CREATE_MAX } from "../../fleet/create";
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

export const agentsRouter = router({
  list: viewerProcedure.input(listFilter.optional()).query(async ({ ctx, input }) => {
    return ctx.app.agents.list(listFilter.parse(input ?? {}));
  }),

  /**
   * One page of board rows (lib/agent-row.ts wire form), in keyset order: pass `nextCursor` back as `cursor` for the
   * next. Filters, search and sort run in the database (server/agents/page.ts).
   */
  page: viewerProcedure.input(pageInput).query(async ({ ctx, input }) => {
    return ctx.app.agents.page({ ...input, cursor: input.cursor ?? undefined });
  }),

  /** Agents per status under the board's filters except the status one (every agent without input). */
  counts: viewerProcedure.input(z.object(pageFilter).strict().optional()).query(async ({ ctx, input }) => {
    return ctx.app.agents.counts(input ?? {});
  }),

  get: viewerProcedure.input(z.object({ id }).strict()).query(async ({ ctx, input }) => {
    return ctx.app.agents.get(input.id);
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
      const agent = await ctx.app.agents.create(input, actorOf(ctx.principal));
      await audit(ctx, "created agent", { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name });
      return agent;
    }),

  reprovision: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.agents.reprovision(input.id, actorOf(ctx.principal));
    await audit(ctx, "reprovisioned", { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name });
    return agent;
  }),

  wake: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.agents.wake(input.id, actorOf(ctx.principal));
    await audit(ctx, "woke", { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name });
    return agent;
  }),

  /** A new agent token, delivered through the gateway. The token itself is never returned: only the gateway receives it. */
  rotateToken: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.agents.rotateToken(input.id, actorOf(ctx.principal));
    await audit(ctx, "rotated the token of", { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name }, "ok", {
      overlapSeconds: ctx.app.config.AGENT_TOKEN_OVERLAP_SECONDS,
    });
    return agent;
  }),

  /** Revokes the agent's tokens at once (a leaked token) until a new one is delivered. */
  revokeToken: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.agents.revokeToken(input.id);
    await audit(ctx, "revoked the token of", { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name });
    return agent;
  }),

  /** Up to 10,000 agents in one call, validated as a whole; their provisioning runs as a queued fleet operation. */
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
      const result = await ctx.app.agents.createMany(input, actorOf(ctx.principal));
      if (result.dryRun) return result;
      await audit(ctx, "created agents in bulk", { gatewayId: input.gatewayId, boardId: input.boardId }, "ok", {
        count: result.count,
        operationId: result.operationId,
      });
      return result;
    }),

  /** Queues a fleet operation (server/fleet/): answers at once with its id; `fleet.operation` follows it. */
  bulkReprovision: operatorProcedure
    .input(z.object({ ids: z.array(id).min(1).max(10_000) }).strict())
    .mutation(async ({ ctx, input }) => {
      return ctx.app.agents.bulkReprovision(input.ids, actorOf(ctx.principal));
    }),

  delete: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const { agent, outcome } = await ctx.app.agents.delete(input.id, actorOf(ctx.principal));
    await audit(ctx, outcome === "deleted" ? "deleted agent" : "started deleting agent", { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name });
    return { id: input.id, deleted: outcome === "deleted", status: outcome };
  }),

  timeline: viewerProcedure
    .input(z.object({ id, limit: z.number().int().min(1).max(2000).default(500) }).strict())
    .query(async ({ ctx, input }) => {
      return ctx.app.agents.timeline(input.id, input.limit);
    }),
});
