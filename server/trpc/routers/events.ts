import { z } from "zod";
import { EVENT_NAMES } from "../../../lib/events";
import { toStoredEvent } from "../../events/bus";
import { router, viewerProcedure } from "../init";
import { id } from "../../../lib/contract/schemas";

export const eventsRouter = router({
  list: viewerProcedure
    .input(
      z
        .object({
          agentId: id.optional(),
          gatewayId: id.optional(),
          boardId: id.optional(),
          events: z.array(z.enum(EVENT_NAMES)).max(EVENT_NAMES.length).optional(),
          /** Cursor: only events with a smaller id. */
          before: z.string().regex(/^\d{1,19}$/).optional(),
          limit: z.number().int().min(1).max(1000).default(200),
        })
        .strict()
        .optional(),
    )
    .query(async ({ ctx, input }) => {
      const f = input ?? { limit: 200 };
      const rows = await ctx.app.db.lifecycleEvent.findMany({
        where: {
          agentId: f.agentId,
          gatewayId: f.gatewayId,
          boardId: f.boardId,
          event: f.events?.length ? { in: f.events } : undefined,
          id: f.before ? { lt: BigInt(f.before) } : undefined,
        },
        orderBy: { id: "desc" },
        take: f.limit ?? 200,
      });
      return rows.map(toStoredEvent);
    }),
});
