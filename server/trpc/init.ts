import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import type { App } from "../app";
import { hasRole, type Principal, type Role } from "../auth/principal";

export interface Context {
  app: App;
  principal: Principal | null;
}

const t = initTRPC.context<Context>().create({
  // Never send stack traces to clients.
  isDev: false,
  transformer: superjson,
  errorFormatter({ shape, error }) {
    // Internal errors never leak details (which could include connection strings) to clients.
    if (error.code === "INTERNAL_SERVER_ERROR") return { ...shape, message: "Internal error" };
    return shape;
  },
});

export const router = t.router;

function requireRole(role: Role) {
  return t.middleware(({ ctx, next }) => {
    if (!ctx.principal) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first" });
    if (!hasRole(ctx.principal, role)) throw new TRPCError({ code: "FORBIDDEN", message: `Requires the ${role} role` });
    return next({ ctx: { ...ctx, principal: ctx.principal } });
  });
}

export const viewerProcedure = t.procedure.use(requireRole("viewer"));
export const operatorProcedure = t.procedure.use(requireRole("operator"));
export const adminProcedure = t.procedure.use(requireRole("admin"));

export function actorOf(principal: Principal): string {
  return principal.email;
}

/** Records who did what (SPEC §2 `operator.action`). */
export async function audit(
  ctx: { app: App; principal: Principal },
  action: string,
  target: { agentId?: string; gatewayId?: string; boardId?: string; name?: string },
  result: "ok" | "failed" = "ok",
): Promise<void> {
  await ctx.app.events.emit({
    event: "operator.action",
    agentId: target.agentId,
    gatewayId: target.gatewayId,
    boardId: target.boardId,
    actor: actorOf(ctx.principal),
    message: `${ctx.principal.email} ${action}${target.name ? ` ${target.name}` : ""}`,
    data: { action, result, via: ctx.principal.via },
  });
}

export function notFound(what: string): never {
  throw new TRPCError({ code: "NOT_FOUND", message: `${what} not found` });
}
