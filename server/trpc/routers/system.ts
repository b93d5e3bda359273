import { z } from "zod";
import { QUEUES } from "../../queue/queues";
import { operatorProcedure, router, viewerProcedure } from "../init";
import { id } from "../../../lib/contract/schemas";

const queueName = z.enum(Object.values(QUEUES) as [string, ...string[]]);

export const systemRouter = router({
  health: viewerProcedure.query(({ ctx }) => ctx.app.health()),

  me: viewerProcedure.query(({ ctx }) => ({ email: ctx.principal.email, role: ctx.principal.role })),

  /** Recently failed jobs of every product queue, newest first. */
  failedJobs: viewerProcedure
    .input(z.object({ limit: z.number().int().min(1).max(200).default(50) }).strict().optional())
    .query(({ ctx, input }) => ctx.app.failedJobs.recent(input?.limit ?? 50)),

  /** Puts a failed job back in the queue (pg-boss `retry`). */
  retryJob: operatorProcedure
    .input(z.object({ queue: queueName, id }).strict())
    .mutation(({ ctx, input }) => ctx.app.failedJobs.retry(input.queue, input.id, ctx.principal)),
});
