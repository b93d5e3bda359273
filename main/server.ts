// The server process: the console, the APIs and Socket.IO on one port, and the queue worker. `npm start` runs the
// ahead-of-time build of this file (dist/server.cjs, scripts/start.mjs); `npm run dev` runs it through tsx with Next in
// development mode.
import fs from "node:fs";
import path from "node:path";
import next from "next";
import { loadConfig } from "../server/platform/config";
import { logger } from "../server/platform/logger";
import { resolveDatabaseUrl } from "../server/db/url";
import { applyMigrations } from "../server/db/migrate";
import { ensureFirstAdmin } from "../server/auth/bootstrap";
import { createApp } from "../server/runtime/app";
import { jobHandlers } from "../jobs/handlers";
import { createHttpServer } from "../server/http/server";
import { seedDemoIfEmpty, shouldSeedDemo } from "../server/runtime/demo";
import { attachPostgresAdapter } from "../server/realtime/postgres";
import { secretKey } from "../server/secrets/crypto";
import { createShutdown } from "../server/runtime/shutdown";
import { buildInfo } from "../server/platform/build-info";

async function main(): Promise<void> {
  const started = Date.now();
  const config = loadConfig();
  const root = process.cwd();
  const say = (m: string) => process.stdout.write(`[mission-control] ${m}\n`);

  const dev = config.MC_DEV;
  const consoleOn = config.MC_CONSOLE;
  if (consoleOn && !dev && !fs.existsSync(path.join(root, ".next", "BUILD_ID"))) {
    throw new Error("No build of the web console in .next: run `npm run build` (or `npm start`, which builds when there is none)");
  }
  secretKey(say);
  const database = await resolveDatabaseUrl(config, say);
  const applied = await applyMigrations(database.url, say);
  if (applied.length > 0) say(`Applied ${applied.length} migration(s)`);

  let port = config.PORT;
  const baseUrl = () => config.MC_BASE_URL ?? `http://127.0.0.1:${port}`;
  const app = await createApp({ databaseUrl: database.url, config, baseUrl, jobHandlers });
  await ensureFirstAdmin(app.db, logger, config);

  const hostname = config.HOST === "0.0.0.0" ? "localhost" : config.HOST;
  const nextApp = consoleOn ? next({ dev, dir: root, hostname, port, quiet: !dev }) : null;
  await nextApp?.prepare();
  const handle = nextApp?.getRequestHandler();
  const upgrade = nextApp && dev ? nextApp.getUpgradeHandler() : undefined;
  const { server, io } = createHttpServer(
    app,
    handle
      ? { handle: (req, res) => handle(req, res), upgrade: upgrade ? (req, socket, head) => upgrade(req, socket, head) : undefined }
      : undefined,
  );
  const closeAdapter = attachPostgresAdapter(io, database.url);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const address = server.address();
  if (address && typeof address === "object") port = address.port;

  if (config.MC_WORKER) await app.startWorker();
  else say("MC_WORKER=0: this process runs no queue worker; run `npm run worker` somewhere, or lifecycle is paused");

  // Simulated agents need no reprovisioning after a restart: their state is in the database and whichever process
  // hosts the simulator resumes them (server/drivers/simulator/driver.ts).
  if (shouldSeedDemo(config.MC_DEMO, database.embedded)) await seedDemoIfEmpty(app);

  const { version, commit } = buildInfo();
  say(
    `Ready in ${((Date.now() - started) / 1000).toFixed(1)}s: open http://localhost:${port} ` +
      `(database: ${database.embedded ? "embedded" : "DATABASE_URL"}; ${dev ? "development" : "production"} build ${version} ${commit})`,
  );

  const shutdown = createShutdown({
    app,
    server,
    io,
    drainSeconds: config.SHUTDOWN_DRAIN_SECONDS,
    timeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS,
    say,
    exit: (code) => process.exit(code),
    after: async () => {
      await closeAdapter().catch(() => undefined);
      await nextApp?.close?.().catch?.(() => undefined);
      await database.stop?.().catch(() => undefined);
    },
  });
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((err) => {
  logger.fatal({ err }, "Mission Control failed to start");
  process.stderr.write(`\nMission Control failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
