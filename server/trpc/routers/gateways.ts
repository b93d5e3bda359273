import { z } from "zod";
import { actorOf, adminProcedure, audit, operatorProcedure, router, viewerProcedure } from "../init";
import { gatewayInput, gatewayUpdateInput, id } from "../../../lib/contract/schemas";

export const gatewaysRouter = router({
  list: viewerProcedure.query(({ ctx }) => ctx.app.gateways.list()),

  get: viewerProcedure.input(z.object({ id }).strict()).query(({ ctx, input }) => ctx.app.gateways.get(input.id)),

  create: adminProcedure.input(gatewayInput).mutation(async ({ ctx, input }) => {
    const gateway = await ctx.app.gateways.create(input, actorOf(ctx.principal));
    await audit(ctx, "created gateway", { gatewayId: gateway.id, name: gateway.name });
    return gateway;
  }),

  update: adminProcedure.input(gatewayUpdateInput).mutation(async ({ ctx, input }) => {
    const { gateway, changed } = await ctx.app.gateways.update(input);
    await audit(ctx, `updated gateway${changed.length ? ` (${changed.join(", ")})` : ""}`, { gatewayId: gateway.id, name: gateway.name });
    return gateway;
  }),

  /** Queues the delete as a fleet operation (docs/fleet.md, Deleting a gateway); answers at once, `fleet.operation` follows it. */
  delete: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const { name, deletedAgents, operationId } = await ctx.app.gateways.delete(input.id, actorOf(ctx.principal));
    await audit(ctx, `deleted gateway (${deletedAgents} agent${deletedAgents === 1 ? "" : "s"})`, { gatewayId: input.id, name }, "ok", { operationId });
    return { id: input.id, deletedAgents, operationId };
  }),

  probe: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const { gateway, outcome } = await ctx.app.gateways.probe(input.id);
    await audit(ctx, `probed gateway (${outcome.to})`, { gatewayId: input.id, name: gateway.name }, outcome.to === "reachable" ? "ok" : "failed");
    return gateway;
  }),

  /** Pushes the current template revision to every agent of the gateway (docs/architecture.md, Contracts (templates)); progress arrives as events. */
  syncTemplates: operatorProcedure
    .input(z.object({ id, wake: z.boolean().optional() }).strict())
    .mutation(async ({ ctx, input }) => {
      const { runId, name } = await ctx.app.gateways.syncTemplates(input.id, input.wake ?? false, actorOf(ctx.principal));
      await audit(ctx, `synced templates${input.wake ? " and woke agents" : ""}`, { gatewayId: input.id, name });
      return { runId };
    }),

  /** A wake cycle for every agent of the gateway, as a queued fleet operation (server/fleet/); answers at once. */
  wakeAll: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const { operationId, name } = await ctx.app.gateways.wakeAll(input.id, actorOf(ctx.principal));
    await audit(ctx, "woke every agent of", { gatewayId: input.id, name }, "ok", { operationId });
    return { operationId };
  }),

  /** Recent sync runs of a gateway, newest first, each with its per-agent results. */
  syncRuns: viewerProcedure
    .input(z.object({ id, limit: z.number().int().min(1).max(100).optional() }).strict())
    .query(({ ctx, input }) => ctx.app.gateways.syncRuns(input.id, input.limit ?? 10)),
});
