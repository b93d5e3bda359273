// Cheap numbers about the queues and workers, for every scrape and periodic check: pg-boss's own cached counts (its
// monitor refreshes them every few seconds), the overdue jobs through pg-boss's index on live jobs, and the small
// worker table. Nothing here reads completed jobs or any history table.
import type { PgBoss } from "pg-boss";
import type { Db } from "../db/prisma";
import type { GaugeSource, QueueGauge } from "../platform/metrics";
import { WORKER_STALE_AFTER_MS } from "../queue/worker";
import { QUEUES } from "../queue/queues";

export async function queueGauges(boss: PgBoss, db: Db, schema: string, names: string[]): Promise<QueueGauge[]> {
  const [queues, overdue] = await Promise.all([
    boss.getQueues(names),
    db.$queryRawUnsafe<{ name: string; n: number; oldest: number | null }[]>(
      `SELECT name, count(*)::int AS n, EXTRACT(EPOCH FROM now() - min(start_after))::float8 AS oldest
         FROM "${schema}".job
        WHERE name = ANY($1::text[]) AND state IN ('created', 'retry') AND start_after < now()
        GROUP BY name`,
      names,
    ),
  ]);
  return names.map((queue) => {
    const q = queues.find((x) => x.name === queue);
    const late = overdue.find((x) => x.name === queue);
    return {
      queue,
      waiting: q?.queuedCount ?? 0,
      deferred: q?.deferredCount ?? 0,
      active: q?.activeCount ?? 0,
      failed: q?.failedCount ?? 0,
      overdue: late?.n ?? 0,
      oldestOverdueSeconds: Math.max(0, late?.oldest ?? 0),
    };
  });
}

/** Workers on this queue schema that beat recently (the ones that run this installation's jobs). */
export async function workersAlive(db: Db, schema: string): Promise<number> {
  return db.queueWorker.count({ where: { queueSchema: schema, lastBeatAt: { gt: new Date(Date.now() - WORKER_STALE_AFTER_MS) } } });
}

/** What /api/metrics reads on a scrape. Agents by status reads the status index: that table is as large as the
 * fleet, not its history. */
export function gaugeSource(boss: PgBoss, db: Db, schema: string): GaugeSource {
  return async () => {
    const [byStatus, queues, alive] = await Promise.all([
      db.agent.groupBy({ by: ["status"], _count: { _all: true } }),
      queueGauges(boss, db, schema, Object.values(QUEUES)),
      workersAlive(db, schema),
    ]);
    return { agentsByStatus: Object.fromEntries(byStatus.map((r) => [r.status, r._count._all])), queues, workersAlive: alive };
  };
}
