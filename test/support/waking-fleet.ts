// A fleet whose first wake is outstanding, written straight into the database: agents `waking` on attempt 1 of
// generation 1 (already provisioned), their pending wake attempts, and their reconcile jobs due at the deadline,
// inserted through pg-boss. All deadlines are the same database instant, so they all expire at once (tests and
// bench/reconcile.ts).
import pg from "pg";
import type { PgBoss } from "pg-boss";
import { QUEUES, type ReconcileJobData } from "../../server/queue/queues";

export interface WakingFleet {
  agentIds: string[];
  deadlineAt: Date;
}

export async function seedWakingFleet(
  databaseUrl: string,
  boss: PgBoss,
  opts: { gateways: { gatewayId: string; count: number }[]; deadlineInSeconds: number; namePrefix?: string },
): Promise<WakingFleet> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    const { rows } = await client.query<{ id: string; deadlineAt: Date }>(
      `WITH t AS (SELECT clock_timestamp() AS now),
            s AS (SELECT gen_random_uuid() AS id, gw.id AS "gatewayId", gw.id::text || '-' || g AS g
                    FROM unnest($2::uuid[], $3::int[]) AS gw(id, n), generate_series(1, gw.n) g)
       INSERT INTO "Agent" (id, name, kind, "gatewayId", "sessionKey", status, "lifecycleGeneration", "provisionedGeneration",
                            "wakeAttempts", "lastWakeSentAt", "checkinDeadlineAt", "cycleStartedAt", "cycleStartedBy",
                            "heartbeatIntervalSeconds", "cycleTokenGeneration", "tokenDelivered", "updatedAt")
       SELECT s.id, $1 || '-' || s.g, 'gateway_main', s."gatewayId", 'agent:gateway_main:' || s.id, 'waking', 1, 1,
              1, t.now, t.now + make_interval(secs => $4), t.now, 'seed', 3600, 1, true, t.now
         FROM s, t
       RETURNING id, "checkinDeadlineAt" AS "deadlineAt"`,
      [opts.namePrefix ?? "waking", opts.gateways.map((g) => g.gatewayId), opts.gateways.map((g) => g.count), opts.deadlineInSeconds],
    );
    await client.query(
      `INSERT INTO "WakeAttempt" (id, "agentId", generation, attempt, "sentAt", "deadlineAt")
       SELECT gen_random_uuid(), id, 1, 1, "lastWakeSentAt", "checkinDeadlineAt" FROM "Agent" WHERE id = ANY($1::uuid[])`,
      [rows.map((r) => r.id)],
    );
    await client.query("COMMIT");
    const jobs = rows.map((r) => ({ data: { agentId: r.id, generation: 1, attempt: 1 } satisfies ReconcileJobData, startAfter: r.deadlineAt }));
    for (let i = 0; i < jobs.length; i += 5000) await boss.insert(QUEUES.reconcile, jobs.slice(i, i + 5000));
    return { agentIds: rows.map((r) => r.id), deadlineAt: rows[0]?.deadlineAt ?? new Date() };
  } finally {
    await client.end();
  }
}

/** Reconcile jobs that failed at least once (retried or failed for good). */
export async function failedReconcileJobs(databaseUrl: string, schema = "pgboss"): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${schema}".job WHERE name = $1 AND (state IN ('failed', 'retry') OR retry_count > 0)`,
      [QUEUES.reconcile],
    );
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}
