// Stopping (server/runtime/shutdown.ts): on SIGTERM readiness turns 503 while the server keeps serving for the drain period,
// then everything stops; a process stuck in a gateway call exits anyway after the forced-exit timeout.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startHarness, waitFor } from "../support/harness";
import { createShutdown } from "../../server/runtime/shutdown";

describe("shutdown", () => {
  test("SIGTERM: readiness 503 at once, requests still served while draining, then the server closes", async () => {
    const h = await startHarness();
    const exits: number[] = [];
    try {
      assert.equal((await fetch(`${h.baseUrl}/api/readyz`)).status, 200);
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
