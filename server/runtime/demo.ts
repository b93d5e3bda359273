// The demo fleet: on an empty database, one simulator gateway with two boards whose agents show every behaviour,
// so the first screen is alive (agents converging, retrying, going offline, being rejected, losing heartbeat).
import type { App } from "./app";
import type { SimulatorBehaviour } from "../../lib/contract/schemas";
import { isUniqueViolation } from "../db/prisma";

const ACTOR = "system:demo";

/**
 * The demo fleet is for a first trial: seeded on the embedded database only, never on a real one (DATABASE_URL)
 * unless MC_DEMO=1; MC_DEMO=0 never seeds it.
 */
export function shouldSeedDemo(setting: boolean | "auto", embeddedDatabase: boolean): boolean {
  return setting === "auto" ? embeddedDatabase : setting;
}

const BOARDS: { name: string; lead: SimulatorBehaviour; workers: [string, SimulatorBehaviour][] }[] = [
  {
    name: "Research",
    lead: "healthy",
    workers: [
      ["scout", "healthy"],
      ["analyst", "slow"],
      ["archivist", "silent"],
      ["critic", "flaky"],
      ["summarizer", "healthy"],
    ],
  },
  {
    name: "Operations",
    lead: "healthy",
    workers: [
      ["deployer", "bad_token"],
      ["watcher", "crash_after"],
      ["runner", "slow"],
      ["janitor", "healthy"],
    ],
  },
];

export async function seedDemoIfEmpty(app: App): Promise<boolean> {
  if ((await app.db.gateway.count()) > 0) return false;
  const gateway = await app.db.gateway
    .create({
      data: { name: "demo-simulator", driver: "simulator", status: "reachable", runtimeVersion: "simulator-1", lastContactAt: new Date() },
    })
    .catch((err: unknown) => {
      // Another process started at the same moment and is seeding.
      if (isUniqueViolation(err)) return null;
      throw err;
    });
  if (!gateway) return false;
  await app.lifecycle.createAgent({ gatewayId: gateway.id, name: "main", kind: "gateway_main", simulatorBehaviour: "healthy" }, ACTOR);
  for (const spec of BOARDS) {
    const board = await app.db.board.create({ data: { name: spec.name, gatewayId: gateway.id } });
    const common = { gatewayId: gateway.id, boardId: board.id };
    await app.lifecycle.createAgent({ ...common, name: `${spec.name.toLowerCase()}-lead`, kind: "board_lead", simulatorBehaviour: spec.lead }, ACTOR);
    for (const [name, behaviour] of spec.workers) {
      await app.lifecycle.createAgent({ ...common, name, kind: "board_worker", simulatorBehaviour: behaviour }, ACTOR);
    }
  }
  app.logger.info({ gatewayId: gateway.id }, "seeded the demo simulator gateway");
  return true;
}
