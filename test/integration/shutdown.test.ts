// Stopping (server/runtime/shutdown.ts): on SIGTERM readiness turns 503 while the server keeps serving for the drain period,
// then everything stops; a process stuck in a gateway call exits anyway after the forced-exit timeout. The health
// watcher lives from the start of serving to the stop, and no query starts one.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { io as connect, type Socket } from "socket.io-client";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { createApiToken, createOperator } from "../support/trpc-http";
import { createShutdown } from "../../server/runtime/shutdown";
import { appRouter } from "../../server/trpc/root";
import { decodePush } from "../../lib/push";
import { rooms, SOCKET_COMMANDS, SOCKET_EVENTS } from "../../lib/events";

describe("shutdown", () => {
  test("SIGTERM: readiness 503 at once, requests still served while draining, then the server closes", async () => {
    const h = await startHarness();
    const exits: number[] = [];
    try {
      assert.equal((await fetch(`${h.baseUrl}/api/readyz`)).status, 200);
      assert.ok(h.app.healthWatcher.running, "a serving process watches health");
      const lines: string[] = [];
      const shutdown = createShutdown({ app: h.app, server: h.server, drainSeconds: 1.5, timeoutSeconds: 30, say: (m) => lines.push(m), exit: (c) => exits.push(c) });
      const done = shutdown("SIGTERM");
      const ready = await fetch(`${h.baseUrl}/api/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { ready: false, draining: true, error: "shutting down" });
      assert.equal((await fetch(`${h.baseUrl}/api/healthz`)).status, 200, "still serving while draining");
      assert.deepEqual(exits, []);
      await done;
      assert.deepEqual(exits, [0]);
      assert.equal(h.app.healthWatcher.running, false, "the stop ends the health watcher");
      assert.match(lines[0], /SIGTERM: draining for 1.5s/);
      await assert.rejects(fetch(`${h.baseUrl}/api/healthz`), "closed after the drain");
      await shutdown("SIGTERM");
      assert.deepEqual(exits, [0], "a second signal does not stop twice");
    } finally {
      await h.stop().catch(() => undefined);
    }
  });

  test("a stop stuck in a gateway call exits with status 1 after the timeout", async () => {
    // A gateway that accepts connections and never answers: provisioning waits for the driver's timeout.
    const sockets = new Set<import("node:net").Socket>();
    const hanging = http.createServer(() => undefined);
    hanging.on("connection", (s) => sockets.add(s));
    await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r));
    const h = await startHarness();
    const exits: number[] = [];
    try {
      const gatewayId = await h.gateway({ name: "hangs", driver: "http", url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`, token: "t" });
      await h.app.lifecycle.createAgent({ gatewayId, name: "stuck", kind: "gateway_main" }, "test");
      await waitFor(async () => sockets.size > 0, 5_000, "the provisioning call in flight");
      const started = Date.now();
      const done = createShutdown({ app: h.app, server: h.server, drainSeconds: 0, timeoutSeconds: 1, say: () => undefined, exit: (c) => exits.push(c) })("SIGTERM");
      await waitFor(async () => exits.length > 0, 5_000, "the forced exit");
      assert.deepEqual(exits, [1]);
      assert.ok(Date.now() - started < 4_000, "within the timeout, not the gateway's");
      await done; // the hanging call times out on its own (10 s) and the stop completes
    } finally {
      for (const s of sockets) s.destroy();
      hanging.close();
      await h.stop().catch(() => undefined);
    }
  });
});

describe("system.health pushes", () => {
  let h: Harness;
  let socket: Socket;
  const pushes: { workersAlive: number }[] = [];

  before(async () => {
    h = await startHarness();
    const viewer = await createOperator(h.app, "viewer");
    socket = connect(h.baseUrl, { path: "/socket.io", transports: ["websocket"], reconnection: false, auth: { token: await createApiToken(h.app, viewer.id, "viewer") } });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    socket.on(SOCKET_EVENTS.systemHealth, (payload: unknown) => pushes.push(decodePush<{ workersAlive: number }>(payload)!));
    assert.equal((await socket.emitWithAck(SOCKET_COMMANDS.subscribe, { rooms: [rooms.fleet] })).ok, true);
  });
  after(async () => {
    socket.close();
    await h.stop();
  });

  test("a serving process pushes system.health when its worker stops, without anyone querying it", async () => {
    await waitFor(async () => (await h.app.health()).workersAlive === 1, 10_000, "the worker counted");
    await h.app.stopWorker();
    await waitFor(async () => pushes.at(-1)?.workersAlive === 0, 10_000, "a push saying no worker is alive");
  });

  test("system.health only reads: queried twice, it starts no watcher and pushes nothing", async () => {
    h.app.healthWatcher.stop();
    const viewer = appRouter.createCaller({ app: h.app, principal: { operatorId: null, email: "viewer@test", role: "viewer", via: "api_token" } });
    const seen = pushes.length;
    await viewer.system.health();
    await viewer.system.health();
    await new Promise((r) => setTimeout(r, 2_500)); // longer than the watcher's interval
    assert.equal(h.app.healthWatcher.running, false);
    assert.equal(pushes.length, seen, "no push without a watcher");
    // The same socket does hear a started watcher (its first check always pushes): the silence above is meaningful.
    h.app.healthWatcher.start();
    await waitFor(async () => pushes.length > seen, 5_000, "a push from the restarted watcher");
  });
});
