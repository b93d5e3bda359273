// Operators (people who sign in) and the audit log. Admins invite, change roles, disable, reset passwords and end
// sessions; everyone can sign themselves out everywhere and change their own password. A password is never returned
// except the one generated for an invitation or reset, once, to the admin who asked for it.
import { z } from "zod";
import { TRPCError } from "@trpc/server";
import { ROLES, type Principal } from "../../auth/principal";
import { adminProcedure, audit, router, viewerProcedure } from "../init";
import { bigintCursor, id, operatorPassword as password } from "../../../lib/contract/schemas";

const role = z.enum(ROLES);
const email = z.string().trim().toLowerCase().max(200).email("a valid email address");
const displayName = z
  .string()
  .trim()
  .max(100)
  .refine((v) => !/[<>]/.test(v) && ![...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), "no control characters or angle brackets");

function requireOperatorId(principal: Principal): string {
  if (!principal.operatorId) {
    throw new TRPCError({ code: "BAD_REQUEST", message: "The bootstrap token is not an operator account" });
  }
  return principal.operatorId;
}

export const operatorsRouter = router({
  list: adminProcedure.query(({ ctx }) => ctx.app.operators.list()),

  /** Invite: creates the account; without a password one is generated and returned once (hand it over securely). */
  create: adminProcedure
    .input(z.object({ email, name: displayName.optional(), role, password: password.optional() }).strict())
    .mutation(async ({ ctx, input }) => {
      const operator = await ctx.app.operators.create(input);
      await audit(ctx, `invited (${operator.role})`, { operatorId: operator.id, name: operator.email });
      return operator;
    }),

  /** Role, name or disabled. The last enabled admin can be neither demoted nor disabled. */
  update: adminProcedure
    .input(z.object({ id, role: role.optional(), disabled: z.boolean().optional(), name: displayName.optional() }).strict())
    .mutation(async ({ ctx, input }) => {
      const { before, after } = await ctx.app.operators.update(input);
      const changes: string[] = [];
      if (before.role !== after.role) changes.push(`role ${before.role} → ${after.role}`);
      if (before.disabled !== after.disabled) changes.push(after.disabled ? "disabled" : "enabled");
      if (before.name !== after.name) changes.push("renamed");
      await audit(ctx, `changed operator (${changes.join(", ") || "no change"})`, { operatorId: after.id, name: after.email });
      return after;
    }),

  /** A new generated password, returned once; every session of that operator ends. */
  resetPassword: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const reset = await ctx.app.operators.resetPassword(input.id);
    await audit(ctx, "reset the password of", { operatorId: reset.id, name: reset.email });
    return reset;
  }),

  /** Signs an operator out of every browser. */
  endSessions: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const { operator, ended } = await ctx.app.operators.endSessions(input.id);
    await audit(ctx, "ended the sessions of", { operatorId: operator.id, name: operator.email }, "ok", { sessions: ended });
    return { ended };
  }),

  /** Signs the caller out of every browser (this one included). */
  signOutEverywhere: viewerProcedure.input(z.object({}).strict().optional()).mutation(async ({ ctx }) => {
    const operatorId = requireOperatorId(ctx.principal);
    const ended = await ctx.app.auth.endAllSessions(operatorId);
    await audit(ctx, "signed out everywhere", { operatorId }, "ok", { sessions: ended });
    return { ended };
  }),

  /** The caller's own password; every other session ends. */
  changePassword: viewerProcedure
    .input(z.object({ current: z.string().min(1).max(200), next: password }).strict())
    .mutation(async ({ ctx, input }) => {
      const operatorId = requireOperatorId(ctx.principal);
      await ctx.app.operators.changePassword(operatorId, input.current, input.next, ctx.principal.sessionId);
      await audit(ctx, "changed their password", { operatorId });
      return { changed: true };
    }),

  /** The audit log: every operator.action (kept in its own table, AUDIT_RETENTION_DAYS), newest first, filterable. */
  audit: adminProcedure
    .input(
      z
        .object({
          actor: z.string().trim().max(200).optional(),
          action: z.string().trim().max(100).optional(),
          result: z.enum(["ok", "failed"]).optional(),
          agentId: id.optional(),
          gatewayId: id.optional(),
          since: z.date().optional(),
          /** Cursor: only events with a smaller id (the last id of the previous page). */
          cursor: bigintCursor.nullish(),
          /** Sent by infinite queries (only forward paging exists). */
          direction: z.enum(["forward", "backward"]).optional(),
          limit: z.number().int().min(1).max(500).default(100),
        })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) => ctx.app.operators.auditLog(input ?? {})),
});
