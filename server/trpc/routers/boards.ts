import { z } from "zod";
import { actorOf, audit, operatorProcedure, router, viewerProcedure } from "../init";
import { agentName, id } from "../../../lib/contract/schemas";

export const boardsRouter = router({
  list: viewerProcedure.input(z.object({ gatewayId: id.optional() }).strict().optional()).query(async ({ ctx, input }) => {
    return ctx.app.boards.list(input?.gatewayId);
  }),

  /** The board and its lead agent, both or neither (server/boards/service.ts). */
  create: operatorProcedure.input(z.object({ name: agentName, gatewayId: id }).strict()).mutation(async ({ ctx, input }) => {
    const board = await ctx.app.boards.create(input, actorOf(ctx.principal));
    await audit(ctx, "created board", { gatewayId: board.gatewayId, boardId: board.id, name: board.name });
    return board;
  }),
});
