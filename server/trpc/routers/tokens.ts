// Operator API tokens (for scripts and the `npm run mc` CLI): created by an admin for an operator, shown once, stored
// as sha256 only, with a name, a role (never above the owner's current role), an optional expiry, the last-used time and
// revocation. `Authorization: Bearer <token>` on tRPC, Socket.IO (auth.token) and /api/metrics.
import { z } from "zod";
import { TRPCError } from "@trpc/server";
import type { Prisma } from "../../db/prisma";
import { hasRole, newSecret, ROLES, sha256 } from "../../auth/principal";
import { adminProcedure, audit, notFound, router } from "../init";
import { id } from "../../../lib/contract/schemas";

const tokenName = z
  .string()
  .trim()
  .min(1)
  .max(80)
  .regex(/^[\p{L}\p{N} ._:@/-]+$/u, "letters, digits, spaces and . _ : @ / - only")
  .refine((v) => !/^mc[aos]_/i.test(v), "a name, not a token");

export const TOKEN_PREFIX = "mco";

const tokenSelect = {
  id: true,
  name: true,
  role: true,
  createdAt: true,
  expiresAt: true,
  lastUsedAt: true,
  revokedAt: true,
  operator: { select: { id: true, email: true, role: true, disabled: true } },
} satisfies Prisma.OperatorApiTokenSelect;

type TokenRow = Prisma.OperatorApiTokenGetPayload<{ select: typeof tokenSelect }>;

function view(row: TokenRow, now = new Date()) {
  const state = row.revokedAt ? "revoked" : row.expiresAt && row.expiresAt <= now ? "expired" : row.operator.disabled ? "owner disabled" : "active";
  return { ...row, state };
}

export const tokensRouter = router({
  list: adminProcedure
    .input(z.object({ operatorId: id.optional(), includeInactive: z.boolean().default(true) }).strict().optional())
    .query(async ({ ctx, input }) => {
      const now = new Date();
      const rows = await ctx.app.db.operatorApiToken.findMany({
        where: {
          operatorId: input?.operatorId,
          ...(input?.includeInactive === false ? { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] } : {}),
        },
        select: tokenSelect,
        orderBy: { createdAt: "desc" },
        take: 1000,
      });
      return rows.map((r) => view(r, now));
    }),

  /** Returns the token in `token` exactly once; only its hash is stored. */
  create: adminProcedure
    .input(
      z
        .object({
          name: tokenName,
          role: z.enum(ROLES),
          /** The owner (default: the caller). The token acts as this operator, with at most their role. */
          operatorId: id.optional(),
          /** Days until it expires; omitted: it never expires (revoke it when done). */
          expiresInDays: z.number().int().min(1).max(3650).optional(),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      const ownerId = input.operatorId ?? ctx.principal.operatorId;
      if (!ownerId) throw new TRPCError({ code: "BAD_REQUEST", message: "Choose the operator the token acts as (operatorId)" });
      const owner = await ctx.app.db.operator.findUnique({ where: { id: ownerId }, select: { id: true, email: true, role: true, disabled: true } });
      if (!owner) notFound("Operator");
      if (owner.disabled) throw new TRPCError({ code: "PRECONDITION_FAILED", message: `${owner.email} is disabled` });
      if (!hasRole(owner, input.role)) {
        throw new TRPCError({ code: "BAD_REQUEST", message: `${owner.email} is ${owner.role}: a token cannot have more rights than its owner` });
      }
      const token = newSecret(TOKEN_PREFIX);
      const row = await ctx.app.db.operatorApiToken.create({
        data: {
          name: input.name,
          role: input.role,
          operatorId: owner.id,
          tokenHash: sha256(token),
          expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null,
        },
        select: tokenSelect,
      });
      await audit(ctx, `created API token (${row.role}) for ${owner.email}:`, { operatorId: owner.id, tokenId: row.id, name: row.name });
      return { ...view(row), token };
    }),

  revoke: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const row = await ctx.app.db.operatorApiToken.findUnique({ where: { id: input.id }, select: tokenSelect });
    if (!row) notFound("Token");
    const updated = row.revokedAt
      ? row
      : await ctx.app.db.operatorApiToken.update({ where: { id: input.id }, data: { revokedAt: new Date() }, select: tokenSelect });
    ctx.app.auth.revoked({ tokenId: row.id });
    await audit(ctx, "revoked API token", { operatorId: row.operator.id, tokenId: row.id, name: row.name });
    return view(updated);
  }),
});
