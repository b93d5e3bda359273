// Goal 1: heartbeat ingestion through the real HTTP API against the raw single-row UPDATE throughput of the same
// database, side by side in one run, both at 32 concurrent clients from this process. The rounds alternate (raw,
// API, raw, API) so that neither side gets a warmer or quieter machine.
import http from "node:http";
import pg from "pg";
import { startServer } from "./lib/server";
import { seedFleet, type SeededAgent } from "./lib/fleet";
import { closedLoop, ms, percentile, perSecond } from "./lib/stats";
import type { Section } from "./lib/report";

const CLIENTS = 32;
const AGENTS = 4_000;
const PER_ROUND = 20_000;
const ROUNDS = 2;

interface Totals {
  latencies: number[];
  seconds: number;
  count: number;
  errors: number;
  firstError?: string;
}

function add(t: Totals, r: Awaited<ReturnType<typeof closedLoop>>): void {
  t.latencies.push(...r.latencies);
  t.seconds += r.seconds;
  t.count += r.latencies.length + r.errors;
  t.errors += r.errors;
  t.firstError ??= r.firstError;
}

const empty = (): Totals => ({ latencies: [], seconds: 0, count: 0, errors: 0 });

/** POST /api/agent/heartbeat over keep-alive connections; resolves on 200, rejects on anything else. */
function heartbeatClient(baseUrl: string) {
  const url = new URL("/api/agent/heartbeat", baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  return {
    beat(token: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const req = http.request(
          { host: url.hostname, port: url.port, path: url.pathname, method: "POST", agent, headers: { "x-agent-token": token, "content-length": "0" } },
          (res) => {
            res.resume();
            res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
          },
        );
        req.on("error", reject);
        req.end();
      });
    },
    close: () => agent.destroy(),
  };
}

export default async function heartbeatBench(): Promise<Section> {
  let agents: SeededAgent[] = [];
  const server = await startServer({
    seed: async (url) => {
      // Online agents with a long interval: the liveness sweep leaves them alone whatever the run's pace.
      [agents] = await seedFleet(url, [{ name: "bench-heartbeat", agents: AGENTS, status: "online", heartbeatIntervalSeconds: 3600 }]);
    },
    env: { GATEWAY_PROBE_SECONDS: "3600" },
  });
  const pool = new pg.Pool({ connectionString: server.databaseUrl, max: CLIENTS });
  const client = heartbeatClient(server.baseUrl);
  const raw = empty();
  const api = empty();
  try {
    const rawUpdate = (i: number) => pool.query(`UPDATE "Agent" SET "lastSeenAt" = now() WHERE id = $1`, [agents[i % AGENTS].id]).then(() => undefined);
    const apiBeat = (i: number) => client.beat(agents[(i * 7919) % AGENTS].token);
    // Warm-up: connections, prepared statements, JIT.
    await closedLoop(CLIENTS, 2_000, rawUpdate);
    await closedLoop(CLIENTS, 2_000, apiBeat);
    for (let round = 0; round < ROUNDS; round++) {
      add(raw, await closedLoop(CLIENTS, PER_ROUND, rawUpdate));
      add(api, await closedLoop(CLIENTS, PER_ROUND, apiBeat));
    }
  } finally {
    client.close();
    await pool.end();
    await server.stop();
  }
  const rawRate = raw.latencies.length / raw.seconds;
  const apiRate = api.latencies.length / api.seconds;
  const ratio = apiRate / rawRate;
  const apiP99 = percentile(api.latencies, 99);
  return {
    title: "Heartbeat ingestion",
    setup:
      `${AGENTS.toLocaleString("en-US")} online agents with tokens; ${CLIENTS} concurrent clients in the bench process; ` +
      `${ROUNDS} alternating rounds of ${PER_ROUND.toLocaleString("en-US")} raw single-row \`UPDATE "Agent" SET "lastSeenAt" = now() WHERE id = $1\` ` +
      `(pg, its own commit each) and ${PER_ROUND.toLocaleString("en-US")} \`POST /api/agent/heartbeat\` (keep-alive HTTP) against the same database.`,
    figures: [
      {
        name: `heartbeats/s through the API at ${CLIENTS} clients`,
        measured: perSecond(apiRate),
        goal: "≥ 1.0× raw UPDATE/s",
        baseline: `${perSecond(rawRate)} (p50 ${ms(percentile(raw.latencies, 50))}, p99 ${ms(percentile(raw.latencies, 99))})`,
        met: ratio >= 1,
      },
      { name: "ratio API / raw", measured: `${ratio.toFixed(2)}×`, goal: "≥ 1.0×", met: ratio >= 1 },
      { name: "heartbeat p50", measured: ms(percentile(api.latencies, 50)), goal: "", met: null },
      { name: "heartbeat p99", measured: ms(apiP99), goal: "< 50 ms", met: apiP99 < 50 },
      {
        name: "errors",
        measured: `${api.errors}${api.firstError ? ` (${api.firstError})` : ""}`,
        goal: "0",
        baseline: String(raw.errors),
        met: api.errors === 0,
      },
    ],
    notes: [
      "Each heartbeat is acknowledged only after the batch holding it committed (group commit: one `UPDATE … FROM unnest(…)` and one commit per batch, the token check folded into it; server/agents/heartbeat-ingest.ts).",
    ],
  };
}
