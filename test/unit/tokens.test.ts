// Agent tokens: format, O(1) parsing, constant-time checks, the slots (current, pending, previous) and revocation.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkAgentToken, issueAgentToken, parseAgentToken, revokeTokenColumns } from "../../server/agent-model/tokens";

const agentId = "0b7f6a52-3c1d-4e8f-9a2b-1c3d5e7f9a0b";
const now = new Date("2026-01-01T00:00:00Z");

describe("agent tokens", () => {
  test("a token embeds its agent id and 32 random bytes; only the hash of the secret is kept", () => {
    const a = issueAgentToken(agentId);
    const b = issueAgentToken(agentId);
    assert.match(a.token, new RegExp(`^mca_${agentId}_[A-Za-z0-9_-]{43}$`));
    assert.notEqual(a.token, b.token);
    assert.equal(a.hash.length, 64);
    assert.ok(!a.hash.includes(a.token.split("_").at(-1)!));
    assert.deepEqual(parseAgentToken(a.token), { agentId, secretHash: a.hash });
  });

  test("malformed tokens do not parse", () => {
    for (const bad of ["", "mca_", "mca_not-a-uuid_x", `mca_${agentId}_short`, `xyz_${agentId}_${"a".repeat(43)}`, `mca_${agentId}_${"a".repeat(43)} `]) {
      assert.equal(parseAgentToken(bad), null, bad);
    }
  });

  test("current and pending tokens accepted (with their generation), previous only inside its window, anything else a mismatch", () => {
    const current = issueAgentToken(agentId);
    const pending = issueAgentToken(agentId);
    const previous = issueAgentToken(agentId);
    const stored = {
      tokenHash: current.hash,
      tokenGeneration: 3,
      pendingTokenHash: pending.hash,
      pendingTokenGeneration: 4,
      previousTokenHash: previous.hash,
      previousTokenExpiresAt: new Date(now.getTime() + 1000),
    };
    assert.deepEqual(checkAgentToken(current.hash, stored, now), { ok: true, slot: "current", generation: 3 });
    assert.deepEqual(checkAgentToken(pending.hash, stored, now), { ok: true, slot: "pending", generation: 4 });
    assert.deepEqual(checkAgentToken(previous.hash, stored, now), { ok: true, slot: "previous", generation: null });
    assert.deepEqual(checkAgentToken(previous.hash, stored, new Date(now.getTime() + 1000)), { ok: false, reason: "expired" });
    assert.deepEqual(checkAgentToken(issueAgentToken(agentId).hash, stored, now), { ok: false, reason: "mismatch" });
    assert.deepEqual(checkAgentToken(current.hash, { tokenHash: null, previousTokenHash: null, previousTokenExpiresAt: null }, now), {
      ok: false,
      reason: "no_token",
    });
  });

  test("revocation remembers the token the runtime holds as revoked, and clears every slot", () => {
    const held = issueAgentToken(agentId);
    const pending = issueAgentToken(agentId);
    const cols = revokeTokenColumns({ tokenHash: held.hash, pendingTokenHash: pending.hash, previousTokenHash: null });
    assert.equal(cols.tokenHash, null);
    assert.equal(cols.pendingTokenHash, null);
    assert.equal(cols.previousTokenHash, held.hash);
    assert.deepEqual(checkAgentToken(held.hash, cols, now), { ok: false, reason: "revoked" });
    assert.deepEqual(checkAgentToken(pending.hash, cols, now), { ok: false, reason: "no_token" });
  });
});
