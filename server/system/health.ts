// What operators need to know about the machinery: are workers alive, is the queue keeping up (SPEC §8 System, §9).
import type { Db } from "../db/prisma";
import { QUEUES } from "../../jobs/queue";
import { WORKER_STALE_AFTER_MS } from "../../jobs/worker";

export interface SystemHealth {
  checkedAt: Date;
  queueSchema: string;
  queues: string[];
  workers: { id: string; host: string; pid: number; queueSchema: string; startedAt: Date; lastBeatAt: Date; alive: boolean }[];
  workersAlive: number;
  queue: { name: string; waiting: number; active: number; failed: number; overdue: number; oldestOverdueSeconds: number };
}

export async function systemHealth(db: Db, queueSchema: string): Promise<SystemHealth> {
  const now = new Date();
  const rows = await db.queueWorker.findMany({ orderBy: { startedAt: "asc" } });
  const workers = rows.map((w) => ({ ...w, alive: now.getTime() - w.lastBeatAt.getTime() < WORKER_STALE_AFTER_MS }));
  const [stats] = await db.$queryRawUnsafe<
    { waiting: bigint; active: bigint; failed: bigint; overdue: bigint; oldest_overdue_seconds: number | null }[]
  >(
    `SELECT count(*) FILTER (WHERE state IN ('created','retry')) AS waiting,
            count(*) FILTER (WHERE state = 'active') AS active,
            count(*) FILTER (WHERE state = 'failed') AS failed,
            count(*) FILTER (WHERE state IN ('created','retry') AND start_after < now()) AS overdue,
            EXTRACT(EPOCH FROM now() - min(start_after) FILTER (WHERE state IN ('created','retry') AND start_after < now()))::float8
              AS oldest_overdue_seconds
       FROM "${queueSchema}".job WHERE name = $1`,
    QUEUES.reconcile,
  );
  return {
    checkedAt: now,
    queueSchema,
    queues: Object.values(QUEUES),
    workers,
    workersAlive: workers.filter((w) => w.alive).length,
    queue: {
      name: QUEUES.reconcile,
      waiting: Number(stats?.waiting ?? 0),
      active: Number(stats?.active ?? 0),
      failed: Number(stats?.failed ?? 0),
      overdue: Number(stats?.overdue ?? 0),
      oldestOverdueSeconds: stats?.oldest_overdue_seconds ?? 0,
    },
  };
}
