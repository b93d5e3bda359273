// Retention: history older than RETENTION_DAYS (lifecycle events, resolved wake attempts, finished template sync runs,
// closed notifications) and audit entries older than AUDIT_RETENTION_DAYS are deleted by a scheduled pg-boss job (jobs/retention.ts)
// (maintenance.retention, cron RETENTION_SCHEDULE; pg-boss sends each scheduled job once, whatever the number of
// processes). Deletes go in small batches through the age indexes, so no statement holds locks or writes WAL for long,
// and one run is bounded: what is left is taken by the next run.
import { setTimeout as sleep } from "node:timers/promises";
import type { Db } from "../db/prisma";
import { metrics } from "../platform/metrics";

export interface RetentionSettings {
  /** Cron expression (UTC). */
  schedule: string;
  historyDays: number;
  auditDays: number;
  batchSize: number;
}

/** Upper bound of statements per table and run. */
const MAX_BATCHES_PER_TABLE = 500;
/** Pause between batches, so that the lifecycle's own queries are never starved. */
const PAUSE_MS = 20;

type Batch = (cutoff: Date, limit: number) => Promise<number>;

/** Deletes what is older than the settings allow; returns the rows deleted per table. */
export async function pruneHistory(
  db: Db,
  settings: Pick<RetentionSettings, "historyDays" | "auditDays" | "batchSize">,
  now: Date,
  pauseMs = PAUSE_MS,
): Promise<Record<string, number>> {
  const day = 24 * 3600 * 1000;
  const history = new Date(now.getTime() - settings.historyDays * day);
  const audit = new Date(now.getTime() - settings.auditDays * day);
  const tables: [string, Date, Batch][] = [
    [
      "LifecycleEvent",
      history,
      (cutoff, limit) =>
        db.$executeRaw`DELETE FROM "LifecycleEvent" WHERE id IN (SELECT id FROM "LifecycleEvent" WHERE at < ${cutoff} ORDER BY at LIMIT ${limit})`,
    ],
    [
      // A pending attempt belongs to a cycle still running, however old: it stays.
      "WakeAttempt",
      history,
      (cutoff, limit) =>
        db.$executeRaw`DELETE FROM "WakeAttempt" WHERE id IN (
          SELECT id FROM "WakeAttempt" WHERE "sentAt" < ${cutoff} AND outcome <> 'pending' ORDER BY "sentAt" LIMIT ${limit})`,
    ],
    [
      // The per-agent results first (a run of a large gateway has thousands), then the runs themselves.
      "TemplateSyncResult",
      history,
      (cutoff, limit) =>
        db.$executeRaw`DELETE FROM "TemplateSyncResult" WHERE id IN (
          SELECT r.id FROM "TemplateSyncResult" r JOIN "TemplateSyncRun" s ON s.id = r."runId"
           WHERE s."startedAt" < ${cutoff} AND s.status <> 'running' LIMIT ${limit})`,
    ],
    [
      "TemplateSyncRun",
      history,
      (cutoff, limit) =>
        db.$executeRaw`DELETE FROM "TemplateSyncRun" WHERE id IN (
          SELECT id FROM "TemplateSyncRun" WHERE "startedAt" < ${cutoff} AND status <> 'running' ORDER BY "startedAt" LIMIT ${limit})`,
    ],
    [
      // Closed notifications, with their deliveries and member agents (bounded by the fleet size each).
      "Notification",
      history,
      (cutoff, limit) =>
        db.$executeRaw`DELETE FROM "Notification" WHERE id IN (
          SELECT id FROM "Notification" WHERE "openedAt" < ${cutoff} AND state <> 'firing' ORDER BY "openedAt" LIMIT ${Math.max(1, Math.floor(limit / 10))})`,
    ],
    [
      "OperatorAudit",
      audit,
      (cutoff, limit) => db.$executeRaw`DELETE FROM "OperatorAudit" WHERE id IN (SELECT id FROM "OperatorAudit" WHERE at < ${cutoff} ORDER BY at LIMIT ${limit})`,
    ],
  ];
  const deleted: Record<string, number> = {};
  for (const [table, cutoff, batch] of tables) {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES_PER_TABLE; i++) {
      const n = await batch(cutoff, settings.batchSize);
      total += n;
      if (n === 0) break;
      if (pauseMs > 0) await sleep(pauseMs);
    }
    deleted[table] = total;
    if (total > 0) metrics.retentionDeleted.inc({ table }, total);
  }
  return deleted;
}
