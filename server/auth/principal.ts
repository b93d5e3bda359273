// Who is calling: a browser session (cookie), an operator API token, or MC_BOOTSTRAP_TOKEN (admin, for automation).
// Session and API tokens are random 32-byte values stored only as sha256 hashes.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "../db/prisma";

export type Role = "admin" | "operator" | "viewer";

export interface Principal {
  operatorId: string | null;
  email: string;
  role: Role;
  via: "session" | "api_token" | "bootstrap_token";
}

export const SESSION_COOKIE = "mc_session";

export const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString("base64url")}`;
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    if (key) out[key] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return match ? match[1] : null;
}

function equalsConstantTime(a: string, b: string): boolean {
  const x = Buffer.from(sha256(a), "hex");
  const y = Buffer.from(sha256(b), "hex");
  return timingSafeEqual(x, y);
}

export class Authenticator {
  constructor(
    private readonly db: Db,
    private readonly opts: { bootstrapToken?: string; sessionTtlHours: number },
  ) {}

  async fromHeaders(headers: { cookie?: string; authorization?: string }): Promise<Principal | null> {
    const token = bearer(headers.authorization);
    if (token) return this.fromApiToken(token);
    const session = parseCookies(headers.cookie)[SESSION_COOKIE];
    return session ? this.fromSession(session) : null;
  }

  async fromSession(sessionToken: string): Promise<Principal | null> {
    const now = new Date();
    const session = await this.db.operatorSession.findUnique({
      where: { tokenHash: sha256(sessionToken) },
      select: { id: true, expiresAt: true, lastUsedAt: true, operator: { select: { id: true, email: true, role: true, disabled: true } } },
    });
    if (!session || session.expiresAt <= now || session.operator.disabled) return null;
    if (now.getTime() - session.lastUsedAt.getTime() > 60_000) {
      await this.db.operatorSession.update({ where: { id: session.id }, data: { lastUsedAt: now } });
    }
    return { operatorId: session.operator.id, email: session.operator.email, role: session.operator.role, via: "session" };
  }

  async fromApiToken(token: string): Promise<Principal | null> {
    if (this.opts.bootstrapToken && equalsConstantTime(token, this.opts.bootstrapToken)) {
      return { operatorId: null, email: "bootstrap-token", role: "admin", via: "bootstrap_token" };
    }
    const row = await this.db.operatorApiToken.findUnique({
      where: { tokenHash: sha256(token) },
      select: { id: true, role: true, expiresAt: true, revokedAt: true, operator: { select: { id: true, email: true, disabled: true } } },
    });
    const now = new Date();
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= now) || row.operator.disabled) return null;
    await this.db.operatorApiToken.update({ where: { id: row.id }, data: { lastUsedAt: now } });
    return { operatorId: row.operator.id, email: row.operator.email, role: row.role, via: "api_token" };
  }

  /** Creates a session and returns the cookie value (shown to nobody but the browser). */
  async createSession(operatorId: string): Promise<{ token: string; expiresAt: Date }> {
    const token = newSecret("mcs");
    const expiresAt = new Date(Date.now() + this.opts.sessionTtlHours * 3600_000);
    await this.db.operatorSession.create({ data: { tokenHash: sha256(token), operatorId, expiresAt } });
    return { token, expiresAt };
  }

  async endSession(sessionToken: string): Promise<void> {
    await this.db.operatorSession.deleteMany({ where: { tokenHash: sha256(sessionToken) } });
  }
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function hasRole(principal: Principal, required: Role): boolean {
  return RANK[principal.role] >= RANK[required];
}
