// Starts the real product (`npm start`'s entry point) on a fresh database for the end-to-end tests, with short
// deadlines so a whole cycle fits in seconds. The database is dropped when Playwright stops the server.
import { spawn } from "node:child_process";
import { createTestDatabase } from "../test/support/database";
import { E2E_ADMIN } from "./credentials";

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    stdio: "inherit",
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      PORT: process.env.E2E_PORT ?? "3199",
      HOST: "127.0.0.1",
      ADMIN_EMAIL: E2E_ADMIN.email,
      ADMIN_PASSWORD: E2E_ADMIN.password,
      CHECKIN_DEADLINE_SECONDS: "3",
      HEARTBEAT_INTERVAL_SECONDS: "2",
      LIVENESS_SWEEP_SECONDS: "1",
      MC_DEMO: "1",
      LOG_LEVEL: "warn",
    },
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await database.drop().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  child.on("exit", (code) => {
    if (!stopping) {
      void database.drop().finally(() => process.exit(code ?? 1));
    }
  });
}

void main();
