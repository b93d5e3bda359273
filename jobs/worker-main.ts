// `npm run worker`: a queue worker alone, for scale-out. It shares only DATABASE_URL with the web processes; its
// live updates reach browsers through the PostgreSQL Socket.IO adapter: this process is a Socket.IO node without
// clients or a port, so its broadcasts are relayed by the web processes. (@socket.io/postgres-emitter 0.1 speaks an
// older message format that the current adapter silently drops.)
import { Server } from "socket.io";
import { loadConfig } from "../server/config";
import { logger } from "../server/logger";
import { applyMigrations } from "../server/db/migrate";
import { createApp } from "../server/app";
import { attachPostgresAdapter } from "../server/realtime/postgres";

async function main(): Promise<void> {
  const config = loadConfig();
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("DATABASE_URL is required for a separate worker (it must be the web process's database)");
  await applyMigrations(databaseUrl);
  const app = await createApp({ databaseUrl, config, baseUrl: () => config.MC_BASE_URL ?? `http://127.0.0.1:${config.PORT}` });
  const io = new Server({ serveClient: false });
  const closeAdapter = attachPostgresAdapter(io, databaseUrl);
  app.setBroadcaster(io);
  const worker = await app.startWorker();
  logger.info({ worker: worker.id }, "worker process ready");
  const stop = async () => {
    await app.stop().catch(() => undefined);
    io.close();
    await closeAdapter().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((err) => {
  logger.fatal({ err }, "worker failed to start");
  process.exit(1);
});
