import type { ServerResponse } from "node:http";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import type { App } from "../runtime/app";
import { hasRole, type Principal, type Role } from "../auth/principal";
import type { KeyLimiter } from "../platform/rate-limits";
import { refusalOf, type ServiceErrorKind } from "../platform/service-error";

/** Why a request has no principal although it carried a credential: a cross-site cookie, or a blocked address. */
export interface Refusal {
  code: "FORBIDDEN" | "TOO_MANY_REQUESTS";
  message: string;
  retryAfter?: number;
}

export interface Context {
  app: App;
  principal: Principal | null;
  refusal?: Refusal;
  /** Per-operator limit on procedure calls (absent in direct callers such as tests). */
  operatorLimiter?: KeyLimiter;
  /** The HTTP response, to set Retry-After on a 429. */
  res?: ServerResponse;
}

const t = initTRPC.context<Context>().create({
  // Never send stack traces to clients.
  isDev: false,
  transformer: superjson,
  errorFormatter({ shape, error }) {
    // Internal errors never leak details (which could include connection strings) to clients.
    if (error.code === "INTERNAL_SERVER_ERROR") return { ...shape, message: "Internal error" };
    // Input errors: the zod issues (paths and messages), never the submitted values.
    if (error.code === "BAD_REQUEST" && error.cause && "issues" in error.cause && Array.isArray(error.cause.issues)) {
      const issues = (error.cause.issues as { path?: PropertyKey[]; message?: string }[])
        .slice(0, 10)
        .map((i) => `${(i.path ?? []).map(String).join(".") || "input"}: ${i.message ?? "invalid"}`);
      return { ...shape, message: `Invalid input: ${issues.join("; ")}`.slice(0, 1000) };
    }
    return shape;
  },
});

const TRPC_CODE: Record<ServiceErrorKind, TRPCError["code"]> = {
  not_found: "NOT_FOUND",
  invalid: "BAD_REQUEST",
  conflict: "CONFLICT",
  forbidden: "FORBIDDEN",
  precondition: "PRECONDITION_FAILED",
};

/** A service's refusal becomes the matching 4xx with the service's message; anything else stays a 500. */
const serviceErrors = t.middleware(async ({ next }) => {
  const result = await next();
  const cause = result.ok ? null : refusalOf(result.error.cause);
  if (cause) throw new TRPCError({ code: TRPC_CODE[cause.kind], message: cause.message, cause });
  return result;
});

export const router = t.router;

/** Codes that say nothing about an action the caller was allowed to attempt, or that would flood the audit log. */
const NOT_AUDITED = new Set(["UNAUTHORIZED", "TOO_MANY_REQUESTS", "PARSE_ERROR"]);

/**
 * Every failed mutation by a signed-in principal is an `operator.action` with result "failed" (denied, invalid, not
 * found, conflicting, crashed). Successful actions are recorded by the procedures themselves through `audit`, with
 * their target.
 */
const auditFailures = t.middleware(async ({ ctx, type, path, next }) => {
  const result = await next();
  if (!result.ok && type === "mutation" && ctx.principal && !NOT_AUDITED.has(result.error.code)) {
    const code = result.error.code;
    const detail = code === "BAD_REQUEST" || code === "INTERNAL_SERVER_ERROR" ? undefined : result.error.message.slice(0, 200);
    await ctx.app.events
      .emit({
        event: "operator.action",
        actor: actorOf(ctx.principal),
        message: `${ctx.principal.email} ${path}: ${code === "FORBIDDEN" ? "denied" : "failed"} (${code})`,
        data: { action: path, result: "failed", code, error: detail, via: ctx.principal.via },
      })
      .catch((err: unknown) => ctx.app.logger.error({ err: String(err), path }, "could not record a failed action"));
  }
  return result;
});

function requireRole(role: Role) {
  return t.middleware(async ({ ctx, next }) => {
    if (!ctx.principal) {
      if (ctx.refusal) {
        if (ctx.refusal.retryAfter && ctx.res && !ctx.res.headersSent) ctx.res.setHeader("retry-after", String(ctx.refusal.retryAfter));
        throw new TRPCError({ code: ctx.refusal.code, message: ctx.refusal.message });
      }
      throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first (or send a valid operator API token)" });
    }
    if (!hasRole(ctx.principal, role)) throw new TRPCError({ code: "FORBIDDEN", message: `Requires the ${role} role` });
    if (ctx.operatorLimiter) {
      const wait = await ctx.operatorLimiter.take(ctx.principal.operatorId ?? `${ctx.principal.via}:${ctx.principal.email}`);
      if (wait > 0) {
        if (ctx.res && !ctx.res.headersSent) ctx.res.setHeader("retry-after", String(wait));
        throw new TRPCError({ code: "TOO_MANY_REQUESTS", message: `Too many requests; retry in ${wait} s` });
      }
    }
    return next({ ctx: { ...ctx, principal: ctx.principal } });
  });
}

// serviceErrors runs inside auditFailures, so a refused action is audited with its 4xx code.
export const viewerProcedure = t.procedure.use(auditFailures).use(serviceErrors).use(requireRole("viewer"));
export const operatorProcedure = t.procedure.use(auditFailures).use(serviceErrors).use(requireRole("operator"));
export const adminProcedure = t.procedure.use(auditFailures).use(serviceErrors).use(requireRole("admin"));

export function actorOf(principal: Principal): string {
  return principal.email;
}

export interface AuditTarget {
  agentId?: string;
  gatewayId?: string;
  boardId?: string;
  operatorId?: string;
  tokenId?: string;
  /** A readable name of the target, appended to the message. */
  name?: string;
}

/** Records who did what to which target, and the result (docs/lifecycle.md, Events `operator.action`). */
export async function audit(
  ctx: { app: App; principal: Principal },
  action: string,
  target: AuditTarget,
  result: "ok" | "failed" = "ok",
  extra: Record<string, unknown> = {},
): Promise<void> {
  const { agentId, gatewayId, boardId, operatorId, tokenId, name } = target;
  await ctx.app.events.emit({
    event: "operator.action",
    agentId,
    gatewayId,
    boardId,
    actor: actorOf(ctx.principal),
    message: `${ctx.principal.email} ${action}${name ? ` ${name}` : ""}`,
    data: {
      action,
      result,
      via: ctx.principal.via,
      ...(operatorId || tokenId || name ? { target: { operatorId, tokenId, name } } : {}),
      ...extra,
    },
  });
}

export function notFound(what: string): never {
  throw new TRPCError({ code: "NOT_FOUND", message: `${what} not found` });
}
