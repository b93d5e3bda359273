// A second server for one spec, on its own fresh database: the production build that e2e/serve.ts has just made
// current, started as the benchmarks start it (test/support/server-process.ts).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { startServerProcess } from "../test/support/server-process";

export const OWN_ADMIN = { email: "scale@example.com", password: "scale-password-1" };

export interface OwnServer {
  baseUrl: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * A fresh empty database on the PostgreSQL the tests use (TEST_DATABASE_URL, DATABASE_URL, else the local one); the
 * server migrates it as it starts. (test/support/database.ts cannot load under Playwright's loader.)
 */
async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const server = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  const name = `mc_e2e_${randomBytes(6).toString("hex")}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: server });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const u = new URL(server);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/** Starts the server on a fresh database, then seeds it. */
export async function startOwnServer(seed: (databaseUrl: string) => Promise<void>): Promise<OwnServer> {
  const database = await createDatabase();
  const server = await startServerProcess({
    databaseUrl: database.url,
    env: { MC_CONSOLE: "1", ADMIN_EMAIL: OWN_ADMIN.email, ADMIN_PASSWORD: OWN_ADMIN.password, LOG_LEVEL: "warn", SHUTDOWN_DRAIN_SECONDS: "0" },
    inheritOutput: true,
  }).catch(async (err) => {
    await database.drop().catch(() => undefined);
    throw err;
  });
  // Seeded once the server has migrated the database; nothing reads agents before the first page is asked for.
  await seed(database.url);
  return {
    baseUrl: server.baseUrl,
    databaseUrl: database.url,
    async stop() {
      await server.stop();
      await database.drop().catch(() => undefined);
    },
  };
}
