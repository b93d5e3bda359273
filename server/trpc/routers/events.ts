import { z } from "zod";
import { EVENT_NAMES } from "../../../lib/events";
import { readEventLog } from "../../events/log";
import { router, viewerProcedure } from "../init";
import { id } from "../../../lib/contract/schemas";

/** Event ids are PostgreSQL bigints: a larger cursor would fail in the database instead of being refused here. */
const MAX_EVENT_ID = 2n ** 63n - 1n;

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
          before: z
            .string()
            .regex(/^\d{1,19}$/)
            .refine((v) => BigInt(v) <= MAX_EVENT_ID, "before is beyond the largest event id")
            .optional(),
          limit: z.number().int().min(1).max(1000).default(200),
        })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) => readEventLog(ctx.app.db, input ?? { limit: 200 })),
});
