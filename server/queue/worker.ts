// The queue worker: registers the job handlers it is given (jobs/handlers.ts), keeps their periodic jobs coming, and
// beats in "QueueWorker" so that the console can tell whether lifecycle is running. Any number of processes may run
// it; pg-boss hands each job to exactly one of them (docs/scaling.md).
import os from "node:os";
import type { Job, JobResult, PgBoss, WorkOptions } from "pg-boss";
import type { Db } from "../db/prisma";
import type { Logger } from "../platform/logger";
import { QUEUES } from "./queues";

type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** What a handler knows about the worker running it (its id goes into the events it records). */
export interface WorkerContext {
  workerId: string;
  logger: Logger;
}

export interface JobHandler<T extends object = object> {
  queue: QueueName;
  /** pg-boss work options; the polling interval defaults to the worker's. */
  options?: Omit<WorkOptions, "pollingIntervalSeconds"> & { pollingIntervalSeconds?: number };
  /** Handles a batch of jobs (one unless `options.batchSize` says more); per-job results only with `perJobResults`. */
  handle(jobs: Job<T>[], ctx: WorkerContext): Promise<void | JobResult[]>;
  /** Sends one job every this many seconds while a worker runs (a singleton: many workers still make one job). */
  everySeconds?: number;
  /** Sends one job per cron tick (UTC), through pg-boss's scheduler, which sends each tick once for all processes. */
  cron?: string;
}

export interface WorkerOptions {
  boss: PgBoss;
  db: Db;
  logger: Logger;
  queueSchema: string;
  pollSeconds: number;
  handlers: JobHandler[];
}

export interface WorkerHandle {
  id: string;
  stop(): Promise<void>;
}

const WORKER_BEAT_MS = 5_000;
export const WORKER_STALE_AFTER_MS = 3 * WORKER_BEAT_MS;

export async function startWorker(opts: WorkerOptions): Promise<WorkerHandle> {
  const { boss, logger, handlers } = opts;
  const workerId = `${os.hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
  const ctx: WorkerContext = { workerId, logger };
  const queues = handlers.map((h) => h.queue);
  if (new Set(queues).size !== queues.length) throw new Error(`two job handlers for one queue: ${queues.join(", ")}`);

  for (const h of handlers) {
    const options = { pollingIntervalSeconds: opts.pollSeconds, ...h.options } as WorkOptions;
    await boss.work<object>(h.queue, options, (jobs: Job<object>[]) => h.handle(jobs, ctx) as Promise<JobResult[]>);
    if (h.cron) await boss.schedule(h.queue, h.cron, {}, { tz: "UTC" });
  }

  // The database's clock, like every liveness comparison (server/system/health.ts).
  const beat = () =>
    opts.db.$executeRaw`
      INSERT INTO "QueueWorker" (id, host, pid, "queueSchema", queues, "startedAt", "lastBeatAt")
      VALUES (${workerId}, ${os.hostname()}, ${process.pid}, ${opts.queueSchema}, ${queues}::text[], clock_timestamp(), clock_timestamp())
      ON CONFLICT (id) DO UPDATE SET "lastBeatAt" = clock_timestamp()`.catch((err) => logger.warn({ err: String(err) }, "worker beat failed"));
  await beat();

  const timers = [setInterval(beat, WORKER_BEAT_MS)];
  for (const h of handlers) {
    const every = h.everySeconds;
    if (!every) continue;
    const request = () =>
      boss
        .send(h.queue, {}, { singletonKey: h.queue, singletonSeconds: Math.max(1, Math.floor(every)) })
        .catch((err) => logger.warn({ queue: h.queue, err: String(err) }, "could not schedule a periodic job"));
    void request();
    timers.push(setInterval(request, every * 1000));
  }
  for (const t of timers) t.unref();
  logger.info({ worker: workerId, queueSchema: opts.queueSchema, queues }, "queue worker started");

  return {
    id: workerId,
    async stop() {
      for (const t of timers) clearInterval(t);
      for (const q of queues) await boss.offWork(q, { wait: true }).catch(() => undefined);
      await opts.db.queueWorker.delete({ where: { id: workerId } }).catch(() => undefined);
    },
  };
}
