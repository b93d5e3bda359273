// Operators (people who sign in) and the audit log. Admins invite, change roles, disable, reset passwords and end
// sessions; everyone can sign themselves out everywhere and change their own password. A password is never returned
// except the one generated for an invitation or reset, once, to the admin who asked for it.
import { z } from "zod";
import { TRPCError } from "@trpc/server";
import type { Prisma } from "../../db/prisma";
import { generatePassword, hashPassword, verifyPasswordConstantTime } from "../../auth/passwords";
import { ROLES, type Principal } from "../../auth/principal";
import { toStoredEvent } from "../../events/bus";
import { adminProcedure, audit, notFound, router, viewerProcedure } from "../init";
import { id } from "../../../lib/contract/schemas";

const role = z.enum(ROLES);
const email = z.string().trim().toLowerCase().max(200).email("a valid email address");
const displayName = z
  .string()
  .trim()
  .max(100)
  .refine((v) => !/[<>]/.test(v) && ![...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), "no control characters or angle brackets");
const password = z.string().min(12, "at least 12 characters").max(200);

const operatorSelect = {
  id: true,
  email: true,
  name: true,
  role: true,
  disabled: true,
  createdAt: true,
} satisfies Prisma.OperatorSelect;

function requireOperatorId(principal: Principal): string {
  if (!principal.operatorId) {
    throw new TRPCError({ code: "BAD_REQUEST", message: "The bootstrap token is not an operator account" });
  }
  return principal.operatorId;
}

export const operatorsRouter = router({
  list: adminProcedure.query(async ({ ctx }) => {
    const now = new Date();
    const [operators, sessions, tokens] = await Promise.all([
      ctx.app.db.operator.findMany({ select: operatorSelect, orderBy: { email: "asc" } }),
      ctx.app.db.operatorSession.groupBy({ by: ["operatorId"], where: { expiresAt: { gt: now } }, _count: { _all: true }, _max: { lastUsedAt: true } }),
      ctx.app.db.operatorApiToken.groupBy({
        by: ["operatorId"],
        where: { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
        _count: { _all: true },
      }),
    ]);
    return operators.map((o) => {
      const s = sessions.find((x) => x.operatorId === o.id);
      return {
        ...o,
        activeSessions: s?._count._all ?? 0,
        lastActiveAt: s?._max.lastUsedAt ?? null,
        activeTokens: tokens.find((x) => x.operatorId === o.id)?._count._all ?? 0,
      };
    });
  }),

  /** Invite: creates the account; without a password one is generated and returned once (hand it over securely). */
  create: adminProcedure
    .input(z.object({ email, name: displayName.optional(), role, password: password.optional() }).strict())
    .mutation(async ({ ctx, input }) => {
      if (await ctx.app.db.operator.findUnique({ where: { email: input.email }, select: { id: true } })) {
        throw new TRPCError({ code: "CONFLICT", message: `An operator with the email ${input.email} already exists` });
      }
      const initialPassword = input.password ? undefined : generatePassword();
      const operator = await ctx.app.db.operator.create({
        data: { email: input.email, name: input.name || null, role: input.role, passwordHash: await hashPassword(input.password ?? initialPassword!) },
        select: operatorSelect,
      });
      await audit(ctx, `invited (${operator.role})`, { operatorId: operator.id, name: operator.email });
      return { ...operator, initialPassword };
    }),

  /** Role, name or disabled. The last enabled admin can be neither demoted nor disabled. */
  update: adminProcedure
    .input(z.object({ id, role: role.optional(), disabled: z.boolean().optional(), name: displayName.optional() }).strict())
    .mutation(async ({ ctx, input }) => {
      const updated = await ctx.app.db.$transaction(async (tx) => {
        // Serialise admin changes so that two admins cannot demote each other at once.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(727001)`;
        const before = await tx.operator.findUnique({ where: { id: input.id }, select: operatorSelect });
        if (!before) notFound("Operator");
        const losesAdmin = before.role === "admin" && !before.disabled && ((input.role && input.role !== "admin") || input.disabled === true);
        if (losesAdmin) {
          const admins = await tx.operator.count({ where: { role: "admin", disabled: false } });
          if (admins <= 1) throw new TRPCError({ code: "PRECONDITION_FAILED", message: "This is the last enabled admin: add another admin first" });
        }
        const after = await tx.operator.update({
          where: { id: input.id },
          data: { role: input.role, disabled: input.disabled, name: input.name === undefined ? undefined : input.name || null },
          select: operatorSelect,
        });
        if (input.disabled === true) await tx.operatorSession.deleteMany({ where: { operatorId: input.id } });
        return { before, after };
      });
      const { before, after } = updated;
      ctx.app.auth.revoked({ operatorId: after.id });
      const changes: string[] = [];
      if (before.role !== after.role) changes.push(`role ${before.role} → ${after.role}`);
      if (before.disabled !== after.disabled) changes.push(after.disabled ? "disabled" : "enabled");
      if (before.name !== after.name) changes.push("renamed");
      await audit(ctx, `changed operator (${changes.join(", ") || "no change"})`, { operatorId: after.id, name: after.email });
      return after;
    }),

  /** A new generated password, returned once; every session of that operator ends. */
  resetPassword: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const target = await ctx.app.db.operator.findUnique({ where: { id: input.id }, select: operatorSelect });
    if (!target) notFound("Operator");
    const generated = generatePassword();
    await ctx.app.db.operator.update({ where: { id: input.id }, data: { passwordHash: await hashPassword(generated) } });
    await ctx.app.auth.endAllSessions(input.id);
    await audit(ctx, "reset the password of", { operatorId: target.id, name: target.email });
    return { id: target.id, email: target.email, password: generated };
  }),

  /** Signs an operator out of every browser. */
  endSessions: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const target = await ctx.app.db.operator.findUnique({ where: { id: input.id }, select: operatorSelect });
    if (!target) notFound("Operator");
    const ended = await ctx.app.auth.endAllSessions(input.id);
    await audit(ctx, "ended the sessions of", { operatorId: target.id, name: target.email }, "ok", { sessions: ended });
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
      const me = await ctx.app.db.operator.findUnique({ where: { id: operatorId }, select: { passwordHash: true } });
      if (!me || !(await verifyPasswordConstantTime(input.current, me.passwordHash))) {
        throw new TRPCError({ code: "FORBIDDEN", message: "The current password is wrong" });
      }
      await ctx.app.db.operator.update({ where: { id: operatorId }, data: { passwordHash: await hashPassword(input.next) } });
      await ctx.app.db.operatorSession.deleteMany({ where: { operatorId, ...(ctx.principal.sessionId ? { id: { not: ctx.principal.sessionId } } : {}) } });
      ctx.app.auth.revoked({ operatorId });
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
          cursor: z.string().regex(/^\d{1,19}$/).nullish(),
          /** Sent by infinite queries (only forward paging exists). */
          direction: z.enum(["forward", "backward"]).optional(),
          limit: z.number().int().min(1).max(500).default(100),
        })
        .strict()
        .optional(),
    )
    .query(async ({ ctx, input }) => {
      const f = input ?? { limit: 100 };
      const and: Prisma.OperatorAuditWhereInput[] = [];
      if (f.actor) and.push({ actor: { contains: f.actor, mode: "insensitive" } });
      if (f.action) and.push({ message: { contains: f.action, mode: "insensitive" } });
      if (f.result) and.push({ data: { path: ["result"], equals: f.result } });
      if (f.agentId) and.push({ agentId: f.agentId });
      if (f.gatewayId) and.push({ gatewayId: f.gatewayId });
      if (f.since) and.push({ at: { gte: f.since } });
      if (f.cursor) and.push({ id: { lt: BigInt(f.cursor) } });
      const rows = await ctx.app.db.operatorAudit.findMany({ where: { AND: and }, orderBy: { id: "desc" }, take: f.limit ?? 100 });
      return rows.map((r) =>
        toStoredEvent({ ...r, event: "operator.action", generation: null, attempt: null, deadlineAt: null }),
      );
    }),
});
