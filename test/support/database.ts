/**
 * Throw-away databases for tests: each call creates `mc_test_<random>` with all migrations applied.
 *
 * Server, first that applies: TEST_DATABASE_URL or DATABASE_URL; a local PostgreSQL at
 * postgresql://postgres@127.0.0.1:5432 (CI has one); else an embedded server under .data/test-postgres on port
 * 54330. node:test runs test files in parallel processes, so the embedded server is shared: the first process
 * starts it detached (under a lock file) and leaves it running for the others and for the next run. Stop it with
 * `kill $(head -1 .data/test-postgres/postmaster.pid)`.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "../../server/db/embedded";
import { applyMigrations } from "../../server/db/migrate";
import { withFileLock } from "./file-lock";

const LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres";
const EMBEDDED_PORT = 54330;
const EMBEDDED_URL = `postgresql://postgres:password@127.0.0.1:${EMBEDDED_PORT}/postgres`;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function answers(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Start (or join) the shared embedded test server; one process starts it while the others wait. */
async function embeddedServer(): Promise<string> {
  const dataDir = path.join(process.cwd(), ".data", "test-postgres");
  await withFileLock(
    `${dataDir}.lock`,
    { timeoutMs: 60_000, what: "the embedded test PostgreSQL", done: () => answers(EMBEDDED_URL, 500) },
    () => startEmbeddedPostgres({ dataDir, port: EMBEDDED_PORT, detached: true }).then(() => undefined),
  );
  return EMBEDDED_URL;
}

let serverUrl: Promise<string> | undefined;

/** A URL of the test server (any database on it); chosen once per process. */
export function testServerUrl(): Promise<string> {
  serverUrl ??= (async () => {
    const fromEnv = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
    if (fromEnv) {
      // Any database of that server will do to create ours; its own may not exist yet.
      if (await answers(fromEnv, 5000)) return fromEnv;
      return withDatabase(fromEnv, "postgres");
    }
    if (await answers(LOCAL_URL)) return LOCAL_URL;
    return embeddedServer();
  })();
  return serverUrl;
}

/** Run `fn` with a client on `url`. */
async function adminQuery(url: string, fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

/** An empty database (no migrations), for tests of the migration machinery itself. */
export async function createEmptyDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const server = await testServerUrl();
  const name = `mc_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(server, (c) => c.query(`CREATE DATABASE "${name}"`));
  const drop = () =>
    adminQuery(server, async (c) => {
      await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]);
      await c.query(`DROP DATABASE IF EXISTS "${name}"`);
    });
  return { url: withDatabase(server, name), drop };
}

/** A fresh database with every migration applied; `drop()` removes it. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const db = await createEmptyDatabase();
  try {
    await applyMigrations(db.url);
  } catch (err) {
    await db.drop().catch(() => {});
    throw err;
  }
  return db;
}

/** `await withTestDatabase(async (url) => { ... })`: create, run, always drop. */
export async function withTestDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const db = await createTestDatabase();
  try {
    return await fn(db.url);
  } finally {
    await db.drop();
  }
}
