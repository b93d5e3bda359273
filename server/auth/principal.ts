// Who is calling: a browser session (cookie), an operator API token, or MC_BOOTSTRAP_TOKEN (admin, for automation).
// Session and API tokens are random 32-byte values stored only as sha256 hashes, so a database dump grants nothing.
// Every request re-reads the operator: a role change or a disabled account takes effect at once, and sessions expire
// both absolutely (SESSION_TTL_HOURS) and when idle (SESSION_IDLE_MINUTES).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Db } from "../db/prisma";

export type Role = "admin" | "operator" | "viewer";
export const ROLES = ["viewer", "operator", "admin"] as const satisfies readonly Role[];

export interface Principal {
  operatorId: string | null;
  email: string;
  role: Role;
  via: "session" | "api_token" | "bootstrap_token";
  /** The session row (browser sign-ins). */
  sessionId?: string;
  /** The API token row (operator API tokens). */
  tokenId?: string;
}

/** What was revoked: every live connection (Socket.IO) authenticated by it is closed. */
export interface Revocation {
  operatorId?: string;
  sessionId?: string;
  tokenId?: string;
}

export const SESSION_COOKIE = "mc_session";

/** Operator API tokens: `mco_` + 32 random bytes (base64url). */
export const API_TOKEN_PATTERN = /^mco_[A-Za-z0-9_-]{43}$/;

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
    if (!key) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      out[key] = decodeURIComponent(raw);
    } catch {
      out[key] = raw; // a malformed %-escape is just a wrong cookie, not an error
    }
  }
  return out;
}

export function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return match ? match[1] : null;
}

function equalsConstantTime(a: string, b: string): boolean {
  const x = Buffer.from(sha256(a), "hex");
  const y = Buffer.from(sha256(b), "hex");
  return timingSafeEqual(x, y);
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function hasRole(principal: { role: Role }, required: Role): boolean {
  return RANK[principal.role] >= RANK[required];
}

/** The lower of two roles (an API token never grants more than its owner currently has). */
export function lowerRole(a: Role, b: Role): Role {
  return RANK[a] <= RANK[b] ? a : b;
}

/** Last-used timestamps are written at most this often (they are informational; a write per request is waste). */
const TOUCH_INTERVAL_MS = 60_000;

export interface AuthenticatorOptions {
  bootstrapToken?: string;
  sessionTtlHours: number;
  sessionIdleMinutes?: number;
}

export class Authenticator {
  /** Emits "revoked" with a Revocation when a session ends, a token is revoked, or an operator changes. */
  readonly revocations = new EventEmitter();
  private idleMs: number;

  constructor(
    private readonly db: Db,
    private readonly opts: AuthenticatorOptions,
  ) {
    this.idleMs = (opts.sessionIdleMinutes ?? 120) * 60_000;
    this.revocations.setMaxListeners(100);
  }

  configure(policy: { sessionIdleMinutes?: number }): void {
    if (policy.sessionIdleMinutes !== undefined) this.idleMs = policy.sessionIdleMinutes * 60_000;
  }

  get sessionTtlMs(): number {
    return this.opts.sessionTtlHours * 3600_000;
  }

  /** A Bearer token wins over a cookie (a script's token is never overridden by a stray browser cookie). */
  async fromHeaders(headers: { cookie?: string; authorization?: string }): Promise<Principal | null> {
    const token = bearer(headers.authorization);
    if (token) return this.fromApiToken(token);
    const session = parseCookies(headers.cookie)[SESSION_COOKIE];
    return session ? this.fromSession(session) : null;
  }

  /** `touch: false` checks without counting as activity (live connections re-checking in the background). */
  async fromSession(sessionToken: string, opts: { touch?: boolean } = {}): Promise<Principal | null> {
    if (sessionToken.length > 200) return null;
    const now = new Date();
    const session = await this.db.operatorSession.findUnique({
      where: { tokenHash: sha256(sessionToken) },
      select: { id: true, expiresAt: true, lastUsedAt: true, operator: { select: { id: true, email: true, role: true, disabled: true } } },
    });
    if (!session) return null;
    const idle = now.getTime() - session.lastUsedAt.getTime() > this.idleMs;
    if (session.expiresAt <= now || idle || session.operator.disabled) {
      await this.db.operatorSession.deleteMany({ where: { id: session.id } });
      return null;
    }
    if (opts.touch !== false && now.getTime() - session.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
      await this.db.operatorSession.updateMany({ where: { id: session.id }, data: { lastUsedAt: now } });
    }
    return { operatorId: session.operator.id, email: session.operator.email, role: session.operator.role, via: "session", sessionId: session.id };
  }

  /** Could this be a valid API token (format, or the bootstrap token)? No database work. */
  plausibleApiToken(token: string): boolean {
    if (this.opts.bootstrapToken && equalsConstantTime(token, this.opts.bootstrapToken)) return true;
    return API_TOKEN_PATTERN.test(token);
  }

  async fromApiToken(token: string): Promise<Principal | null> {
    if (token.length > 200) return null;
    if (this.opts.bootstrapToken && equalsConstantTime(token, this.opts.bootstrapToken)) {
      return { operatorId: null, email: "bootstrap-token", role: "admin", via: "bootstrap_token" };
    }
    const row = await this.db.operatorApiToken.findUnique({
      where: { tokenHash: sha256(token) },
      select: {
        id: true,
        role: true,
        expiresAt: true,
        revokedAt: true,
        lastUsedAt: true,
        operator: { select: { id: true, email: true, role: true, disabled: true } },
      },
    });
    const now = new Date();
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= now) || row.operator.disabled) return null;
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
      await this.db.operatorApiToken.updateMany({ where: { id: row.id }, data: { lastUsedAt: now } });
    }
    return {
      operatorId: row.operator.id,
      email: row.operator.email,
      role: lowerRole(row.role, row.operator.role),
      via: "api_token",
      tokenId: row.id,
    };
  }

  /** Creates a session and returns the cookie value (shown to nobody but the browser). */
  async createSession(operatorId: string): Promise<{ token: string; expiresAt: Date }> {
    const token = newSecret("mcs");
    const now = Date.now();
    const expiresAt = new Date(now + this.sessionTtlMs);
    // Housekeeping: this operator's expired and idle sessions go.
    await this.db.operatorSession.deleteMany({
      where: { operatorId, OR: [{ expiresAt: { lte: new Date(now) } }, { lastUsedAt: { lt: new Date(now - this.idleMs) } }] },
    });
    await this.db.operatorSession.create({ data: { tokenHash: sha256(token), operatorId, expiresAt } });
    return { token, expiresAt };
  }

  /** Ends one session (sign-out). Returns whose it was, if it existed. */
  async endSession(sessionToken: string): Promise<{ operatorId: string; sessionId: string } | null> {
    const row = await this.db.operatorSession.findUnique({ where: { tokenHash: sha256(sessionToken) }, select: { id: true, operatorId: true } });
    if (!row) return null;
    await this.db.operatorSession.deleteMany({ where: { id: row.id } });
    this.revoked({ sessionId: row.id });
    return { operatorId: row.operatorId, sessionId: row.id };
  }

  /** Signs an operator out everywhere: every session ends (API tokens are revoked separately). */
  async endAllSessions(operatorId: string): Promise<number> {
    const { count } = await this.db.operatorSession.deleteMany({ where: { operatorId } });
    this.revoked({ operatorId });
    return count;
  }

  /** Tells live connections to re-check their credentials now. */
  revoked(what: Revocation): void {
    this.revocations.emit("revoked", what);
  }
}
