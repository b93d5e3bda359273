// The fleet over time (docs/architecture.md, Contracts (pages) Timeline): every agent's status changes in a window, for
// a Grafana-like state timeline, and how long cycles took to converge per gateway. A read of the event log only.
import type { Db } from "../db/prisma";

import { FLEET_WINDOWS, type FleetWindow } from "../../lib/fleet-windows";

export interface TimelineQuery {
  window: FleetWindow;
  gatewayId?: string;
  /** Most agents returned (rows of the timeline), in board order. */
  limit: number;
}

type ChangeRow = { agentId: string; at: Date; from: string | null; to: string | null };
type ConvergeRow = {
  gatewayId: string;
  cycles: bigint;
  converged: bigint;
  failed: bigint;
  p50: number | null;
  p95: number | null;
  max: number | null;
};

/**
 * For each agent: its status when the window opened and every change inside it (from `agent.status.changed`
 * events), ending with its current status; plus time-to-converge p50/p95 per gateway for cycles started in the
 * window (from `lifecycle.cycle.started` to the first `agent.heartbeat` of the same generation).
 */
export async function fleetTimeline(db: Db, f: TimelineQuery) {
  const to = new Date();
  const from = new Date(to.getTime() - FLEET_WINDOWS[f.window].seconds * 1000);

  const [agents, gateways, changes, converge] = await Promise.all([
    db.agent.findMany({
      where: { gatewayId: f.gatewayId },
      select: {
        id: true,
        name: true,
        kind: true,
        status: true,
        gatewayId: true,
        boardId: true,
        createdAt: true,
        board: { select: { name: true } },
      },
      orderBy: [{ gatewayId: "asc" }, { boardId: "asc" }, { kind: "asc" }, { name: "asc" }],
      take: f.limit,
    }),
    db.gateway.findMany({ where: { id: f.gatewayId }, select: { id: true, name: true }, orderBy: { name: "asc" } }),
    db.$queryRawUnsafe<ChangeRow[]>(
      `SELECT "agentId", at, data->>'from' AS "from", data->>'to' AS "to"
         FROM "LifecycleEvent"
        WHERE event = 'agent.status.changed' AND at >= $1 AND "agentId" IS NOT NULL
          AND ($2::uuid IS NULL OR "gatewayId" = $2::uuid)
        ORDER BY "agentId", at, id`,
      from,
      f.gatewayId ?? null,
    ),
    db.$queryRawUnsafe<ConvergeRow[]>(
      `WITH c AS (
         SELECT "agentId", "gatewayId", generation, min(at) AS started
           FROM "LifecycleEvent"
          WHERE event = 'lifecycle.cycle.started' AND at >= $1 AND "agentId" IS NOT NULL AND generation IS NOT NULL
            AND ($2::uuid IS NULL OR "gatewayId" = $2::uuid)
          GROUP BY 1, 2, 3
       ), h AS (
         SELECT "agentId", generation, min(at) AS online
           FROM "LifecycleEvent"
          WHERE event = 'agent.heartbeat' AND at >= $1 AND "agentId" IS NOT NULL
          GROUP BY 1, 2
       ), x AS (
         SELECT "agentId", generation
           FROM "LifecycleEvent"
          WHERE event = 'lifecycle.reconcile.max_attempts_reached' AND at >= $1 AND "agentId" IS NOT NULL
          GROUP BY 1, 2
       )
       SELECT c."gatewayId",
              count(*) AS cycles,
              count(h.online) AS converged,
              count(*) FILTER (WHERE h.online IS NULL AND x."agentId" IS NOT NULL) AS failed,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM h.online - c.started) * 1000) AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM h.online - c.started) * 1000) AS p95,
              max(EXTRACT(EPOCH FROM h.online - c.started) * 1000)::float8 AS max
         FROM c
         LEFT JOIN h ON h."agentId" = c."agentId" AND h.generation = c.generation AND h.online >= c.started
         LEFT JOIN x ON x."agentId" = c."agentId" AND x.generation = c.generation
        GROUP BY c."gatewayId"`,
      from,
      f.gatewayId ?? null,
    ),
  ]);

  const gatewayName = new Map(gateways.map((g) => [g.id, g.name]));
  const byAgent = new Map<string, { at: number; status: string }[]>();
  const firstFrom = new Map<string, string>();
  for (const c of changes) {
    if (!c.to) continue;
    let list = byAgent.get(c.agentId);
    if (!list) {
      list = [];
      byAgent.set(c.agentId, list);
      if (c.from) firstFrom.set(c.agentId, c.from);
    }
    list.push({ at: c.at.getTime(), status: c.to });
  }

  return {
    from,
    to,
    window: f.window,
    agents: agents.map((a) => {
      const list = byAgent.get(a.id) ?? [];
      const created = a.createdAt.getTime();
      return {
        id: a.id,
        name: a.name,
        kind: a.kind,
        status: a.status,
        gatewayId: a.gatewayId,
        gatewayName: gatewayName.get(a.gatewayId) ?? "",
        boardId: a.boardId,
        boardName: a.board?.name ?? null,
        /** When the row starts: the window's start, or the agent's creation inside the window. */
        since: Math.max(created, from.getTime()),
        /** Status at `since` (before the first change in the window; the current status without changes). */
        initial: firstFrom.get(a.id) ?? list[0]?.status ?? a.status,
        /** [epoch ms, new status] for every change in the window, oldest first. */
        changes: list.map((c) => [c.at, c.status] as [number, string]),
      };
    }),
    converge: converge
      .map((r) => ({
        gatewayId: r.gatewayId,
        gatewayName: gatewayName.get(r.gatewayId) ?? r.gatewayId,
        cycles: Number(r.cycles),
        converged: Number(r.converged),
        failed: Number(r.failed),
        p50Ms: r.p50 === null ? null : Math.round(r.p50),
        p95Ms: r.p95 === null ? null : Math.round(r.p95),
        maxMs: r.max === null ? null : Math.round(r.max),
      }))
      .sort((a, b) => a.gatewayName.localeCompare(b.gatewayName)),
  };
}
