// Seeds a large fleet in a few set-based statements (100,000 agents in seconds), for the board benchmark and the board's
// paging tests. Like scripts/seed-load.ts: http gateways against a closed local port (a server started on this database
// leaves them alone), agents spread over every status, some with errors, stale templates and rejected heartbeats; no
// cycles, no events. Agents are named `<board>-agent-<n>` with n zero-padded, so name order is predictable.
//
//   DATABASE_URL=postgresql://… npx tsx scripts/seed-fleet-sql.ts --agents 100000 [--gateways 10] [--boards 20]
import pg from "pg";
import { TEMPLATE_REVISION } from "../server/templates/render";

export interface FleetSeed {
  agents: number;
  gateways?: number;
  boardsPerGateway?: number;
  /** Name prefix of gateways (default "seed-gw"). */
  prefix?: string;
}

export async function seedFleetSql(databaseUrl: string, seed: FleetSeed): Promise<{ gateways: number; boards: number; agents: number }> {
  const gateways = seed.gateways ?? 10;
  const boardsPerGateway = seed.boardsPerGateway ?? 20;
  const prefix = seed.prefix ?? "seed-gw";
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO "Gateway" (id, name, driver, url, status, "runtimeVersion", "lastContactAt", "templateRevision", "createdAt", "updatedAt")
       SELECT gen_random_uuid(), $1 || '-' || lpad(g::text, 3, '0'), 'http', 'http://127.0.0.1:9/seed-' || g,
              CASE WHEN g = $2 AND $2 > 1 THEN 'unreachable' ELSE 'reachable' END::"GatewayStatus", 'seed-1.0', now(), $3, now(), now()
       FROM generate_series(1, $2::int) g`,
      [prefix, gateways, TEMPLATE_REVISION],
    );
    await client.query(
      `INSERT INTO "Board" (id, name, "gatewayId", "createdAt")
       SELECT gen_random_uuid(), 'board-' || lpad(b::text, 3, '0'), gw.id, now()
       FROM "Gateway" gw CROSS JOIN generate_series(1, $2::int) b WHERE gw.name LIKE $1 || '-%'`,
      [prefix, boardsPerGateway],
    );
    // Agents are dealt round-robin over the boards: agent n goes to board n mod B; the first of each board leads it.
    await client.query(
      `WITH boards AS (
         SELECT b.id, b."gatewayId", gw.name AS gw, b.name, gw.status AS gws, row_number() OVER (ORDER BY gw.name, b.name) - 1 AS i
         FROM "Board" b JOIN "Gateway" gw ON gw.id = b."gatewayId" WHERE gw.name LIKE $1 || '-%'),
       nb AS (SELECT count(*) AS nb FROM boards),
       spec AS (
         SELECT n, (n % nb) AS bi, (n / nb) AS k, ((n * 2654435761) % 1000) / 1000.0 AS r FROM generate_series(0, $2::int - 1) n, nb),
       rows AS (
         SELECT gen_random_uuid() AS id, b.id AS "boardId", b."gatewayId", b.gws, s.n, s.k, s.r,
                b.gw || '-' || b.name || '-agent-' || lpad(s.k::text, 6, '0') AS name,
                CASE WHEN b.gws = 'unreachable' AND s.r < 0.7 THEN 'offline'
                     WHEN s.r < 0.78 THEN 'online' WHEN s.r < 0.87 THEN 'offline' WHEN s.r < 0.93 THEN 'waking'
                     WHEN s.r < 0.96 THEN 'provisioning' WHEN s.r < 0.99 THEN 'updating' ELSE 'deleting' END AS status
         FROM spec s JOIN boards b ON b.i = s.bi)
       INSERT INTO "Agent" (id, name, kind, "gatewayId", "boardId", "sessionKey", status, "statusReason", "lastSeenAt",
         "wakeAttempts", "checkinDeadlineAt", "lastProvisionError", "lifecycleGeneration", "provisionedGeneration",
         "cycleStartedAt", "cycleStartedBy", "heartbeatIntervalSeconds", "templateRevision", "heartbeatsAccepted",
         "heartbeatsRejected", "lastRejectedAt", "lastRejectedReason", "tokenDelivered", "createdAt", "updatedAt")
       SELECT id, name, CASE WHEN k = 0 THEN 'board_lead' ELSE 'board_worker' END::"AgentKind", "gatewayId", "boardId",
         'agent:' || id || ':main', status::"AgentStatus", CASE WHEN status = 'offline' THEN 'max_wake_attempts' END,
         CASE WHEN status = 'online' THEN now() - make_interval(secs => n % 55) WHEN status = 'offline' THEN now() - interval '1 hour' END,
         CASE WHEN status = 'waking' THEN 1 + n % 3 WHEN status = 'offline' THEN 3 ELSE 0 END,
         CASE WHEN status = 'waking' THEN now() + make_interval(secs => 20 + n % 40) END,
         CASE WHEN status = 'offline' THEN CASE WHEN gws = 'unreachable' THEN 'Gateway unreachable: connect ECONNREFUSED 127.0.0.1:9 (wake 3/3)'
              ELSE 'No check-in after 3 wakes (deadline 30s each)' END END,
         1 + n % 3, 1 + n % 3, now() - interval '10 minutes', 'system:seed', 3600,
         CASE WHEN n % 17 = 0 THEN '0000000000old' ELSE $3 END,
         CASE WHEN status = 'online' THEN 10 + n % 90 ELSE 0 END,
         CASE WHEN n % 97 = 0 THEN 3 ELSE 0 END, CASE WHEN n % 97 = 0 THEN now() - interval '2 minutes' END,
         CASE WHEN n % 97 = 0 THEN 'mismatch' END, true, now(), now() - make_interval(secs => n % 600)
       FROM rows`,
      [prefix, seed.agents, TEMPLATE_REVISION],
    );
    await client.query("COMMIT");
    await client.query(`ANALYZE "Agent"`);
    return { gateways, boards: gateways * boardsPerGateway, agents: seed.agents };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 1) throw new Error(`--${name} needs a positive number`);
  return Math.floor(v);
}

if (require.main === module) {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("Set DATABASE_URL to the database to seed");
  const started = Date.now();
  seedFleetSql(url, { agents: arg("agents", 10_000), gateways: arg("gateways", 10), boardsPerGateway: arg("boards", 20) })
    .then((r) => process.stdout.write(`seeded ${r.agents} agents on ${r.gateways} gateways, ${r.boards} boards in ${Date.now() - started} ms\n`))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
