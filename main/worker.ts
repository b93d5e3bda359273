// `npm run worker`: a queue worker alone, for scale-out. It shares only DATABASE_URL with the web processes; its
// live updates reach browsers through the PostgreSQL Socket.IO adapter: this process is a Socket.IO node without
// clients or a port, so its broadcasts are relayed by the web processes. (@socket.io/postgres-emitter 0.1 speaks an
// older message format that the current adapter silently drops.)
import { Server } from "socket.io";
import { loadConfig } from "../server/platform/config";
import { logger } from "../server/platform/logger";
import { applyMigrations } from "../server/db/migrate";
import { createApp } from "../server/runtime/app";
import { jobHandlers } from "../jobs/handlers";
import { attachPostgresAdapter } from "../server/realtime/postgres";
import { createShutdown } from "../server/runtime/shutdown";

async function main(): Promise<void> {
  const config = loadConfig();
  const databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) throw new Error("DATABASE_URL is required for a separate worker (it must be the web process's database)");
  await applyMigrations(databaseUrl);
  const app = await createApp({ databaseUrl, config, jobHandlers, baseUrl: () => config.MC_BASE_URL ?? `http://127.0.0.1:${config.PORT}` });
  const io = new Server({ serveClient: false });
  const closeAdapter = attachPostgresAdapter(io, databaseUrl);
  app.setBroadcaster(io);
  const worker = await app.startWorker();
  logger.info({ worker: worker.id }, "worker process ready");
  // No port to drain: running jobs finish (or the forced-exit timeout ends a stuck one) and the process exits.
  const stop = createShutdown({
    app,
    drainSeconds: 0,
    timeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS,
    say: (m) => logger.info(m),
    exit: (code) => process.exit(code),
    after: async () => {
      io.close();
      await closeAdapter();
    },
  });
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err) => {
  logger.fatal({ err }, "worker failed to start");
  process.stderr.write(`\nMission Control worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
