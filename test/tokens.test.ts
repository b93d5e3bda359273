// Agent tokens: format, O(1) parsing, constant-time checks, and rotation that never evicts the token a running agent uses.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkAgentToken, issueAgentToken, parseAgentToken, rotateTokenColumns } from "../server/agents/tokens";

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

  test("current token accepted, previous only inside its window, anything else a mismatch", () => {
    const current = issueAgentToken(agentId);
    const previous = issueAgentToken(agentId);
    const stored = { tokenHash: current.hash, previousTokenHash: previous.hash, previousTokenExpiresAt: new Date(now.getTime() + 1000) };
    assert.deepEqual(checkAgentToken(current.hash, stored, now), { ok: true, viaPrevious: false });
    assert.deepEqual(checkAgentToken(previous.hash, stored, now), { ok: true, viaPrevious: true });
    assert.deepEqual(checkAgentToken(previous.hash, stored, new Date(now.getTime() + 1000)), { ok: false, reason: "expired" });
    assert.deepEqual(checkAgentToken(issueAgentToken(agentId).hash, stored, now), { ok: false, reason: "mismatch" });
    assert.deepEqual(checkAgentToken(current.hash, { tokenHash: null, previousTokenHash: null, previousTokenExpiresAt: null }, now), {
      ok: false,
      reason: "no_token",
    });
  });

  test("rotation keeps a delivered token valid for the overlap window", () => {
    const delivered = issueAgentToken(agentId);
    const next = issueAgentToken(agentId);
    const cols = rotateTokenColumns({ tokenHash: delivered.hash, tokenDelivered: true, previousTokenHash: null, previousTokenExpiresAt: null }, next, now, 600);
    assert.equal(cols.tokenHash, next.hash);
    assert.equal(cols.tokenDelivered, false);
    assert.equal(cols.previousTokenHash, delivered.hash);
    assert.equal(cols.previousTokenExpiresAt?.getTime(), now.getTime() + 600_000);
  });

  test("rotation after a failed delivery does not evict the token the running agent still uses", () => {
    const running = issueAgentToken(agentId);
    const undelivered = issueAgentToken(agentId);
    const expires = new Date(now.getTime() + 300_000);
    const retry = issueAgentToken(agentId);
    const cols = rotateTokenColumns({ tokenHash: undelivered.hash, tokenDelivered: false, previousTokenHash: running.hash, previousTokenExpiresAt: expires }, retry, now, 600);
    assert.equal(cols.tokenHash, retry.hash);
    assert.equal(cols.previousTokenHash, running.hash);
    assert.equal(cols.previousTokenExpiresAt, expires);
  });
});
