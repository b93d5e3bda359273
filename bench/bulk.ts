// Bulk fleets: 10,000 agents created with one agents.createMany call over HTTP, the queued operation that provisions
// them followed to its end, and `mc import` of a 10,000-row CSV. The gateway is a simulator gateway whose agents stay
// silent, so its calls cost no more than their database writes; the check-in deadline is long enough that no
// reconcile job runs inside the measurement.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BENCH_TOKEN, startServer } from "./lib/server";
import type { Section } from "./lib/report";

const FLEET = 10_000;
const GOAL_PER_SECOND = 500;

type Operation = { status: string; total: number; done: number; failed: number };

const names = (prefix: string) => Array.from({ length: FLEET }, (_, i) => `${prefix}-${String(i).padStart(5, "0")}`);

export default async function bulk(): Promise<Section> {
  const server = await startServer({
    env: { CHECKIN_DEADLINE_SECONDS: "3600", HEARTBEAT_INTERVAL_SECONDS: "3600", GATEWAY_PROBE_SECONDS: "3600", LOG_LEVEL: "error" },
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-bulk-"));
  try {
    const gateway = await server.trpc<{ id: string }>("gateways.create", { name: "bulk-1", driver: "simulator" });

    const t0 = performance.now();
    const created = await server.trpc<{ count: number; operationId: string }>("agents.createMany", {
      gatewayId: gateway.id,
      agents: names("bulk").map((name) => ({ name, kind: "gateway_main", simulatorBehaviour: "silent" })),
    });
    const createSeconds = (performance.now() - t0) / 1000;
    if (created.count !== FLEET) throw new Error(`created ${created.count}`);
    const perSecond = FLEET / createSeconds;
    process.stderr.write(`bench bulk: createMany ${FLEET} in ${createSeconds.toFixed(2)} s (${perSecond.toFixed(0)}/s)\n`);

    let op: Operation;
    for (;;) {
      op = await server.trpc<Operation>("fleet.operation", { id: created.operationId });
      if (op.status === "done" || op.status === "failed") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const operationSeconds = (performance.now() - t0) / 1000;
    process.stderr.write(`bench bulk: provisioning operation ${op.status} ${op.done}/${op.total} (${op.failed} failed) after ${operationSeconds.toFixed(1)} s\n`);

    const gateway2 = await server.trpc<{ id: string }>("gateways.create", { name: "bulk-2", driver: "simulator" });
    const csv = path.join(dir, "fleet.csv");
    fs.writeFileSync(csv, ["name,kind,simulatorBehaviour", ...names("imp").map((n) => `${n},gateway_main,silent`)].join("\n"));
    const t1 = performance.now();
    const cli = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "scripts/mc.ts", "import", csv, "--gateway", gateway2.id, "--no-wait"], {
        env: { ...process.env, MC_URL: server.baseUrl, MC_TOKEN: BENCH_TOKEN, NO_COLOR: "1" },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    const importSeconds = (performance.now() - t1) / 1000;
    if (cli.code !== 0) throw new Error(`mc import failed (${cli.code}): ${cli.stderr.slice(-2000)}`);
    process.stderr.write(`bench bulk: mc import ${FLEET} rows in ${importSeconds.toFixed(2)} s: ${cli.stdout.trim()}\n`);

    return {
      title: "Bulk fleets",
      setup:
        `${FLEET.toLocaleString("en")} agents on a simulator gateway (silent agents: provisioning and the wake cost their database ` +
        "writes only), created over HTTP by the bench process against the production server in its own process; " +
        "FLEET_CREATE_CHUNK_SIZE 1000, FLEET_OPERATION_CHUNK_SIZE 200.",
      figures: [
        {
          name: `agents.createMany, ${FLEET.toLocaleString("en")} agents in one call`,
          measured: `${perSecond.toFixed(0)} agents/s (${createSeconds.toFixed(2)} s)`,
          goal: `≥ ${GOAL_PER_SECOND} agents/s`,
          met: perSecond >= GOAL_PER_SECOND,
        },
        {
          name: "until the queued provisioning operation reports done (from the createMany request)",
          measured: `${operationSeconds.toFixed(1)} s (${op.done}/${op.total}, ${op.failed} failed, ${(op.total / operationSeconds).toFixed(0)} agents/s)`,
          goal: "done, no request does fleet-sized work",
          met: op.status === "done" && op.done === op.total,
        },
        {
          name: `mc import of a ${FLEET.toLocaleString("en")}-row CSV (check, then 10 createMany calls; provisioning left queued)`,
          measured: `${importSeconds.toFixed(2)} s (${(FLEET / importSeconds).toFixed(0)} agents/s, CLI start-up included)`,
          goal: `≥ ${GOAL_PER_SECOND} agents/s`,
          met: FLEET / importSeconds >= GOAL_PER_SECOND,
        },
      ],
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}
