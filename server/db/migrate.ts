/**
 * Applies prisma/migrations/<name>/migration.sql with plain `pg`, without the Prisma CLI (used by `npm start` and by
 * tests). It keeps Prisma's own bookkeeping in `_prisma_migrations`, so `prisma migrate status/deploy/dev` see
 * exactly what they would have written themselves:
 *   - same table definition, one row per migration, checksum = sha256 (hex) of the file's bytes;
 *   - same advisory lock key as Prisma Migrate (72707369), so this runner and `prisma migrate deploy` never
 *     interleave;
 *   - a row with finished_at = NULL and rolled_back_at = NULL is a failed migration: stop, as Prisma does.
 * Difference from Prisma: each migration runs in one transaction (with its bookkeeping row), so a crash or a SQL
 * error leaves the database as it was before that migration.
 */
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

/** The advisory lock key Prisma Migrate itself takes while migrating. */
const PRISMA_ADVISORY_LOCK = 72707369;

/** Exactly the DDL Prisma's schema engine uses for PostgreSQL. */
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  started_at: Date;
  logs: string | null;
}

/** prisma/migrations of the project: the app always runs from the project root; fall back to this file's location. */
export function migrationsDirectory(): string {
  const fromCwd = path.resolve(process.cwd(), "prisma", "migrations");
  if (fs.existsSync(fromCwd)) return fromCwd;
  const here = typeof __dirname === "string" ? __dirname : path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, "..", "..", "prisma", "migrations");
}

/** Migration folders in the order Prisma applies them (it sorts folder names with localeCompare). */
export function readMigrations(dir = migrationsDirectory()): MigrationFile[] {
  if (!fs.existsSync(dir)) throw new Error(`Migrations folder not found: ${dir}`);
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, "migration.sql")))
    .map((e) => e.name)
    .sort((a, b) => a.localeCompare(b))
    .map((name) => {
      const bytes = fs.readFileSync(path.join(dir, name, "migration.sql"));
      return { name, sql: bytes.toString("utf8"), checksum: createHash("sha256").update(bytes).digest("hex") };
    });
}

/** `?schema=` in the URL selects the schema, as with Prisma; pg itself ignores that parameter. */
function splitSchema(databaseUrl: string): { url: string; schema: string | null } {
  const u = new URL(databaseUrl);
  const schema = u.searchParams.get("schema");
  u.searchParams.delete("schema");
  return { url: u.toString(), schema };
}

/**
 * Apply every migration not yet recorded as applied. Returns the names applied by this call (empty when the
 * database was already up to date). Safe to call concurrently from several processes.
 */
export async function applyMigrations(databaseUrl: string, log: (msg: string) => void = () => {}): Promise<string[]> {
  const migrations = readMigrations();
  const { url, schema } = splitSchema(databaseUrl);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const applied: string[] = [];
  try {
    if (schema) {
      const ident = client.escapeIdentifier(schema);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident}; SET search_path TO ${ident}`);
    }
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_ADVISORY_LOCK]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const { rows } = await client.query<MigrationRow>(
        `SELECT migration_name, checksum, finished_at, rolled_back_at, started_at, logs
           FROM "_prisma_migrations" ORDER BY started_at`,
      );

      // Rolled-back rows are history only; Prisma ignores them.
      const live = rows.filter((r) => r.rolled_back_at === null);
      const failed = live.find((r) => r.finished_at === null);
      if (failed) {
        throw new Error(
          `Migration "${failed.migration_name}" failed in an earlier run (started ${failed.started_at.toISOString()}); ` +
            `refusing to apply further migrations. Fix the database by hand, then mark it with ` +
            `"npx prisma migrate resolve --rolled-back ${failed.migration_name}" (nothing of it was applied) or ` +
            `"--applied ${failed.migration_name}" (it is fully applied).` +
            (failed.logs ? `\nRecorded error: ${failed.logs}` : ""),
        );
      }

      const done = new Map(live.map((r) => [r.migration_name, r]));
      const known = new Set(migrations.map((m) => m.name));
      for (const r of live) {
        if (!known.has(r.migration_name))
          log(`warning: migration ${r.migration_name} is recorded in the database but missing from prisma/migrations`);
      }

      for (const m of migrations) {
        const row = done.get(m.name);
        if (row) {
          if (row.checksum !== m.checksum) log(`warning: migration ${m.name} was edited after it was applied`);
          continue;
        }
        log(`applying migration ${m.name}`);
        const id = randomUUID();
        try {
          await client.query("BEGIN");
          await client.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
             VALUES ($1, $2, $3, now(), 0)`,
            [id, m.checksum, m.name],
          );
          // No parameters: simple query protocol, so the whole multi-statement file runs as-is ($$ bodies included).
          await client.query(m.sql);
          await client.query(
            `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
            [id],
          );
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => {});
          const message = err instanceof Error ? err.message : String(err);
          // Record the failure the way Prisma does (finished_at NULL, logs = error), so `prisma migrate status`
          // shows it and the next run stops here until someone resolves it.
          await client
            .query(
              `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, applied_steps_count)
               VALUES ($1, $2, $3, $4, now(), 0)`,
              [id, m.checksum, m.name, message],
            )
            .catch(() => {});
          throw new Error(
            `Migration "${m.name}" failed and was rolled back (nothing of it was applied): ${message}\n` +
              `After fixing it, run "npx prisma migrate resolve --rolled-back ${m.name}" and start again.`,
            { cause: err },
          );
        }
        applied.push(m.name);
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
  if (applied.length) log(`applied ${applied.length} migration(s): ${applied.join(", ")}`);
  return applied;
}
