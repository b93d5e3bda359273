// The README's scale-out setup as real processes: two web processes (`main/server.ts`, MC_WORKER=0) and one worker
// (`main/worker.ts`) on one database, behind a small round-robin proxy standing in for the load balancer
// (MC_BASE_URL points agents at it). Deadlines are short. Checked end to end: agents converge once, the simulator is
// hosted by one process and taken over when that process is killed, rate limits are shared, and a revocation reaches
// a live connection on the other web process.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { io as connect } from "socket.io-client";
import pg from "pg";
import { createTestDatabase } from "../support/database";
import { waitFor } from "../support/harness";
import { ok } from "../support/trpc-http";

const BOOTSTRAP_TOKEN = `scale-out-${crypto.randomUUID()}`;
const ENV = {
  CHECKIN_DEADLINE_SECONDS: "2",
  MAX_WAKE_ATTEMPTS: "3",
  HEARTBEAT_INTERVAL_SECONDS: "1",
  LIVENESS_SWEEP_SECONDS: "1",
  QUEUE_POLL_SECONDS: "0.5",
  RATE_LIMIT_LOGIN_FAILURES: "4",
  MC_DEMO: "0",
  MC_CONSOLE: "0",
  MC_BOOTSTRAP_TOKEN: BOOTSTRAP_TOKEN,
  LOG_LEVEL: "info",
  HOST: "127.0.0.1",
  PORT: "0",
};

interface Child {
  name: string;
  process: ChildProcess;
  output: string;
  port?: number;
}

function start(name: string, script: string, env: Record<string, string>): Child {
  const child: Child = {
    name,
    output: "",
    process: spawn(process.execPath, ["--import", "tsx", script], { env: { ...process.env, ...ENV, ...env }, stdio: ["ignore", "pipe", "pipe"] }),
  };
  const collect = (chunk: Buffer) => {
    child.output += chunk.toString();
    const ready = /open http:\/\/localhost:(\d+)/.exec(child.output);
    if (ready) child.port = Number(ready[1]);
  };
  child.process.stdout!.on("data", collect);
  child.process.stderr!.on("data", collect);
  return child;
}

const alive = (c: Child) => c.process.exitCode === null && c.process.signalCode === null;
const hosts = (c: Child) => c.output.split("this process hosts the simulator").length - 1;

/** The load balancer: each request goes to the next web process that is still alive. */
function roundRobin(targets: () => number[]): http.Server {
  let next = 0;
  return http.createServer((req, res) => {
    const ports = targets();
    const port = ports[next++ % Math.max(1, ports.length)];
    const upstream = http.request({ host: "127.0.0.1", port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
}

describe("scale-out: two web processes and a worker as real processes", () => {
  let database: { url: string; drop: () => Promise<void> };
  let proxy: http.Server;
  let proxyUrl: string;
  const children: Child[] = [];
  let webA: Child;
  let webB: Child;
  let worker: Child;

  before(async () => {
    database = await createTestDatabase();
    proxy = roundRobin(() => [webA, webB].filter((c) => c && alive(c) && c.port).map((c) => c.port!));
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const env = { DATABASE_URL: database.url, MC_BASE_URL: proxyUrl, MC_WORKER: "0" };
    webA = start("web-a", "main/server.ts", env);
    webB = start("web-b", "main/server.ts", env);
    worker = start("worker", "main/worker.ts", { DATABASE_URL: database.url, MC_BASE_URL: proxyUrl });
    children.push(webA, webB, worker);
    await waitFor(async () => {
      for (const c of children) if (!alive(c)) throw new Error(`${c.name} exited:\n${c.output.slice(-3000)}`);
      return webA.port && webB.port && /worker process ready/.test(worker.output);
    }, 60_000, "three processes ready");
  });
  after(async () => {
    for (const c of children) if (alive(c)) c.process.kill("SIGKILL");
    await Promise.all(children.map((c) => (alive(c) ? new Promise((r) => c.process.once("exit", r)) : undefined)));
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
    await database.drop();
  });

  const api = <T>(path: string, input: unknown) => ok<T>(proxyUrl, path, input, { token: BOOTSTRAP_TOKEN });

  test("agents converge once, limits and revocations are shared, the simulator has one host and a new one when it is killed", async () => {
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      // ---- agents converge once, whichever process provisions, wakes or decides ----
      const gateway = await api<{ id: string }>("gateways.create", { name: "sim", driver: "simulator" });
      const agents: Record<string, string> = {};
      for (const behaviour of ["healthy", "slow", "silent", "healthy", "slow", "healthy"] as const) {
        const name = `${behaviour}-${Object.keys(agents).length}`;
        agents[name] = (await api<{ id: string }>("agents.create", { gatewayId: gateway.id, name, kind: "gateway_main", simulatorBehaviour: behaviour })).id;
      }
      const statusOf = async () =>
        (await db.query<{ id: string; name: string; status: string; lifecycleGeneration: number }>(`SELECT id, name, status, "lifecycleGeneration" FROM "Agent"`)).rows;
      await waitFor(async () => {
        const rows = await statusOf();
        return rows.every((r) => (r.name.startsWith("silent") ? r.status === "offline" : r.status === "online")) ? rows : null;
      }, 30_000, "every agent converged");
      const counts = await db.query<{ agentId: string; event: string; n: string }>(
        `SELECT "agentId", event, count(*) AS n FROM "LifecycleEvent" WHERE "agentId" IS NOT NULL GROUP BY 1, 2`,
      );
      const count = (id: string, event: string) => Number(counts.rows.find((r) => r.agentId === id && r.event === event)?.n ?? 0);
      for (const [name, id] of Object.entries(agents)) {
        assert.equal(count(id, "lifecycle.cycle.started"), 1, `${name}: one cycle`);
        assert.equal(count(id, "lifecycle.provision.succeeded"), 1, `${name}: provisioned once`);
        assert.ok(count(id, "lifecycle.wake.sent") <= 3, `${name}: at most 3 wakes`);
        assert.ok(count(id, "agent.heartbeat") <= 1, `${name}: converged once`);
      }
      assert.equal((await statusOf()).filter((r) => r.lifecycleGeneration !== 1).length, 0, "no process reprovisioned anything");

      // ---- the two web processes share rate limits and revocations ----
      const webs = [webA, webB];
      const login = (c: Child) =>
        fetch(`http://127.0.0.1:${c.port}/api/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: "nobody@example.com", password: "guess" }),
        }).then((r) => r.status);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push(await login(webs[i % webs.length]));
      assert.deepEqual(statuses, [401, 401, 401, 401, 429], "four failures in all, whichever process answered");

      {
        const operator = await api<{ id: string }>("operators.create", { email: `v-${crypto.randomUUID().slice(0, 6)}@example.com`, role: "viewer" });
        const created = await ok<{ id: string; token: string }>(`http://127.0.0.1:${webs[0].port}`, "tokens.create", { name: "live", role: "viewer", operatorId: operator.id }, { token: BOOTSTRAP_TOKEN });
        const socket = connect(`http://127.0.0.1:${webs[1].port}`, { path: "/socket.io", transports: ["websocket"], auth: { token: created.token }, reconnection: false });
        try {
          await new Promise<void>((resolve, reject) => {
            socket.once("connect", () => resolve());
            socket.once("connect_error", reject);
          });
          const told = new Promise<boolean>((resolve) => {
            socket.once("auth.expired", () => resolve(true));
            setTimeout(() => resolve(false), 5000);
          });
          await ok(`http://127.0.0.1:${webs[0].port}`, "tokens.revoke", { id: created.id }, { token: BOOTSTRAP_TOKEN });
          assert.equal(await told, true, "the revocation reached the other process's socket within 5 s");
        } finally {
          socket.close();
        }
      }
      // ---- one simulator host; killing it hands the agents to another process ----
      const hostsNow = children.filter((c) => hosts(c) > 0);
      assert.equal(hostsNow.length, 1, `hosts: ${hostsNow.map((c) => c.name).join(", ")}`);
      const host = hostsNow[0];
      const healthy = agents["healthy-0"];
      host.process.kill("SIGKILL");
      await waitFor(async () => children.some((c) => c !== host && alive(c) && hosts(c) > 0), 10_000, "another process took over");
      const { rows: [before] } = await db.query<{ lastSeenAt: Date }>(`SELECT "lastSeenAt" FROM "Agent" WHERE id = $1`, [healthy]);
      await waitFor(async () => {
        const { rows: [r] } = await db.query<{ lastSeenAt: Date; status: string }>(`SELECT "lastSeenAt", status FROM "Agent" WHERE id = $1`, [healthy]);
        return r.status === "online" && r.lastSeenAt.getTime() - before.lastSeenAt.getTime() > 4000 ? r : null;
      }, 15_000, "heartbeats continue from the new host (no heartbeat_lost)");
      const lost = await db.query(`SELECT 1 FROM "LifecycleEvent" WHERE event = 'agent.heartbeat_lost'`);
      assert.equal(lost.rowCount, 0, "no agent lost its heartbeat through the takeover");

      // ---- a web process that starts later (a restart) reprovisions nothing ----
      const late = start("web-c", "main/server.ts", { DATABASE_URL: database.url, MC_BASE_URL: proxyUrl, MC_WORKER: "0" });
      children.push(late);
      await waitFor(async () => {
        if (!alive(late)) throw new Error(`web-c exited:\n${late.output.slice(-3000)}`);
        return late.port;
      }, 60_000, "web-c ready");
      await new Promise((r) => setTimeout(r, 1500));
      const cycles = await db.query(`SELECT 1 FROM "LifecycleEvent" WHERE event = 'lifecycle.cycle.started'`);
      const agentCount = await db.query(`SELECT 1 FROM "Agent"`);
      assert.equal(cycles.rowCount, agentCount.rowCount, "one cycle per agent: no process start began another");

    } finally {
      await db.end();
    }
  });
});
