// The system under test as its own process: the production build (`dist/server.cjs`, built here when it is missing or
// older than the sources) on a fresh database, with the environment a benchmark needs. The bench process is the load.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createTestDatabase } from "../../test/support/database";
import { fetchCall, unwrap } from "../../test/support/trpc-wire";
import { startServerProcess } from "../../test/support/server-process";
// @ts-expect-error -- plain ESM helper shared with scripts/start.mjs
import { readBuild, sourceHash } from "../../scripts/build-stamp.mjs";

export const BENCH_TOKEN = "mcb_bench_operator_token_0123456789abcdef";

export interface ServerUnderTest {
  baseUrl: string;
  databaseUrl: string;
  pid: number;
  /** Resident set size of the server process, in MB (from /proc). */
  rssMb(): number;
  /** Calls a tRPC procedure as an admin (bearer token). */
  trpc<T = unknown>(procedure: string, input?: unknown): Promise<T>;
  stop(): Promise<void>;
}

let built = false;
export function ensureBuild(opts: { console: boolean }): void {
  const root = process.cwd();
  const build = readBuild(root, { needsConsole: opts.console }) as { sourceHash?: string } | null;
  if (built || (build && build.sourceHash === sourceHash(root))) return;
  process.stderr.write("bench: building the server (npm run build)…\n");
  const r = spawnSync(process.execPath, [path.join("scripts", "build.mjs"), ...(opts.console ? [] : ["--bundles"])], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("build failed");
  built = true;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Serve the web console too (the board benchmark); otherwise the APIs only. */
  console?: boolean;
  /** Runs against the new database before the server starts (seeding). */
  seed?: (databaseUrl: string) => Promise<void>;
}

export async function startServer(opts: StartOptions = {}): Promise<ServerUnderTest> {
  ensureBuild({ console: opts.console ?? false });
  const database = await createTestDatabase();
  if (opts.seed) await opts.seed(database.url);
  const server = await startServerProcess({
    databaseUrl: database.url,
    env: {
      MC_CONSOLE: opts.console ? "1" : "0",
      MC_BOOTSTRAP_TOKEN: BENCH_TOKEN,
      ADMIN_EMAIL: "bench@example.com",
      ADMIN_PASSWORD: "bench-password-1",
      LOG_LEVEL: "warn",
      // Agents in a benchmark beat far more often than one a minute.
      RATE_LIMIT_HEARTBEATS_PER_MINUTE: "1000000",
      RATE_LIMIT_OPERATOR_REQUESTS_PER_MINUTE: "1000000",
      ...opts.env,
    },
  });
  const { baseUrl, child } = server;
  return {
    baseUrl,
    databaseUrl: database.url,
    pid: child.pid!,
    rssMb() {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    },
    async trpc<T>(procedure: string, input?: unknown): Promise<T> {
      const isQuery = !/\.(create|createMany|update|delete|reprovision|wake|bulk|sync|probe|rotate)/i.test(procedure);
      const r = await fetchCall(baseUrl, procedure, input ?? null, isQuery ? "query" : "mutation", { authorization: `Bearer ${BENCH_TOKEN}` });
      return unwrap<T>(procedure, r.status, r, r.raw);
    },
    async stop() {
      await server.stop();
      await database.drop().catch(() => {});
    },
  };
}
