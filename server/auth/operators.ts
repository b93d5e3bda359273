// Operators (people who sign in) and their audit log (docs/security.md). Admins invite, change roles, disable, reset
// passwords and end sessions; everyone can change their own password. A password is never returned except the one
// generated for an invitation or reset, once. The last enabled admin can be neither demoted nor disabled.
import { conflictOnUnique, type Db, type Prisma } from "../db/prisma";
import { toStoredEvent, type StoredEvent } from "../events/bus";
import { ServiceError } from "../platform/service-error";
import { generatePassword, hashPassword, verifyPasswordConstantTime } from "./passwords";
import type { Authenticator, Role } from "./principal";

const operatorSelect = {
  id: true,
  email: true,
  name: true,
  role: true,
  disabled: true,
  createdAt: true,
} satisfies Prisma.OperatorSelect;

export type OperatorRow = Prisma.OperatorGetPayload<{ select: typeof operatorSelect }>;

export interface AuditFilter {
  actor?: string;
  action?: string;
  result?: "ok" | "failed";
  agentId?: string;
  gatewayId?: string;
  since?: Date;
  /** Only events with a smaller id (the last id of the previous page). */
  cursor?: string | null;
  limit?: number;
}

export class OperatorsService {
  constructor(private readonly deps: { db: Db; auth: Authenticator }) {}

  /** Every operator with their active sessions and tokens. */
  async list() {
    const { db } = this.deps;
    const now = new Date();
    const [operators, sessions, tokens] = await Promise.all([
      db.operator.findMany({ select: operatorSelect, orderBy: { email: "asc" } }),
      db.operatorSession.groupBy({ by: ["operatorId"], where: { expiresAt: { gt: now } }, _count: { _all: true }, _max: { lastUsedAt: true } }),
      db.operatorApiToken.groupBy({
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
  }

  /** Invite: without a password one is generated and returned once (to be handed over securely). */
  async create(input: { email: string; name?: string; role: Role; password?: string }): Promise<OperatorRow & { initialPassword?: string }> {
    const { db } = this.deps;
    const taken = `An operator with the email ${input.email} already exists`;
    if (await db.operator.findUnique({ where: { email: input.email }, select: { id: true } })) throw new ServiceError("conflict", taken);
    const initialPassword = input.password ? undefined : generatePassword();
    const operator = await db.operator.create({
      data: { email: input.email, name: input.name || null, role: input.role, passwordHash: await hashPassword(input.password ?? initialPassword!) },
      select: operatorSelect,
    }).catch(conflictOnUnique(taken));
    return { ...operator, initialPassword };
  }

  /** Role, name or disabled; disabling ends every session. Their live connections are re-checked at once. */
  async update(input: { id: string; role?: Role; disabled?: boolean; name?: string }): Promise<{ before: OperatorRow; after: OperatorRow }> {
    const changed = await this.deps.db.$transaction(async (tx) => {
      // Serialise admin changes so that two admins cannot demote each other at once.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(727001)`;
      const before = await tx.operator.findUnique({ where: { id: input.id }, select: operatorSelect });
      if (!before) throw ServiceError.notFound("Operator");
      const losesAdmin = before.role === "admin" && !before.disabled && ((input.role && input.role !== "admin") || input.disabled === true);
      if (losesAdmin) {
        const admins = await tx.operator.count({ where: { role: "admin", disabled: false } });
        if (admins <= 1) throw new ServiceError("precondition", "This is the last enabled admin: add another admin first");
      }
      const after = await tx.operator.update({
        where: { id: input.id },
        data: { role: input.role, disabled: input.disabled, name: input.name === undefined ? undefined : input.name || null },
        select: operatorSelect,
      });
      if (input.disabled === true) await tx.operatorSession.deleteMany({ where: { operatorId: input.id } });
      return { before, after };
    });
    this.deps.auth.revoked({ operatorId: changed.after.id });
    return changed;
  }

  /** A new generated password, returned once; every session of that operator ends. */
  async resetPassword(id: string): Promise<{ id: string; email: string; password: string }> {
    const target = await this.find(id);
    const password = generatePassword();
    await this.deps.db.operator.update({ where: { id }, data: { passwordHash: await hashPassword(password) } });
    await this.deps.auth.endAllSessions(id);
    return { id: target.id, email: target.email, password };
  }

  /** Signs an operator out of every browser. */
  async endSessions(id: string): Promise<{ operator: OperatorRow; ended: number }> {
    const operator = await this.find(id);
    return { operator, ended: await this.deps.auth.endAllSessions(id) };
  }

  /** An operator's own password; every other session of theirs ends (`keepSessionId`: the one asking). */
  async changePassword(operatorId: string, current: string, next: string, keepSessionId?: string): Promise<void> {
    const { db, auth } = this.deps;
    const me = await db.operator.findUnique({ where: { id: operatorId }, select: { passwordHash: true } });
    if (!me || !(await verifyPasswordConstantTime(current, me.passwordHash))) {
      throw new ServiceError("forbidden", "The current password is wrong");
    }
    await db.operator.update({ where: { id: operatorId }, data: { passwordHash: await hashPassword(next) } });
    await db.operatorSession.deleteMany({ where: { operatorId, ...(keepSessionId ? { id: { not: keepSessionId } } : {}) } });
    auth.revoked({ operatorId });
  }

  /** The audit log (every operator.action, kept AUDIT_RETENTION_DAYS), newest first. */
  async auditLog(f: AuditFilter): Promise<StoredEvent[]> {
    const and: Prisma.OperatorAuditWhereInput[] = [];
    if (f.actor) and.push({ actor: { contains: f.actor, mode: "insensitive" } });
    if (f.action) and.push({ message: { contains: f.action, mode: "insensitive" } });
    if (f.result) and.push({ data: { path: ["result"], equals: f.result } });
    if (f.agentId) and.push({ agentId: f.agentId });
    if (f.gatewayId) and.push({ gatewayId: f.gatewayId });
    if (f.since) and.push({ at: { gte: f.since } });
    if (f.cursor) and.push({ id: { lt: BigInt(f.cursor) } });
    const rows = await this.deps.db.operatorAudit.findMany({ where: { AND: and }, orderBy: { id: "desc" }, take: f.limit ?? 100 });
    return rows.map((r) => toStoredEvent({ ...r, event: "operator.action", generation: null, attempt: null, deadlineAt: null }));
  }

  private async find(id: string): Promise<OperatorRow> {
    const row = await this.deps.db.operator.findUnique({ where: { id }, select: operatorSelect });
    if (!row) throw ServiceError.notFound("Operator");
    return row;
  }
}
