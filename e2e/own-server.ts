// A second server for one spec, on its own fresh database: the production build that e2e/serve.ts has just made
// current, started like bench/lib/server.ts starts it (that module cannot load here: it imports an ES module helper).
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";

export const OWN_ADMIN = { email: "scale@example.com", password: "scale-password-1" };

export interface OwnServer {
  baseUrl: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
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
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [path.join("dist", "server.cjs")], {
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      PORT: String(port),
      HOST: "127.0.0.1",
      MC_DEMO: "0",
      MC_CONSOLE: "1",
      ADMIN_EMAIL: OWN_ADMIN.email,
      ADMIN_PASSWORD: OWN_ADMIN.password,
      LOG_LEVEL: "warn",
      SHUTDOWN_DRAIN_SECONDS: "0",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (!(await fetch(`${baseUrl}/api/readyz`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      await database.drop().catch(() => undefined);
      throw new Error(`the spec's own server did not start (exit ${child.exitCode})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // Seeded once the server has migrated the database; nothing reads agents before the first page is asked for.
  await seed(database.url);
  return {
    baseUrl,
    databaseUrl: database.url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      await database.drop().catch(() => undefined);
    },
  };
}
