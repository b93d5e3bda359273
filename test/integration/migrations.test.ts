/**
 * The migrations in prisma/migrations, applied by our pg-only runner, produce exactly prisma/schema.prisma, and
 * Prisma's own tooling agrees with the bookkeeping the runner writes.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { applyMigrations, readMigrations } from "../../server/db/migrate";
import { createEmptyDatabase } from "../support/database";

const root = path.resolve(__dirname, "../..");
const prismaBin = path.join(root, "node_modules", ".bin", "prisma");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function prisma(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      prismaBin,
      args,
      {
        cwd: root,
        timeout: 120_000,
        env: { ...process.env, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1", ...env },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const dbs: { url: string; drop: () => Promise<void> }[] = [];
let db: { url: string; drop: () => Promise<void> };
let shadow: { url: string; drop: () => Promise<void> };

before(async () => {
  db = await createEmptyDatabase();
  shadow = await createEmptyDatabase();
  dbs.push(db, shadow);
});

after(async () => {
  await Promise.all(dbs.map((d) => d.drop()));
});

test("applyMigrations applies every migration once, then nothing", async () => {
  const all = readMigrations().map((m) => m.name);
  assert.ok(all.length > 0, "prisma/migrations has migrations");
  assert.deepEqual(await applyMigrations(db.url), all);
  assert.deepEqual(await applyMigrations(db.url), []);
});

test("prisma migrate status agrees the database is up to date", async () => {
  const run = await prisma(["migrate", "status"], { DATABASE_URL: db.url });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Database schema is up to date/);
});

test("no drift: migrations replayed match schema.prisma", async () => {
  // Replaying prisma/migrations needs a shadow database. Prisma 7's native engine takes it only from
  // `datasource.shadowDatabaseUrl` in prisma.config.ts (SHADOW_DATABASE_URL, when the config passes it on) and
  // resets it first; our wasm stand-in does the same, or creates a temporary one next to DATABASE_URL.
  const run = await prisma(
    ["migrate", "diff", "--from-migrations", "prisma/migrations", "--to-schema", "prisma/schema.prisma", "--exit-code"],
    { DATABASE_URL: db.url, SHADOW_DATABASE_URL: shadow.url },
  );
  assert.equal(run.code, 0, `schema.prisma and prisma/migrations differ (exit ${run.code}):\n${run.stdout}${run.stderr}`);
});

test("concurrent runners apply each migration once", async () => {
  const fresh = await createEmptyDatabase();
  dbs.push(fresh);
  const [a, b] = await Promise.all([applyMigrations(fresh.url), applyMigrations(fresh.url)]);
  assert.deepEqual([...a, ...b].sort(), readMigrations().map((m) => m.name).sort());
});

test("a failed migration row stops the runner with its name", async () => {
  const fresh = await createEmptyDatabase();
  dbs.push(fresh);
  await applyMigrations(fresh.url);
  const client = new pg.Client({ connectionString: fresh.url });
  await client.connect();
  await client.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
     VALUES (gen_random_uuid(), 'x', '99990101000000_broken', now(), 0)`,
  );
  await client.end();
  await assert.rejects(applyMigrations(fresh.url), /99990101000000_broken.*failed/);
});
