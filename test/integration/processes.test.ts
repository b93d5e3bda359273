// Path 10: several processes on one database keep every guarantee. Two Mission Control apps in this test process
// share one database the way two web processes do (each with its own pools, queue client, simulator contender and
// Socket.IO server on the PostgreSQL adapter). test/integration/scale-out.test.ts runs the same setup as real child processes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { io as connect, type Socket } from "socket.io-client";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { createApiToken, createOperator, ok } from "../support/trpc-http";

const DEADLINE_MS = 1500;

describe("path 10: two processes on one database", () => {
  let a: Harness;
  let b: Harness;
  before(async () => {
    const env = { RATE_LIMIT_LOGIN_FAILURES: "3", RATE_LIMIT_LOGIN_WINDOW_SECONDS: "60" };
    a = await startHarness({ env, postgresAdapter: true });
    b = await startHarness({ env, postgresAdapter: true, databaseUrl: a.databaseUrl, worker: false });
  });
  after(async () => {
    await b.stop();
    await a.stop();
  });

  test("rate limits are shared: failed sign-ins on one process count on the other", async () => {
    const login = (h: Harness) =>
      fetch(`${h.baseUrl}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "nobody@example.com", password: "guess" }),
      }).then((r) => r.status);
    assert.deepEqual([await login(a), await login(b), await login(a)], [401, 401, 401]);
    assert.equal(await login(b), 429, "the second process knows the address used its budget on the first");
    assert.equal(await login(a), 429);
  });

  test("a revocation on one process closes the live connection it authenticated on the other within a second or two", async () => {
    const admin = await createOperator(a.app, "admin");
    const adminToken = await createApiToken(a.app, admin.id, "admin");
    const viewer = await createOperator(a.app, "viewer");
    const viewerToken = await createApiToken(a.app, viewer.id, "viewer");
    const socket: Socket = connect(b.baseUrl, { path: "/socket.io", transports: ["websocket"], auth: { token: viewerToken }, reconnection: false });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
      const expired = new Promise<number>((resolve) => socket.once("auth.expired", () => resolve(Date.now())));
      const tokens = await ok<{ id: string; name: string }[]>(a.baseUrl, "tokens.list", {}, { token: adminToken });
      const row = tokens.find((t) => t.name === "test-viewer")!;
      const revokedAt = Date.now();
      await ok(a.baseUrl, "tokens.revoke", { id: row.id }, { token: adminToken });
      const at = await Promise.race([expired, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
      assert.ok(at > 0, "the socket on the other process was not told");
      assert.ok(at - revokedAt < 3000, `told after ${at - revokedAt} ms`);
      await waitFor(async () => socket.disconnected, 2000, "disconnected");
    } finally {
      socket.close();
    }
  });

  test("one process hosts the simulator; when it stops, the other takes over and online agents stay online", async () => {
    await waitFor(async () => a.app.simulator.isHost() !== b.app.simulator.isHost(), 5000, "exactly one host");
    const gatewayId = await a.gateway();
    const id = await a.agent(gatewayId, "healthy");
    await waitFor(async () => (await a.app.db.agent.findUniqueOrThrow({ where: { id } })).status === "online", DEADLINE_MS + 3000, "online");
    const [host, other] = a.app.simulator.isHost() ? [a, b] : [b, a];
    host.app.simulator.stop();
    await waitFor(async () => other.app.simulator.isHost(), 3000, "takeover");
    // Heartbeats continue from the new host: well past 3 × the 1 s interval, still online, and lastSeenAt moving.
    const seen = (await a.app.db.agent.findUniqueOrThrow({ where: { id } })).lastSeenAt!;
    await waitFor(async () => {
      const r = await a.app.db.agent.findUniqueOrThrow({ where: { id } });
      return r.lastSeenAt! > seen && r.lastSeenAt!.getTime() - seen.getTime() > 3500 ? r : null;
    }, 8000, "heartbeats from the new host");
    const r = await a.app.db.agent.findUniqueOrThrow({ where: { id } });
    assert.equal(r.status, "online");
    assert.equal(r.lifecycleGeneration, 1, "the takeover reprovisioned nothing");
  });
});
