// `npm run bench`: measures on this machine and writes bench/results.md.
//  1. Reconcile lag: time from a reconcile job's due time (the check-in deadline) to its committed decision, over a
//     few hundred jobs (silent agents, so every deadline leads to a decision).
//  2. Heartbeat API: accepted heartbeats per second and latency percentiles with concurrent agents over real HTTP.
import fs from "node:fs";
import os from "node:os";
import { startHarness, waitFor } from "../test/support/harness";
import { issueAgentToken } from "../server/agents/tokens";

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

async function reconcileLag(agents: number) {
  const h = await startHarness({ env: { CHECKIN_DEADLINE_SECONDS: "2", MAX_WAKE_ATTEMPTS: "3" } });
  try {
    const gatewayId = await h.gateway();
    for (let i = 0; i < agents; i++) await h.agent(gatewayId, "silent", `bench-${i}`);
    await waitFor(async () => (await h.app.db.agent.count({ where: { status: "offline" } })) === agents || null, 120_000, "all offline");
    const rows = await h.app.db.lifecycleEvent.findMany({ where: { event: "queue.worker.success" }, select: { data: true } });
    const lags = rows.map((r) => Number((r.data as { lagMs: number }).lagMs));
    return { jobs: lags.length, p50: percentile(lags, 50), p99: percentile(lags, 99), max: Math.max(...lags) };
  } finally {
    await h.stop();
  }
}

async function heartbeatThroughput(agents: number, concurrency: number, total: number) {
  const h = await startHarness({ worker: false });
  try {
    const gatewayId = await h.gateway();
    const tokens: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < agents; i++) ids.push(await h.agent(gatewayId, "silent", `hb-${i}`));
    await h.app.lifecycle.idle();
    for (const id of ids) {
      const issued = issueAgentToken(id);
      await h.app.db.agent.update({ where: { id }, data: { tokenHash: issued.hash, status: "online" } });
      tokens.push(issued.token);
    }
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const token = tokens[next++ % tokens.length];
          const t = performance.now();
          const res = await fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": token } });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`heartbeat returned ${res.status}`);
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { total, perSecond: Math.round(total / seconds), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await h.stop();
  }
}

async function main() {
  const lag = await reconcileLag(Number(process.env.BENCH_AGENTS ?? 150));
  const hb = await heartbeatThroughput(200, 20, 5000);
  const fmt = (n: number) => n.toFixed(1);
  const md = `# Benchmarks

Measured ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "cpu"}), Node ${process.version}, real PostgreSQL.
Run with \`npm run bench\`.

## Reconcile lag (deadline → committed decision)

${lag.jobs} reconcile jobs (silent agents, 2 s deadline, 3 attempts, pg-boss polling 0.5 s, batch 50, 2 local fetchers).

| p50 | p99 | max |
|---|---|---|
| ${fmt(lag.p50)} ms | ${fmt(lag.p99)} ms | ${fmt(lag.max)} ms |

Goal: under 1 s (SPEC §1).

## Heartbeat API

${hb.total} heartbeats from 200 online agents, 20 concurrent HTTP clients on loopback (token check + fast-path update).

| heartbeats/s | p50 | p99 |
|---|---|---|
| ${hb.perSecond} | ${fmt(hb.p50)} ms | ${fmt(hb.p99)} ms |
`;
  fs.writeFileSync("bench/results.md", md);
  process.stdout.write(md);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
