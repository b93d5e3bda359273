import { z } from "zod";
import { TRPCError } from "@trpc/server";
import { QUEUES } from "../../queue/queues";
import { recentFailedJobs, watchHealth } from "../../system/health";
import { actorOf, operatorProcedure, router, viewerProcedure } from "../init";
import { id } from "../../../lib/contract/schemas";

const queueName = z.enum(Object.values(QUEUES) as [string, ...string[]]);

export const systemRouter = router({
  health: viewerProcedure.query(({ ctx }) => {
    watchHealth(ctx.app);
    return ctx.app.health();
  }),

  me: viewerProcedure.query(({ ctx }) => ({ email: ctx.principal.email, role: ctx.principal.role })),

  /** Recently failed jobs of every product queue, newest first. */
  failedJobs: viewerProcedure
    .input(z.object({ limit: z.number().int().min(1).max(200).default(50) }).strict().optional())
    .query(({ ctx, input }) => recentFailedJobs(ctx.app.db, ctx.app.config.QUEUE_SCHEMA, input?.limit ?? 50)),

  /** Puts a failed job back in the queue (pg-boss `retry`). */
  retryJob: operatorProcedure
    .input(z.object({ queue: queueName, id }).strict())
    .mutation(async ({ ctx, input }) => {
      const result = await ctx.app.boss.retry(input.queue, input.id);
      const affected = Number((result as { affected?: number } | undefined)?.affected ?? 0);
      if (affected === 0) throw new TRPCError({ code: "NOT_FOUND", message: "No failed job with that id in this queue" });
      const actor = actorOf(ctx.principal);
      await ctx.app.events.emit({
        event: "operator.action",
        actor,
        message: `${actor} retried ${input.queue} job ${input.id}`,
        data: { action: "retried job", result: "ok", via: ctx.principal.via, queue: input.queue, jobId: input.id },
      });
      return { retried: affected };
    }),
});
