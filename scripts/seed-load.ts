// Seeds a large fleet straight into the database to check the console at scale (the 10,000-agent board):
//
//   DATABASE_URL=postgresql://… npx tsx scripts/seed-load.ts --agents 10000 [--gateways 10] [--boards 20] [--reset]
//
// Inserts gateways, boards and agents with createMany (no cycles, no queue jobs), spread over every status, with some
// stale templates, errors and rejected heartbeats, plus an hour of status-change and cycle events for the fleet
// timeline. Gateways use the http driver against a closed local port, so a server started on this database does not
// try to reprovision them on start (simulated agents would be). `--reset` first deletes gateways named `load-*`.
import { randomUUID } from "node:crypto";
import { createPrisma, type Prisma } from "../server/db/prisma";
import { applyMigrations } from "../server/db/migrate";
import { TEMPLATE_REVISION } from "../server/templates/render";
import type { AgentKind } from "../lib/contract/enums";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 1) throw new Error(`--${name} needs a positive number`);
  return Math.floor(v);
}

const STATUS_MIX: [string, number][] = [
  ["online", 0.78],
  ["offline", 0.09],
  ["waking", 0.06],
  ["provisioning", 0.03],
  ["updating", 0.03],
  ["deleting", 0.01],
];

function pickStatus(r: number): string {
  let acc = 0;
  for (const [s, p] of STATUS_MIX) {
    acc += p;
    if (r < acc) return s;
  }
  return "online";
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("Set DATABASE_URL to the database to seed");
  const total = arg("agents", 10_000);
  const gatewayCount = arg("gateways", 10);
  const boardsPerGateway = arg("boards", 20);
  await applyMigrations(url, () => undefined);
  const db = createPrisma(url, 4);
  const started = Date.now();
  try {
    if (process.argv.includes("--reset")) {
      const gone = await db.gateway.deleteMany({ where: { name: { startsWith: "load-" } } });
      process.stdout.write(`deleted ${gone.count} load-* gateway(s) and their agents\n`);
    }
    const now = Date.now();
    const gateways = Array.from({ length: gatewayCount }, (_, g) => ({
      id: randomUUID(),
      name: `load-gw-${String(g + 1).padStart(2, "0")}`,
      driver: "http" as const,
      url: `http://127.0.0.1:9/load-${g + 1}`,
      // One gateway is down, so its agents show "gateway unreachable".
      status: g === gatewayCount - 1 && gatewayCount > 1 ? ("unreachable" as const) : ("reachable" as const),
      runtimeVersion: "load-1.0",
      lastContactAt: new Date(now - 5_000),
      lastError: g === gatewayCount - 1 && gatewayCount > 1 ? "connect ECONNREFUSED 127.0.0.1:9" : null,
      templateRevision: TEMPLATE_REVISION,
    }));
    await db.gateway.createMany({ data: gateways });

    const boards = gateways.flatMap((gw) =>
      Array.from({ length: boardsPerGateway }, (_, b) => ({ id: randomUUID(), gatewayId: gw.id, name: `board-${String(b + 1).padStart(2, "0")}` })),
    );
    await db.board.createMany({ data: boards });

    const agents: Prisma.AgentCreateManyInput[] = [];
    const events: { at: Date; event: string; agentId: string; gatewayId: string; boardId: string | null; generation: number; message: string; data: object }[] = [];
    let seq = 0;
    const make = (gatewayId: string, boardId: string | null, kind: AgentKind, name: string, unreachable: boolean) => {
      const id = randomUUID();
      const r = (seq * 2654435761) % 1000 / 1000; // deterministic spread
      seq += 1;
      const status = unreachable && r < 0.7 ? "offline" : pickStatus(r);
      const generation = 1 + (seq % 3);
      const stale = seq % 17 === 0;
      const offlineError = unreachable
        ? "Gateway unreachable: connect ECONNREFUSED 127.0.0.1:9 (wake 3/3)"
        : "No check-in after 3 wakes (deadline 30s each)";
      agents.push({
        id,
        name,
        kind,
        gatewayId,
        boardId,
        sessionKey: `agent:${id}:main`,
        status: status as Prisma.AgentCreateManyInput["status"],
        statusReason: status === "offline" ? "max_wake_attempts" : null,
        lastSeenAt: status === "online" ? new Date(now - (seq % 55) * 1000) : status === "offline" ? new Date(now - 3_600_000) : null,
        wakeAttempts: status === "waking" ? 1 + (seq % 3) : status === "offline" ? 3 : 0,
        lastWakeSentAt: status === "waking" || status === "offline" ? new Date(now - 10_000) : null,
        checkinDeadlineAt: status === "waking" ? new Date(now + 20_000 + (seq % 40) * 1000) : null,
        lastProvisionError: status === "offline" ? offlineError : null,
        lifecycleGeneration: generation,
        provisionedGeneration: generation,
        cycleStartedAt: new Date(now - 600_000),
        cycleStartedBy: "system:seed-load",
        // Long interval: the liveness sweep leaves the seeded online agents alone.
        heartbeatIntervalSeconds: 3600,
        templateRevision: stale ? "0000000000old" : TEMPLATE_REVISION,
        heartbeatsAccepted: status === "online" ? 10 + (seq % 90) : 0,
        heartbeatsRejected: seq % 97 === 0 ? 3 : 0,
        lastRejectedAt: seq % 97 === 0 ? new Date(now - 120_000) : null,
        lastRejectedReason: seq % 97 === 0 ? "mismatch" : null,
        tokenDelivered: true,
      });
      // An hour of history: the last cycle (started, waking, then the current status) for the fleet timeline.
      const cycleAt = now - 3_000_000 + (seq % 3000) * 1000;
      const checkin = cycleAt + 1500 + (seq % 20) * 900;
      const base = { agentId: id, gatewayId, boardId, generation };
      events.push({ ...base, at: new Date(cycleAt), event: "lifecycle.cycle.started", message: `Cycle ${generation} started by system:seed-load`, data: {} });
      events.push({ ...base, at: new Date(cycleAt + 200), event: "agent.status.changed", message: "Status updating → waking", data: { from: "updating", to: "waking" } });
      if (status === "online") {
        events.push({ ...base, at: new Date(checkin), event: "agent.heartbeat", message: "Checked in on attempt 1", data: {} });
        events.push({ ...base, at: new Date(checkin), event: "agent.status.changed", message: "Status waking → online", data: { from: "waking", to: "online" } });
      } else if (status !== "waking") {
        events.push({ ...base, at: new Date(cycleAt + 90_000), event: "agent.status.changed", message: `Status waking → ${status}`, data: { from: "waking", to: status } });
      }
    };

    let made = 0;
    for (let g = 0; g < gateways.length && made < total; g += 1) {
      const gw = gateways[g];
      const unreachable = gw.status === "unreachable";
      make(gw.id, null, "gateway_main", "main", unreachable);
      made += 1;
    }
    const perBoard = Math.max(1, Math.ceil((total - made) / boards.length));
    for (const board of boards) {
      const unreachable = gateways.find((g) => g.id === board.gatewayId)!.status === "unreachable";
      for (let i = 0; i < perBoard && made < total; i += 1) {
        make(board.gatewayId, board.id, i === 0 ? "board_lead" : "board_worker", i === 0 ? `${board.name}-lead` : `${board.name}-worker-${String(i).padStart(3, "0")}`, unreachable);
        made += 1;
      }
    }

    for (let i = 0; i < agents.length; i += 2000) await db.agent.createMany({ data: agents.slice(i, i + 2000) });
    for (let i = 0; i < events.length; i += 5000) await db.lifecycleEvent.createMany({ data: events.slice(i, i + 5000) });
    const counts = await db.agent.groupBy({ by: ["status"], _count: { _all: true } });
    process.stdout.write(
      `seeded ${gateways.length} gateways, ${boards.length} boards, ${agents.length} agents, ${events.length} events in ${Date.now() - started} ms\n` +
        `agents by status now: ${counts.map((c) => `${c.status} ${c._count._all}`).join(", ")}\n`,
    );
  } finally {
    await db.$disconnect();
  }
}

main().catch((err) => {
  process.stderr.write(`seed-load failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
