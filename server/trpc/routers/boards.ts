import { z } from "zod";
import { TRPCError } from "@trpc/server";
import { actorOf, audit, notFound, operatorProcedure, router, viewerProcedure } from "../init";
import { agentName, id } from "../../../lib/contract/schemas";

export const boardsRouter = router({
  list: viewerProcedure.input(z.object({ gatewayId: id.optional() }).strict().optional()).query(async ({ ctx, input }) => {
    return ctx.app.db.board.findMany({
      where: { gatewayId: input?.gatewayId },
      include: { gateway: { select: { name: true } }, _count: { select: { agents: true } } },
      orderBy: [{ gatewayId: "asc" }, { name: "asc" }],
    });
  }),

  create: operatorProcedure.input(z.object({ name: agentName, gatewayId: id }).strict()).mutation(async ({ ctx, input }) => {
    const gateway = await ctx.app.db.gateway.findUnique({ where: { id: input.gatewayId }, select: { id: true, driver: true } });
    if (!gateway) notFound("Gateway");
    if (await ctx.app.db.board.findFirst({ where: { gatewayId: input.gatewayId, name: input.name }, select: { id: true } })) {
      throw new TRPCError({ code: "CONFLICT", message: `A board named ${input.name} already exists on this gateway` });
    }
    const leadName = `${input.name} lead`;
    if (await ctx.app.db.agent.findFirst({ where: { gatewayId: input.gatewayId, name: leadName }, select: { id: true } })) {
      throw new TRPCError({ code: "CONFLICT", message: `An agent named ${leadName} already exists on this gateway (the board's lead would take that name)` });
    }
    // The board and its lead in one transaction: a board never exists without its lead.
    const boardId = crypto.randomUUID();
    let lead;
    try {
      lead = await ctx.app.lifecycle.createAgent(
        { gatewayId: input.gatewayId, boardId, name: leadName, kind: "board_lead", simulatorBehaviour: gateway.driver === "simulator" ? "healthy" : null },
        actorOf(ctx.principal),
        async (tx) => {
          await tx.board.create({ data: { id: boardId, ...input } });
        },
      );
    } catch (err) {
      if ((err as { code?: string }).code === "P2002") throw new TRPCError({ code: "CONFLICT", message: `The board ${input.name} or its lead ${leadName} already exists on this gateway` });
      throw err;
    }
    const board = await ctx.app.db.board.findUniqueOrThrow({ where: { id: boardId } });
    await audit(ctx, "created board", { gatewayId: board.gatewayId, boardId: board.id, name: board.name });
    return { ...board, leadAgentId: lead.id };
  }),
});
