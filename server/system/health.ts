// What operators need to know about the machinery: are workers alive, is the queue keeping up (docs/architecture.md, Contracts (pages) System, docs/ops/).
import { dbNow, type Db } from "../db/prisma";
import type { Publisher } from "../events/publisher";
import { QUEUES } from "../queue/queues";
import { WORKER_STALE_AFTER_MS } from "../queue/worker";

/** pg-boss 12 job states, in lifecycle order. */
export const JOB_STATES = ["created", "retry", "active", "completed", "cancelled", "failed"] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface QueueStats {
  name: string;
  /** Jobs per state (every state present, 0 when none). */
  states: Record<JobState, number>;
  /** created + retry: waiting to run (now or later). */
  waiting: number;
  active: number;
  failed: number;
  /** Waiting jobs whose start time has passed: they should be running now. */
  overdue: number;
  /** Age of the oldest overdue job (the reconcile lag); 0 when none. */
  oldestOverdueSeconds: number;
}

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  queueSchema: string;
  queues: string[];
  startedAt: Date;
  lastBeatAt: Date;
  alive: boolean;
  /** The worker uses the same queue schema as this process (otherwise it never runs this process's jobs). */
  sameSchema: boolean;
}

export interface SystemHealth {
  checkedAt: Date;
  queueSchema: string;
  queues: string[];
  workers: WorkerInfo[];
  /** Alive workers on this process's queue schema: the ones that actually run its jobs. */
  workersAlive: number;
  /** Alive workers on another queue schema (docs/ops/: "API and worker on different queue names"). */
  workersOtherSchema: number;
  workerStaleAfterSeconds: number;
  /** The reconcile queue (deadlines): kept as `queue` for the metrics and older clients. */
  queue: { name: string; waiting: number; active: number; failed: number; overdue: number; oldestOverdueSeconds: number };
  /** Every queue of the product, with counts per state. */
  queueStats: QueueStats[];
}

type CountRow = { name: string; state: string; n: bigint; overdue: bigint; oldest_overdue_seconds: number | null };

function emptyStates(): Record<JobState, number> {
  return Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
}

export async function systemHealth(db: Db, queueSchema: string): Promise<SystemHealth> {
  const names = Object.values(QUEUES) as string[];
  // Workers beat with the database's clock; judge them by it too (a web process's clock may differ).
  const [now, rows, counts] = await Promise.all([
    dbNow(db),
    db.queueWorker.findMany({ orderBy: { startedAt: "asc" } }),
    db.$queryRawUnsafe<CountRow[]>(
      `SELECT name, state::text AS state, count(*) AS n,
              count(*) FILTER (WHERE state IN ('created','retry') AND start_after < now()) AS overdue,
              EXTRACT(EPOCH FROM now() - min(start_after) FILTER (WHERE state IN ('created','retry') AND start_after < now()))::float8
                AS oldest_overdue_seconds
         FROM "${queueSchema}".job WHERE name = ANY($1::text[]) GROUP BY name, state`,
      names,
    ),
  ]);
  const workers: WorkerInfo[] = rows.map((w) => ({
    ...w,
    alive: now.getTime() - w.lastBeatAt.getTime() < WORKER_STALE_AFTER_MS,
    sameSchema: w.queueSchema === queueSchema,
  }));

  const queueStats: QueueStats[] = names.map((name) => {
    const states = emptyStates();
    let overdue = 0;
    let oldest = 0;
    for (const r of counts) {
      if (r.name !== name) continue;
      if ((JOB_STATES as readonly string[]).includes(r.state)) states[r.state as JobState] += Number(r.n);
      overdue += Number(r.overdue);
      oldest = Math.max(oldest, r.oldest_overdue_seconds ?? 0);
    }
    return { name, states, waiting: states.created + states.retry, active: states.active, failed: states.failed, overdue, oldestOverdueSeconds: oldest };
  });
  const reconcile = queueStats.find((q) => q.name === QUEUES.reconcile)!;

  return {
    checkedAt: now,
    queueSchema,
    queues: names,
    workers,
    workersAlive: workers.filter((w) => w.alive && w.sameSchema).length,
    workersOtherSchema: workers.filter((w) => w.alive && !w.sameSchema).length,
    workerStaleAfterSeconds: WORKER_STALE_AFTER_MS / 1000,
    queue: {
      name: reconcile.name,
      waiting: reconcile.waiting,
      active: reconcile.active,
      failed: reconcile.failed,
      overdue: reconcile.overdue,
      oldestOverdueSeconds: reconcile.oldestOverdueSeconds,
    },
    queueStats,
  };
}

// ---- live health pushes ------------------------------------------------------------------------------------------
// Workers cannot announce their own death, so a web process watches the worker table and the queue and pushes
// `system.health` to browsers when something an operator cares about changes (a worker appears or goes stale,
// failed jobs, overdue jobs). Browsers refetch system.health on a push instead of polling it.

const WATCH_INTERVAL_MS = 2_000;

function signature(h: SystemHealth): string {
  return JSON.stringify([
    h.workersAlive,
    h.workersOtherSchema,
    h.workers.map((w) => `${w.id}:${w.alive}`),
    // Counts that move with every wake are left out (they would push on every tick of a busy fleet); a change of
    // failures, of overdue work or of the lag (in 5 s steps) is what an operator needs to see at once.
    h.queueStats.map((q) => [q.name, q.failed, q.overdue > 0, Math.floor(q.oldestOverdueSeconds / 5)]),
  ]);
}

/**
 * Pushes `system.health` when it changes. Each web process starts its own when it starts serving
 * (server/http/server.ts), so that every console is told; the app stops it (server/runtime/app.ts).
 */
export class HealthWatcher {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly health: () => Promise<SystemHealth>,
    private readonly publisher: Publisher,
  ) {}

  get running(): boolean {
    return this.timer !== null;
  }

  start(): void {
    if (this.timer) return;
    let last = "";
    let busy = false;
    let failures = 0;
    this.timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const h = await this.health();
        failures = 0;
        const sig = signature(h);
        if (sig !== last) {
          last = sig;
          this.publisher.systemHealth({ checkedAt: h.checkedAt, workersAlive: h.workersAlive, queue: h.queue });
        }
      } catch {
        // The database may be restarting; give up quietly after a minute of failures (the app is probably stopping).
        failures += 1;
        if (failures > 30) this.stop();
      } finally {
        busy = false;
      }
    }, WATCH_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
