// A real Mission Control for integration tests: real PostgreSQL, real pg-boss, the real HTTP server (without the Next
// pages) on a random port, and simulated agents that call the heartbeat API over HTTP. Deadlines are short.
import type { AddressInfo } from "node:net";
import type http from "node:http";
import pino from "pino";
import { loadConfig } from "../../server/platform/config";
import { createApp, type App, type AppOptions } from "../../server/runtime/app";
import { createHttpServer } from "../../server/http/server";
import { jobHandlers } from "../../jobs/handlers";
import { createTestDatabase } from "./database";
import { sealSecret } from "../../server/secrets/crypto";
import { attachPostgresAdapter } from "../../server/realtime/postgres";
import type { SimulatorBehaviour } from "../../lib/contract/schemas";

export interface Harness {
  app: App;
  baseUrl: string;
  databaseUrl: string;
  server: http.Server;
  io: import("socket.io").Server;
  stop(): Promise<void>;
  gateway(opts?: {
    name?: string;
    driver?: "simulator" | "http" | "openclaw";
    url?: string;
    token?: string;
    allowInsecureTls?: boolean;
  }): Promise<string>;
  agent(gatewayId: string, behaviour: SimulatorBehaviour, name?: string): Promise<string>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  drivers?: AppOptions["drivers"];
  worker?: boolean;
  logger?: AppOptions["logger"];
  /** This process's wall clock (the lifecycle must not depend on it). */
  clock?: AppOptions["clock"];
  /** The base URL agents are given, from the listening one (e.g. with a trailing slash). */
  baseUrl?: (listening: string) => string;
  /** Use this database instead of a fresh one (several apps on one database, as several processes). */
  databaseUrl?: string;
  simulatorHost?: boolean;
  /** Share Socket.IO broadcasts through PostgreSQL, as the web processes of a scale-out setup do. */
  postgresAdapter?: boolean;
  lifecycle?: AppOptions["lifecycle"];
}

export const TEST_ENV = {
  CHECKIN_DEADLINE_SECONDS: "1.5",
  MAX_WAKE_ATTEMPTS: "3",
  HEARTBEAT_INTERVAL_SECONDS: "1",
  LIVENESS_SWEEP_SECONDS: "1",
  QUEUE_POLL_SECONDS: "0.5",
  LOG_LEVEL: "silent",
};

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const database = opts.databaseUrl ? { url: opts.databaseUrl, drop: async () => {} } : await createTestDatabase();
  const config = loadConfig({ ...process.env, ...TEST_ENV, ...opts.env, PORT: "0" });
  let baseUrl = "";
  const app = await createApp({
    databaseUrl: database.url,
    config,
    logger: opts.logger ?? pino({ level: "silent" }),
    baseUrl: () => (opts.baseUrl ? opts.baseUrl(baseUrl) : baseUrl),
    simulatorTiming: { checkinDelayMs: [50, 150], crashAfterHeartbeats: 2, random: Math.random, takeoverMs: 200 },
    drivers: opts.drivers,
    clock: opts.clock,
    simulatorHost: opts.simulatorHost,
    lifecycle: opts.lifecycle,
    jobHandlers,
  });
  const { server, io } = createHttpServer(app);
  const closeAdapter = opts.postgresAdapter ? attachPostgresAdapter(io, database.url) : async () => {};
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (opts.worker !== false) await app.startWorker();
  let seq = 0;
  return {
    app,
    baseUrl,
    databaseUrl: database.url,
    server,
    io,
    async stop() {
      io.close();
      await closeAdapter().catch(() => undefined);
      // Agents that heartbeat every second keep a keep-alive connection busy forever: close it, or close() never ends.
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      await closed;
      await app.stop();
      await database.drop();
    },
    async gateway(g = {}) {
      const row = await app.db.gateway.create({
        data: {
          name: g.name ?? `gw-${++seq}-${Date.now()}`,
          driver: g.driver ?? "simulator",
          url: g.url,
          tokenSecret: sealSecret(g.token),
          allowInsecureTls: g.allowInsecureTls ?? false,
        },
      });
      return row.id;
    },
    async agent(gatewayId, behaviour, name) {
      const view = await app.lifecycle.createAgent(
        { gatewayId, name: name ?? `${behaviour}-${++seq}`, kind: "gateway_main", simulatorBehaviour: behaviour },
        "test",
      );
      return view.id;
    },
  };
}

/** Polls until `check` returns a truthy value; fails with the last value seen after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await check();
    if (value) return value;
    last = value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function eventsOf(app: App, agentId: string): Promise<string[]> {
  const rows = await app.db.lifecycleEvent.findMany({ where: { agentId }, orderBy: { id: "asc" }, select: { event: true } });
  return rows.map((r) => r.event);
}

/** The token the simulated runtime holds for an agent (what its heartbeats carry). */
export async function simulatorToken(app: App, agentId: string): Promise<string> {
  const { openSecret } = await import("../../server/secrets/crypto");
  const row = await app.db.simulatedAgent.findUniqueOrThrow({ where: { agentId } });
  return openSecret(row.tokenSealed)!;
}

/** POST /api/agent/heartbeat with a token; returns the status code. */
export async function beat(baseUrl: string, token: string, init: { path?: string; body?: string; contentType?: string } = {}): Promise<number> {
  const headers: Record<string, string> = { "x-agent-token": token };
  if (init.contentType) headers["content-type"] = init.contentType;
  const res = await fetch(`${baseUrl}${init.path ?? "/api/agent/heartbeat"}`, { method: "POST", headers, body: init.body, redirect: "manual" });
  await res.arrayBuffer();
  return res.status;
}
