/**
 * Which PostgreSQL the app uses: DATABASE_URL when set (a real server); otherwise a zero-setup embedded
 * PostgreSQL whose data lives in <project>/.data/postgres (git-ignored).
 */
import path from "node:path";
import type { Config } from "../platform/config";
import { startEmbeddedPostgres } from "./embedded";

export async function resolveDatabaseUrl(
  config: Pick<Config, "DATABASE_URL" | "EMBEDDED_PG_PORT">,
  log: (m: string) => void,
): Promise<{ url: string; embedded: boolean; stop?: () => Promise<void> }> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: false };

  const port = config.EMBEDDED_PG_PORT;
  const dataDir = path.resolve(process.cwd(), ".data", "postgres"); // the app always runs from the project root
  log(
    `DATABASE_URL is not set: starting an embedded PostgreSQL on 127.0.0.1:${port} (EMBEDDED_PG_PORT), ` +
      `data kept in ${dataDir}. To use a real server instead, set DATABASE_URL, ` +
      `e.g. DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mission_control`,
  );
  const pg = await startEmbeddedPostgres({ dataDir, port, log });
  return { url: pg.url, embedded: true, stop: pg.stop };
}
