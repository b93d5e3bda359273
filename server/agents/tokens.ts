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

export type TokenCheck = { ok: true; viaPrevious: boolean } | { ok: false; reason: "mismatch" | "expired" | "revoked" | "no_token" };

/**
 * A revoked token is kept in the overlap slot with this expiry (the epoch), so that its next use is reported as
 * "revoked" rather than as an unknown token. No schema column is needed: a real overlap window never ends in 1970.
 */
export const REVOKED_MARKER = new Date(0);

function isRevokedMarker(d: Date | null): boolean {
  return d !== null && d.getTime() === REVOKED_MARKER.getTime();
}

export interface StoredTokenState {
  tokenHash: string | null;
  previousTokenHash: string | null;
  previousTokenExpiresAt: Date | null;
}

export function checkAgentToken(secretHash: string, stored: StoredTokenState, now: Date): TokenCheck {
  if (hashesEqual(secretHash, stored.previousTokenHash)) {
    if (isRevokedMarker(stored.previousTokenExpiresAt)) return { ok: false, reason: "revoked" };
    if (stored.tokenHash !== null && stored.previousTokenExpiresAt !== null && stored.previousTokenExpiresAt > now) {
      return { ok: true, viaPrevious: true };
    }
    return { ok: false, reason: "expired" };
  }
  if (stored.tokenHash === null) return { ok: false, reason: "no_token" };
  if (hashesEqual(secretHash, stored.tokenHash)) return { ok: true, viaPrevious: false };
  return { ok: false, reason: "mismatch" };
}

/**
 * Revocation: neither the current nor the overlap token is accepted any more. The current one is remembered as
 * revoked (see REVOKED_MARKER); the agent has no valid token until it is provisioned again (agents.rotateToken or
 * Reprovision), and a new token never reuses the revoked slot's meaning.
 */
export function revokeTokenColumns(current: { tokenHash: string | null; tokenDelivered: boolean; previousTokenHash: string | null }) {
  // Remember the token the runtime actually holds: the current one once delivered, else the one in the overlap slot.
  const held = current.tokenDelivered ? current.tokenHash : (current.previousTokenHash ?? current.tokenHash);
  return {
    tokenHash: null,
    tokenDelivered: false,
    previousTokenHash: held,
    previousTokenExpiresAt: REVOKED_MARKER,
  };
}

/**
 * The columns to write when a new token is issued. The current token moves to the overlap slot only if it was ever
 * delivered to the runtime; an undelivered one is simply replaced, so a failed provisioning never evicts the token the
 * running agent still uses.
 */
export function rotateTokenColumns(
  current: { tokenHash: string | null; tokenDelivered: boolean; previousTokenHash: string | null; previousTokenExpiresAt: Date | null },
  next: IssuedToken,
  now: Date,
  overlapSeconds: number,
) {
  // A revoked token stays in the overlap slot (still reported as revoked) until a delivered token replaces it.
  const keepCurrent = current.tokenHash !== null && current.tokenDelivered;
  return {
    tokenHash: next.hash,
    tokenDelivered: false,
    previousTokenHash: keepCurrent ? current.tokenHash : current.previousTokenHash,
    previousTokenExpiresAt: keepCurrent ? new Date(now.getTime() + overlapSeconds * 1000) : current.previousTokenExpiresAt,
  };
}
