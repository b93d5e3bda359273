// Fleet operations and the fleet timeline (server/fleet/).
import { z } from "zod";
import { notFound, router, viewerProcedure } from "../init";
import { fleetTimeline } from "../../fleet/timeline";
import { DEFAULT_FLEET_WINDOW, FLEET_WINDOW_NAMES } from "../../../lib/fleet-windows";
import { id } from "../../../lib/contract/schemas";

const timelineInput = z
  .object({
    window: z.enum(FLEET_WINDOW_NAMES).default(DEFAULT_FLEET_WINDOW),
    gatewayId: id.optional(),
    /** Most agents returned (rows of the timeline), in board order. */
    limit: z.number().int().min(1).max(20_000).default(20_000),
  })
  .strict();

export const fleetRouter = router({
  /** One fleet operation (bulk provisioning, reprovision, gateway-wide wake, gateway delete) and its progress. */
  operation: viewerProcedure.input(z.object({ id }).strict()).query(async ({ ctx, input }) => {
    const operation = await ctx.app.fleet.get(input.id);
    if (!operation) notFound("Fleet operation");
    return operation;
  }),

  /** Recent fleet operations, newest first. */
  operations: viewerProcedure
    .input(
      z
        .object({ gatewayId: id.optional(), since: z.coerce.date().optional(), limit: z.number().int().min(1).max(200).default(20) })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) => ctx.app.fleet.recent({ limit: input?.limit ?? 20, gatewayId: input?.gatewayId, since: input?.since })),

  /** Every agent's status changes in a window and time-to-converge per gateway (server/fleet/timeline.ts). */
  timeline: viewerProcedure
    .input(timelineInput.optional())
    .query(({ ctx, input }) => fleetTimeline(ctx.app.db, timelineInput.parse(input ?? {}))),
});
