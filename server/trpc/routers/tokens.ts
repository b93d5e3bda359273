// Operator API tokens (for scripts and the `npm run mc` CLI): created by an admin for an operator, shown once, stored
// as sha256 only, with a name, a role (never above the owner's current role), an optional expiry, the last-used time and
// revocation. `Authorization: Bearer <token>` on tRPC, Socket.IO (auth.token) and /api/metrics.
import { z } from "zod";
import { ROLES } from "../../auth/principal";
import { adminProcedure, audit, router } from "../init";
import { id } from "../../../lib/contract/schemas";

const tokenName = z
  .string()
  .trim()
  .min(1)
  .max(80)
  .regex(/^[\p{L}\p{N} ._:@/-]+$/u, "letters, digits, spaces and . _ : @ / - only")
  .refine((v) => !/^mc[aos]_/i.test(v), "a name, not a token");

export const tokensRouter = router({
  list: adminProcedure
    .input(z.object({ operatorId: id.optional(), includeInactive: z.boolean().default(true) }).strict().optional())
    .query(({ ctx, input }) => ctx.app.apiTokens.list(input)),

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
      const created = await ctx.app.apiTokens.create({ ...input, operatorId: input.operatorId ?? ctx.principal.operatorId });
      const owner = created.operator;
      await audit(ctx, `created API token (${created.role}) for ${owner.email}:`, { operatorId: owner.id, tokenId: created.id, name: created.name });
      return created;
    }),

  revoke: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const revoked = await ctx.app.apiTokens.revoke(input.id);
    await audit(ctx, "revoked API token", { operatorId: revoked.operator.id, tokenId: revoked.id, name: revoked.name });
    return revoked;
  }),
});
