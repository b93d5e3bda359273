// Starts the real product the way `npm start` does (the production build in dist/ and .next/, rebuilt first only when
// the sources changed since) on a fresh database for the end-to-end tests, with short deadlines so a whole cycle fits
// in seconds. The database is dropped when Playwright stops the server.
//
// A second instance ("paused") runs on E2E_PAUSED_PORT (default: port + 1) on its own fresh database with
// MC_WORKER=0: no queue worker at all, as when an operator forgot `npm run worker`. The console's "no worker" banner and
// Diagnose are tested against it, without any test-only hook in the product. It starts after the main server answers,
// so the two never build the web console at the same time.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createTestDatabase } from "../test/support/database";
import { E2E_ADMIN } from "./credentials";

const port = Number(process.env.E2E_PORT ?? "3199");
const pausedPort = Number(process.env.E2E_PAUSED_PORT ?? port + 1);

function startServer(databaseUrl: string, listen: number, extra: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ["scripts/start.mjs"], {
    stdio: "inherit",
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(listen),
      HOST: "127.0.0.1",
      ADMIN_EMAIL: E2E_ADMIN.email,
      ADMIN_PASSWORD: E2E_ADMIN.password,
      CHECKIN_DEADLINE_SECONDS: "3",
      HEARTBEAT_INTERVAL_SECONDS: "2",
      LIVENESS_SWEEP_SECONDS: "1",
      MC_DEMO: "1",
      LOG_LEVEL: "warn",
      SHUTDOWN_DRAIN_SECONDS: "0",
      ...extra,
    },
  });
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    try {
      const res = await fetch(url);
      if (res.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function main(): Promise<void> {
  const built = spawnSync(process.execPath, ["scripts/build.mjs", "--if-stale"], { stdio: "inherit" });
  if (built.status !== 0) process.exit(built.status ?? 1);
  const database = await createTestDatabase();
  const child = startServer(database.url, port, {});
  let paused: { child: ChildProcess; drop: () => Promise<void> } | null = null;

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const exits = [child, paused?.child].filter((c): c is ChildProcess => Boolean(c && c.exitCode === null)).map((c) => {
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGTERM");
      return exited;
    });
    await Promise.all(exits);
    await database.drop().catch(() => undefined);
    await paused?.drop().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  child.on("exit", (code) => {
    if (!stopping) {
      stopping = true;
      paused?.child.kill("SIGTERM");
      void Promise.all([database.drop(), paused?.drop()].map((p) => p?.catch(() => undefined))).finally(() => process.exit(code ?? 1));
    }
  });

  if (process.env.E2E_PAUSED === "0") return;
  if (!(await waitHealthy(`http://127.0.0.1:${port}/api/healthz`, child, 300_000)) || stopping) return;
  const pausedDb = await createTestDatabase();
  const pausedChild = startServer(pausedDb.url, pausedPort, { MC_WORKER: "0" });
  paused = { child: pausedChild, drop: pausedDb.drop };
  pausedChild.on("exit", () => {
    if (!stopping) process.stderr.write("[e2e] the paused (no worker) server exited\n");
  });
}

void main();
