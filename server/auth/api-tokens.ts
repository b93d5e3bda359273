// Operator API tokens (for scripts and the `npm run mc` CLI; docs/security.md): issued for an operator, shown once,
// stored as sha256 only, with a name, a role (never above the owner's role), an optional expiry, the last-used time
// and revocation. Authenticator (./principal.ts) checks them on every request.
import type { Db, Prisma } from "../db/prisma";
import { ServiceError } from "../platform/service-error";
import { hasRole, newSecret, sha256, type Authenticator, type Role } from "./principal";

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

export type TokenView = ReturnType<typeof view>;

export class ApiTokensService {
  constructor(private readonly deps: { db: Db; auth: Authenticator }) {}

  async list(filter: { operatorId?: string; includeInactive?: boolean } = {}): Promise<TokenView[]> {
    const now = new Date();
    const rows = await this.deps.db.operatorApiToken.findMany({
      where: {
        operatorId: filter.operatorId,
        ...(filter.includeInactive === false ? { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] } : {}),
      },
      select: tokenSelect,
      orderBy: { createdAt: "desc" },
      take: 1000,
    });
    return rows.map((r) => view(r, now));
  }

  /**
   * Issues a token acting as `operatorId` (null: none chosen), with at most the owner's role. The token itself is in
   * `token`, returned this once; only its hash is stored.
   */
  async create(input: { name: string; role: Role; operatorId: string | null; expiresInDays?: number }): Promise<TokenView & { token: string }> {
    const { db } = this.deps;
    if (!input.operatorId) throw new ServiceError("invalid", "Choose the operator the token acts as (operatorId)");
    const owner = await db.operator.findUnique({ where: { id: input.operatorId }, select: { id: true, email: true, role: true, disabled: true } });
    if (!owner) throw ServiceError.notFound("Operator");
    if (owner.disabled) throw new ServiceError("precondition", `${owner.email} is disabled`);
    if (!hasRole(owner, input.role)) {
      throw new ServiceError("invalid", `${owner.email} is ${owner.role}: a token cannot have more rights than its owner`);
    }
    const token = newSecret(TOKEN_PREFIX);
    const row = await db.operatorApiToken.create({
      data: {
        name: input.name,
        role: input.role,
        operatorId: owner.id,
        tokenHash: sha256(token),
        expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null,
      },
      select: tokenSelect,
    });
    return { ...view(row), token };
  }

  /** Revoking twice is harmless; live connections using the token are re-checked at once. */
  async revoke(id: string): Promise<TokenView> {
    const { db, auth } = this.deps;
    const row = await db.operatorApiToken.findUnique({ where: { id }, select: tokenSelect });
    if (!row) throw ServiceError.notFound("Token");
    const updated = row.revokedAt ? row : await db.operatorApiToken.update({ where: { id }, data: { revokedAt: new Date() }, select: tokenSelect });
    auth.revoked({ tokenId: row.id });
    return view(updated);
  }
}
