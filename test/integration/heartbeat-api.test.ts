// The agent API over real HTTP: right status codes, nothing revealed, and no state change on bad input.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { issueAgentToken } from "../../server/agent-model/tokens";

describe("POST /api/agent/heartbeat", () => {
  let h: Harness;
  let agentId: string;
  let gatewayId: string;
  let token: string;

  before(async () => {
    // No worker: the agent stays exactly as this test leaves it.
    h = await startHarness({ worker: false });
    gatewayId = await h.gateway();
    agentId = await h.agent(gatewayId, "silent");
    await h.app.lifecycle.idle();
    // Give the agent a token this test knows (the simulator holds the real one).
    const issued = issueAgentToken(agentId);
    await h.app.db.agent.update({ where: { id: agentId }, data: { tokenHash: issued.hash, tokenDelivered: true } });
    token = issued.token;
  });
  after(async () => {
    await h.stop();
  });

  const post = (headers: Record<string, string>, body?: string) =>
    fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers, body });

  async function snapshot() {
    const a = await h.app.db.agent.findUniqueOrThrow({ where: { id: agentId } });
    const attempts = await h.app.db.wakeAttempt.findMany({ where: { agentId }, orderBy: { attempt: "asc" } });
    return {
      status: a.status,
      lastSeenAt: a.lastSeenAt?.getTime() ?? null,
      wakeAttempts: a.wakeAttempts,
      accepted: a.heartbeatsAccepted,
      attempts: attempts.map((x) => x.outcome),
    };
  }

  test("missing token → 401 with a body that reveals nothing", async () => {
    const before = await snapshot();
    const res = await post({});
    assert.equal(res.status, 401);
    const body = await res.json();
    assert.deepEqual(Object.keys(body), ["error"]);
    assert.deepEqual(await snapshot(), before);
  });

  test("unknown agent and wrong secret give the same 401 body", async () => {
    const unknown = issueAgentToken(crypto.randomUUID()).token;
    const wrongSecret = issueAgentToken(agentId).token;
    const a = await post({ "x-agent-token": unknown });
    const b = await post({ "x-agent-token": wrongSecret });
    const c = await post({ "x-agent-token": "not-a-token" });
    assert.deepEqual([a.status, b.status, c.status], [401, 401, 401]);
    const [ba, bb, bc] = await Promise.all([a.text(), b.text(), c.text()]);
    assert.equal(ba, bb);
    assert.equal(bb, bc);
    const row = await h.app.db.agent.findUniqueOrThrow({ where: { id: agentId } });
    assert.equal(row.status, "waking");
    assert.equal(row.lastRejectedReason, "mismatch");
    assert.ok(row.heartbeatsRejected >= 1);
  });

  test("path 7: with a valid token a heartbeat counts whatever its body (curl -d form encoding, text, broken JSON, a foreign shape)", async () => {
    const other = await h.agent(gatewayId, "silent", "forgiving");
    await h.app.lifecycle.idle();
    const issued = issueAgentToken(other);
    await h.app.db.agent.update({ where: { id: other }, data: { tokenHash: issued.hash, tokenDelivered: true } });
    const bodies: [string | undefined, string][] = [
      ["application/x-www-form-urlencoded", "status=online"],
      ["text/plain", "hello"],
      [undefined, '{"status":"online"}'],
      ["application/json", "{not json"],
      ["application/json", JSON.stringify({ status: "online", admin: true })],
      ["application/json", JSON.stringify({ status: "dancing" })],
      ["application/json", "null"],
    ];
    for (const [i, [type, body]] of bodies.entries()) {
      const res = await post({ "x-agent-token": issued.token, ...(type ? { "content-type": type } : {}) }, body);
      assert.equal(res.status, 200, `${type} ${body}`);
      const answer = await res.json();
      assert.equal(answer.agentId, other);
      if (type !== undefined) assert.match(answer.bodyIgnored ?? "", /body is not/, `${type} ${body}`);
      const row = await h.app.db.agent.findUniqueOrThrow({ where: { id: other } });
      assert.equal(row.heartbeatsAccepted, i + 1, "every one is counted");
      assert.equal(row.status, "online");
    }
    const clean = await post({ "x-agent-token": issued.token, "content-type": "application/json" }, JSON.stringify({ status: "busy", note: "ok" }));
    assert.equal((await clean.json()).bodyIgnored, undefined);
  });

  test("path 7: the token is checked before the body is read (a wrong token with a big body is 401, not 413)", async () => {
    const res = await post({ "x-agent-token": issueAgentToken(agentId).token, "content-type": "application/json" }, "x".repeat(10_000));
    assert.equal(res.status, 401);
  });

  test("oversized body → 413; nothing changes", async () => {
    const before = await snapshot();
    const res = await post({ "x-agent-token": token, "content-type": "application/json" }, JSON.stringify({ note: "x".repeat(10_000) }));
    assert.equal(res.status, 413);
    assert.deepEqual(await snapshot(), before);
  });

  test("valid heartbeat → 200, agent online, attempt checked_in; Bearer works too", async () => {
    const res = await post({ "x-agent-token": token, "content-type": "application/json" }, JSON.stringify({ status: "online", note: "hi" }));
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.agentId, agentId);
    assert.equal(body.status, "online");
    assert.equal(typeof body.nextHeartbeatSeconds, "number");
    const after = await snapshot();
    assert.equal(after.status, "online");
    assert.equal(after.wakeAttempts, 0);
    assert.equal(after.attempts[0], "checked_in");
    const bearer = await post({ authorization: `Bearer ${token}` });
    assert.equal(bearer.status, 200);
    assert.equal((await snapshot()).accepted, after.accepted + 1);
  });

  test("GET /api/agent/healthz returns the agent's own identity, 401 without a token", async () => {
    const ok = await fetch(`${h.baseUrl}/api/agent/healthz`, { headers: { "x-agent-token": token } });
    assert.equal(ok.status, 200);
    const body = await ok.json();
    assert.equal(body.id, agentId);
    assert.equal(body.kind, "gateway_main");
    const no = await fetch(`${h.baseUrl}/api/agent/healthz`);
    assert.equal(no.status, 401);
  });

  test("wrong method → 405", async () => {
    const res = await fetch(`${h.baseUrl}/api/agent/heartbeat`);
    assert.equal(res.status, 405);
  });
});

describe("heartbeat when the database is down", () => {
  test("503 with Retry-After, never 200", async () => {
    const h = await startHarness({ worker: false });
    try {
      const gatewayId = await h.gateway();
      const agentId = await h.agent(gatewayId, "silent");
      await h.app.lifecycle.idle();
      const issued = issueAgentToken(agentId);
      await h.app.db.agent.update({ where: { id: agentId }, data: { tokenHash: issued.hash, tokenDelivered: true } });
      // Take the database away from under the running server.
      const admin = new URL(h.databaseUrl);
      const dbName = admin.pathname.slice(1);
      admin.pathname = "/postgres";
      const pg = await import("pg");
      const client = new pg.default.Client({ connectionString: admin.toString() });
      await client.connect();
      await client.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
      await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [dbName]);
      try {
        const res = await waitFor(
          async () => {
            const r = await fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": issued.token } });
            // Until the pool notices, a request may still fail otherwise, but never be acknowledged.
            assert.notEqual(r.status, 200, "a heartbeat was acknowledged without the database");
            return r.status === 503 ? r : null;
          },
          10_000,
          "503 from the heartbeat API",
        );
        assert.equal(res.headers.get("retry-after"), "5");
      } finally {
        await client.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
        await client.end();
      }
    } finally {
      await h.stop();
    }
  });
});
