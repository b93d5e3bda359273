import { z } from "zod";
import { TRPCError } from "@trpc/server";
import { actorOf, audit, notFound, operatorProcedure, router, viewerProcedure } from "../init";
import { agentName } from "./agents";

const id = z.string().uuid();

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
    const board = await ctx.app.db.board.create({ data: input });
    await audit(ctx, "created board", { gatewayId: board.gatewayId, boardId: board.id, name: board.name });
    const lead = await ctx.app.lifecycle.createAgent(
      {
        gatewayId: board.gatewayId,
        boardId: board.id,
        name: `${board.name} lead`,
        kind: "board_lead",
        simulatorBehaviour: gateway.driver === "simulator" ? "healthy" : null,
      },
      actorOf(ctx.principal),
    );
    return { ...board, leadAgentId: lead.id };
  }),
});
