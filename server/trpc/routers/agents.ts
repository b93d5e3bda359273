import { z } from "zod";
import { agentCreateInput, agentFilter, agentListInput, agentsCreateManyInput, id } from "../../../lib/contract/schemas";
import { boardPageInput } from "../../../lib/board-query";
import type { AgentView } from "../../agent-model/view";
import { actorOf, audit, operatorProcedure, router, viewerProcedure } from "../init";

/** What an agent audit line names. */
function target(agent: AgentView) {
  return { agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId ?? undefined, name: agent.name };
}

const byId = z.object({ id }).strict();

export const agentsRouter = router({
  list: viewerProcedure.input(agentListInput.optional()).query(async ({ ctx, input }) => {
    return ctx.app.agents.list(agentListInput.parse(input ?? {}));
  }),

  /**
   * One page of board rows (lib/agent-row.ts wire form), in keyset order: pass `nextCursor` back as `cursor` for the
   * next. Filters, search and sort run in the database (server/agents/page.ts).
   */
  page: viewerProcedure.input(boardPageInput).query(async ({ ctx, input }) => {
    return ctx.app.agents.page({ ...input, cursor: input.cursor ?? undefined });
  }),

  /** Agents per status under the board's filters except the status one (every agent without input). */
  counts: viewerProcedure.input(z.object(agentFilter).strict().optional()).query(async ({ ctx, input }) => {
    return ctx.app.agents.counts(input ?? {});
  }),

  get: viewerProcedure.input(byId).query(async ({ ctx, input }) => {
    return ctx.app.agents.get(input.id);
  }),

  create: operatorProcedure.input(agentCreateInput).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.agents.create(input, actorOf(ctx.principal));
    await audit(ctx, "created agent", target(agent));
    return agent;
  }),

  reprovision: operatorProcedure.input(byId).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.agents.reprovision(input.id, actorOf(ctx.principal));
    await audit(ctx, "reprovisioned", target(agent));
    return agent;
  }),

  wake: operatorProcedure.input(byId).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.agents.wake(input.id, actorOf(ctx.principal));
    await audit(ctx, "woke", target(agent));
    return agent;
  }),

  /** A new agent token, delivered through the gateway. The token itself is never returned: only the gateway receives it. */
  rotateToken: operatorProcedure.input(byId).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.agents.rotateToken(input.id, actorOf(ctx.principal));
    await audit(ctx, "rotated the token of", target(agent), "ok", {
      overlapSeconds: ctx.app.config.AGENT_TOKEN_OVERLAP_SECONDS,
    });
    return agent;
  }),

  /** Revokes the agent's tokens at once (a leaked token) until a new one is delivered. */
  revokeToken: operatorProcedure.input(byId).mutation(async ({ ctx, input }) => {
    const agent = await ctx.app.agents.revokeToken(input.id);
    await audit(ctx, "revoked the token of", target(agent));
    return agent;
  }),

  /** Up to 10,000 agents in one call, validated as a whole; their provisioning runs as a queued fleet operation. */
  createMany: operatorProcedure
    .input(agentsCreateManyInput)
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

  delete: operatorProcedure.input(byId).mutation(async ({ ctx, input }) => {
    const { agent, outcome } = await ctx.app.agents.delete(input.id, actorOf(ctx.principal));
    await audit(ctx, outcome === "deleted" ? "deleted agent" : "started deleting agent", target(agent));
    return { id: input.id, deleted: outcome === "deleted", status: outcome };
  }),

  timeline: viewerProcedure
    .input(z.object({ id, limit: z.number().int().min(1).max(2000).default(500) }).strict())
    .query(async ({ ctx, input }) => {
      return ctx.app.agents.timeline(input.id, input.limit);
    }),
});
