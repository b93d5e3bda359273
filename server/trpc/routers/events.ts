import { z } from "zod";
import { EVENT_NAMES } from "../../../lib/events";
import { readEventLog } from "../../events/log";
import { router, viewerProcedure } from "../init";
import { bigintCursor, id } from "../../../lib/contract/schemas";

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
          before: bigintCursor.optional(),
          limit: z.number().int().min(1).max(1000).default(200),
        })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) => readEventLog(ctx.app.db, input ?? { limit: 200 })),
});
