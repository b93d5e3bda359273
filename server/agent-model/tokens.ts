// Agent tokens: `mca_<agentId>_<32 random bytes, base64url>`. Only sha256 of the secret part is stored. The agent id
// in the token makes lookup a primary-key read (never a scan) and lets a rejected token be attributed to its agent.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const TOKEN_PATTERN = /^mca_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface IssuedToken {
  token: string;
  hash: string;
}

export function issueAgentToken(agentId: string): IssuedToken {
  const secret = randomBytes(32).toString("base64url");
  return { token: `mca_${agentId}_${secret}`, hash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function parseAgentToken(token: string): { agentId: string; secretHash: string } | null {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return null;
  return { agentId: match[1], secretHash: hashSecret(match[2]) };
}

export function hashesEqual(a: string, b: string | null): boolean {
  if (b === null || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, "hex"), Buffer.from(b, "hex"));
}

/** Which slot a token matched, and the lifecycle generation that issued it (it decides what a check-in proves). */
export type TokenCheck =
  | { ok: true; slot: "current" | "pending" | "previous"; generation: number | null }
  | { ok: false; reason: "mismatch" | "expired" | "revoked" | "no_token" };

/**
 * A revoked token is kept in the overlap slot with this expiry (the epoch), so that its next use is reported as
 * "revoked" rather than as an unknown token. No schema column is needed: a real overlap window never ends in 1970.
 */
export const REVOKED_MARKER = new Date(0);

function isRevokedMarker(d: Date | null): boolean {
  return d !== null && d.getTime() === REVOKED_MARKER.getTime();
}

/**
 * An agent's token slots (docs/lifecycle.md, "Tokens"):
 *  - current: the token the runtime holds (delivered). It is retired only when a delivered replacement takes its
 *    place, so a failed delivery never locks the running agent out;
 *  - pending: issued for a provisioning in flight. Accepted, because its use proves it was delivered;
 *  - previous: the token the last delivery replaced, valid until previousTokenExpiresAt (the overlap window).
 */
export interface StoredTokenState {
  tokenHash: string | null;
  tokenGeneration?: number | null;
  pendingTokenHash?: string | null;
  pendingTokenGeneration?: number | null;
  previousTokenHash: string | null;
  previousTokenExpiresAt: Date | null;
}

export function checkAgentToken(secretHash: string, stored: StoredTokenState, now: Date): TokenCheck {
  if (hashesEqual(secretHash, stored.tokenHash)) return { ok: true, slot: "current", generation: stored.tokenGeneration ?? null };
  if (hashesEqual(secretHash, stored.pendingTokenHash ?? null)) return { ok: true, slot: "pending", generation: stored.pendingTokenGeneration ?? null };
  if (hashesEqual(secretHash, stored.previousTokenHash)) {
    if (isRevokedMarker(stored.previousTokenExpiresAt)) return { ok: false, reason: "revoked" };
    if (stored.previousTokenExpiresAt !== null && stored.previousTokenExpiresAt > now) return { ok: true, slot: "previous", generation: null };
    return { ok: false, reason: "expired" };
  }
  if (stored.tokenHash === null && !stored.pendingTokenHash) return { ok: false, reason: "no_token" };
  return { ok: false, reason: "mismatch" };
}

/**
 * Revocation: no token of the agent is accepted any more. The one the runtime holds is remembered as revoked (see
 * REVOKED_MARKER); the agent has no valid token until a new one is delivered (agents.rotateToken or Reprovision).
 */
export function revokeTokenColumns(current: { tokenHash: string | null; pendingTokenHash: string | null; previousTokenHash: string | null }) {
  const held = current.tokenHash ?? current.pendingTokenHash ?? current.previousTokenHash;
  return {
    tokenHash: null,
    tokenGeneration: null,
    tokenDelivered: false,
    pendingTokenHash: null,
    pendingTokenGeneration: null,
    previousTokenHash: held,
    previousTokenExpiresAt: REVOKED_MARKER,
  };
}
