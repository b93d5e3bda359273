// Reconcile at scale (issue 10, goal 4): 10,000 agents whose wakes are all outstanding with the same deadline, on
// ten fast HTTP gateways and one slow one (it answers every call after several seconds). Everything after the seeding
// is the server's own work: at the deadline every reconcile job is due at once; each decision expires the attempt and
// wakes again (the wakes go to the gateways, limited per gateway), until the last attempt ends the cycle offline.
// Deadline → decision is measured from the database alone: WakeAttempt.resolvedAt − deadlineAt of every expired
// attempt (both are database times). The fake gateways (test/support/fake-http-gateway.ts) run here, in the bench process, with the load.
import pg from "pg";
import { PgBoss } from "pg-boss";
import { startServer } from "./lib/server";
import { ms, percentile } from "./lib/stats";
import type { Section } from "./lib/report";
import { FakeHttpGateway } from "../test/support/fake-http-gateway";
import { failedReconcileJobs, seedWakingFleet } from "../test/support/waking-fleet";

const AGENTS = Number(process.env.BENCH_RECONCILE_AGENTS ?? 10_000);
const FAST_GATEWAYS = 10;
const SLOW_AGENTS = Math.round(AGENTS * 0.05);
const SLOW_ANSWER_MS = 5_000;
const DEADLINE_SECONDS = 2;
const MAX_ATTEMPTS = 3;
const GATEWAY_CONCURRENCY = 8;
/** Room to insert 10,000 agents and their jobs before the common deadline. */
const SEED_DEADLINE_SECONDS = 4;

export default async function reconcileBench(): Promise<Section> {
  // One fake runtime per gateway, answering every wake after a delay (the slow one after SLOW_ANSWER_MS).
  const fast = Array.from({ length: FAST_GATEWAYS }, () => new FakeHttpGateway({ keepAliveTimeoutMs: 60_000 }));
  const slow = new FakeHttpGateway({ keepAliveTimeoutMs: 60_000 });
  slow.wakeDelayMs = SLOW_ANSWER_MS;
  for (const g of [...fast, slow]) await g.start();
  const server = await startServer({
    env: {
      CHECKIN_DEADLINE_SECONDS: String(DEADLINE_SECONDS),
      MAX_WAKE_ATTEMPTS: String(MAX_ATTEMPTS),
      GATEWAY_CONCURRENCY: String(GATEWAY_CONCURRENCY),
      GATEWAY_CALL_TIMEOUT_SECONDS: "30",
    },
  });
  const db = new pg.Pool({ connectionString: server.databaseUrl, max: 2 });
  try {
    const gateways: { id: string; slow: boolean; count: number }[] = [];
    const fastAgents = AGENTS - SLOW_AGENTS;
    for (let i = 0; i < FAST_GATEWAYS; i++) {
      const g = await server.trpc<{ id: string }>("gateways.create", { name: `fast-${i}`, driver: "http", url: fast[i].url, token: "bench-gateway-token" });
      gateways.push({ id: g.id, slow: false, count: Math.floor(fastAgents / FAST_GATEWAYS) + (i < fastAgents % FAST_GATEWAYS ? 1 : 0) });
    }
    const s = await server.trpc<{ id: string }>("gateways.create", { name: "slow", driver: "http", url: slow.url, token: "bench-gateway-token" });
    gateways.push({ id: s.id, slow: true, count: SLOW_AGENTS });

    const boss = new PgBoss({ connectionString: server.databaseUrl, schema: "pgboss", supervise: false, schedule: false, migrate: false, max: 2 });
    await boss.start();
    const seeded = performance.now();
    const fleet = await seedWakingFleet(server.databaseUrl, boss, {
      gateways: gateways.map((g) => ({ gatewayId: g.id, count: g.count })),
      deadlineInSeconds: SEED_DEADLINE_SECONDS,
      namePrefix: "bench",
    });
    const seedSeconds = (performance.now() - seeded) / 1000;
    await boss.stop({ graceful: false });
    if (seedSeconds >= SEED_DEADLINE_SECONDS) throw new Error(`seeding took ${seedSeconds.toFixed(1)} s, past the common deadline`);

    // Every cycle ends offline after MAX_ATTEMPTS expired attempts (the fake runtimes never check in).
    const limitMs = (SEED_DEADLINE_SECONDS + MAX_ATTEMPTS * DEADLINE_SECONDS + 120) * 1000;
    const until = Date.now() + limitMs;
    let offline = 0;
    for (;;) {
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM "Agent" WHERE id = ANY($1::uuid[]) AND status = 'offline'`, [fleet.agentIds]);
      offline = Number(rows[0].n);
      if (offline === fleet.agentIds.length || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    const { rows: lags } = await db.query<{ slow: boolean; attempt: number; lag: number }>(
      `SELECT g.name = 'slow' AS slow, w.attempt, extract(epoch FROM w."resolvedAt" - w."deadlineAt") * 1000 AS lag
         FROM "WakeAttempt" w JOIN "Agent" a ON a.id = w."agentId" JOIN "Gateway" g ON g.id = a."gatewayId"
        WHERE w."agentId" = ANY($1::uuid[]) AND w.outcome = 'expired'`,
      [fleet.agentIds],
    );
    const { rows: outcomes } = await db.query<{ outcome: string; n: string; error: string | null }>(
      `SELECT outcome::text, count(*) AS n, min(error) AS error FROM "WakeAttempt" WHERE "agentId" = ANY($1::uuid[]) GROUP BY outcome ORDER BY outcome`,
      [fleet.agentIds],
    );
    const failed = await failedReconcileJobs(server.databaseUrl);
    const all = lags.map((r) => Number(r.lag));
    const fastLags = lags.filter((r) => !r.slow).map((r) => Number(r.lag));
    const slowLags = lags.filter((r) => r.slow).map((r) => Number(r.lag));
    const first = lags.filter((r) => r.attempt === 1).map((r) => Number(r.lag));
    const p99 = percentile(all, 99);
    const maxFast = Math.max(0, ...fast.map((g) => g.maxAgentCallsInFlight));
    const maxSlow = slow.maxAgentCallsInFlight;
    const outcomeText = outcomes.map((o) => `${o.outcome} ${Number(o.n).toLocaleString("en-US")}`).join(", ");
    const { rows: unsent } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM "LifecycleEvent" WHERE event = 'lifecycle.wake.failed' AND data->>'notSent' = 'true' AND "agentId" = ANY($1::uuid[])`,
      [fleet.agentIds],
    );

    return {
      title: "Reconcile at scale",
      setup:
        `${fleet.agentIds.length.toLocaleString("en-US")} agents (${FAST_GATEWAYS} fast HTTP gateways, one slow gateway with ${SLOW_AGENTS} agents answering every call after ` +
        `${SLOW_ANSWER_MS / 1000} s), all with their first wake outstanding and the same deadline (seeded in the database with their reconcile jobs, ` +
        `${seedSeconds.toFixed(1)} s). CHECKIN_DEADLINE_SECONDS=${DEADLINE_SECONDS}, MAX_WAKE_ATTEMPTS=${MAX_ATTEMPTS}, GATEWAY_CONCURRENCY=${GATEWAY_CONCURRENCY}, ` +
        `default pool and batch settings; the fake runtimes never check in, so every agent goes through ${MAX_ATTEMPTS} expired attempts to offline. ` +
        `Deadline → decision = WakeAttempt.resolvedAt − deadlineAt (database times) of every expired attempt.`,
      figures: [
        { name: "deadline → decision, p50", measured: ms(percentile(all, 50)), goal: "", met: null },
        { name: "deadline → decision, p99", measured: ms(p99), goal: "< 1 s", met: p99 < 1000 },
        { name: "deadline → decision, max", measured: ms(Math.max(...all)), goal: "", met: null },
        { name: "first wave (10,000 deadlines at one instant), p99", measured: ms(percentile(first, 99)), goal: "< 1 s", met: percentile(first, 99) < 1000 },
        { name: "p99, fast gateways' agents", measured: ms(percentile(fastLags, 99)), goal: "unaffected by the slow gateway", met: null },
        { name: "p99, slow gateway's agents", measured: ms(percentile(slowLags, 99)), goal: "", met: null },
        { name: "reconcile jobs failed or retried", measured: String(failed), goal: "0", met: failed === 0 },
        { name: "agents decided offline", measured: `${offline.toLocaleString("en-US")} / ${fleet.agentIds.length.toLocaleString("en-US")}`, goal: "all", met: offline === fleet.agentIds.length },
        { name: "most calls in flight at one gateway (fast / slow)", measured: `${maxFast} / ${maxSlow}`, goal: `≤ ${GATEWAY_CONCURRENCY}`, met: maxFast <= GATEWAY_CONCURRENCY && maxSlow <= GATEWAY_CONCURRENCY },
      ],
      notes: [
        `Attempt outcomes: ${outcomeText}; wakes received: fast ${fast.reduce((n, g) => n + g.wakesReceived, 0).toLocaleString("en-US")}, slow ${slow.wakesReceived.toLocaleString("en-US")}.`,
        `Wakes not sent because their gateway's slots stayed busy until their deadline (recorded on the timeline, never sent late): ${Number(unsent[0].n).toLocaleString("en-US")}.`,
        `Server RSS at the end: ${Math.round(server.rssMb())} MB.`,
      ],
    };
  } finally {
    await db.end().catch(() => undefined);
    await server.stop();
    for (const g of [...fast, slow]) await g.stop();
  }
}
