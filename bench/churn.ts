// Goal 5: live updates under churn. 10,000 agents: 9,000 online and heartbeating through the HTTP API, 1,000 on a
// gateway that is down, whose cycles this process keeps restarting (agents.wake: every wake fails at once, the
// agent goes offline after its attempts, and is woken again). A Socket.IO client in this process, signed in and
// joined to the fleet room as the board is, measures heartbeat sent → the agent's row with the new lastSeenAt
// received.
import http from "node:http";
import pg from "pg";
import { io as connect } from "socket.io-client";
import { BENCH_TOKEN, startServer } from "./lib/server";
import { seedFleet, type SeededAgent } from "./lib/fleet";
import { ms, percentile, perSecond } from "./lib/stats";
import type { Section } from "./lib/report";
import { decodeRows } from "../lib/agent-row";

const HEALTHY_GATEWAYS = 9;
const PER_GATEWAY = 1_000;
const CYCLING = 1_000;
/** Each heartbeating agent beats this often (9,000 agents: 450 heartbeats/s). */
const BEAT_EVERY_MS = 20_000;
const WARMUP_MS = 10_000;
const MEASURE_MS = 45_000;
/** Concurrent agents.wake calls restarting the cycling agents' cycles. */
const WAKERS = 4;
/** A heartbeat whose row has not arrived after this long counts as never received. */
const LOST_AFTER_MS = 5_000;

export default async function churnBench(): Promise<Section> {
  let healthy: SeededAgent[] = [];
  let cycling: SeededAgent[] = [];
  const server = await startServer({
    seed: async (url) => {
      const gateways = await seedFleet(url, [
        ...Array.from({ length: HEALTHY_GATEWAYS }, (_, g) => ({ name: `bench-up-${g}`, agents: PER_GATEWAY, status: "online" as const, heartbeatIntervalSeconds: 60 })),
        { name: "bench-down", agents: CYCLING, status: "offline" as const, heartbeatIntervalSeconds: 60, checkinDeadlineSeconds: 2, maxWakeAttempts: 2 },
      ]);
      healthy = gateways.slice(0, HEALTHY_GATEWAYS).flat();
      cycling = gateways[HEALTHY_GATEWAYS];
    },
    env: { GATEWAY_PROBE_SECONDS: "3600", CHECKIN_DEADLINE_SECONDS: "2" },
  });

  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL("/api/agent/heartbeat", server.baseUrl);
  const beat = (token: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: "POST", agent, headers: { "x-agent-token": token, "content-length": "0" } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end();
    });

  const socket = connect(server.baseUrl, { path: "/socket.io", transports: ["websocket"], auth: { token: BENCH_TOKEN }, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  const joined = (await socket.emitWithAck("subscribe", { rooms: ["fleet"] })) as { ok?: boolean; error?: string };
  if (!joined.ok) throw new Error(`subscribe: ${joined.error}`);

  let measuring = false;
  let stopping = false;
  /** agent id → when its heartbeat was sent (epoch ms), until its row arrives. */
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let lost = 0;
  let messages = 0;
  let rowsReceived = 0;
  let payloadBytes = 0;
  let beats = 0;
  let beatErrors = 0;
  let firstBeatError: string | undefined;
  let wakes = 0;
  let wakeErrors = 0;

  socket.on("agent.updated", (payload: unknown) => {
    const now = Date.now();
    const rows = decodeRows(payload);
    if (measuring) {
      messages += 1;
      rowsReceived += rows.length;
      payloadBytes += JSON.stringify(payload).length;
    }
    for (const row of rows) {
      const sent = sentAt.get(row.id);
      // lastSeenAt is the database's clock on this same machine; a row from before the heartbeat is not its answer.
      if (sent === undefined || row.lastSeenAt === null || row.lastSeenAt < sent - 2) continue;
      sentAt.delete(row.id);
      if (measuring) latencies.push(now - sent);
    }
  });

  // Heartbeats: every agent once per BEAT_EVERY_MS, spread evenly (an open loop, as a fleet is).
  const tickMs = 10;
  const perTick = (healthy.length * tickMs) / BEAT_EVERY_MS;
  let cursor = 0;
  let carry = 0;
  const heartbeats = setInterval(() => {
    carry += perTick;
    const now = Date.now();
    for (; carry >= 1; carry -= 1) {
      const a = healthy[cursor++ % healthy.length];
      const previous = sentAt.get(a.id);
      if (previous !== undefined && measuring && now - previous > LOST_AFTER_MS) lost += 1;
      sentAt.set(a.id, now);
      const counted = measuring;
      beat(a.token).then(
        (status) => {
          if (!counted) return;
          beats += 1;
          if (status !== 200) {
            beatErrors += 1;
            firstBeatError ??= `HTTP ${status}`;
          }
        },
        (err: unknown) => {
          if (!counted) return;
          beatErrors += 1;
          firstBeatError ??= String(err);
        },
      );
    }
  }, tickMs);

  // Churn: restart the cycles of the agents on the down gateway, round robin, for as long as the run lasts.
  let next = 0;
  const wakers = Array.from({ length: WAKERS }, async () => {
    while (!stopping) {
      const a = cycling[next++ % cycling.length];
      try {
        await server.trpc("agents.wake", { id: a.id });
        if (measuring) wakes += 1;
      } catch {
        if (measuring) wakeErrors += 1;
      }
    }
  });

  const failedJobs = { before: 0, after: 0 };
  const db = new pg.Client({ connectionString: server.databaseUrl });
  await db.connect();
  const failedNow = async () => Number((await db.query(`SELECT count(*) AS n FROM pgboss.job WHERE state = 'failed'`)).rows[0].n);
  let rss = 0;
  try {
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    failedJobs.before = await failedNow();
    measuring = true;
    const started = Date.now();
    const rssTimer = setInterval(() => (rss = Math.max(rss, server.rssMb())), 1000);
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    measuring = false;
    clearInterval(rssTimer);
    const seconds = (Date.now() - started) / 1000;
    // Heartbeats whose rows never came (still waiting past the limit) count as lost, not as fast.
    const now = Date.now();
    for (const sent of sentAt.values()) if (now - sent > LOST_AFTER_MS) lost += 1;
    failedJobs.after = await failedNow();
    const cycled = Number(
      (await db.query(`SELECT count(DISTINCT "agentId") AS n FROM "LifecycleEvent" WHERE event = 'lifecycle.cycle.started' AND at > now() - make_interval(secs => $1)`, [seconds]))
        .rows[0].n,
    );
    stopping = true;
    clearInterval(heartbeats);
    await Promise.all(wakers);
    const p95 = percentile(latencies, 95);
    return {
      title: "Live under churn",
      setup:
        `${(healthy.length + cycling.length).toLocaleString("en-US")} agents: ${healthy.length.toLocaleString("en-US")} online, each heartbeating every ` +
        `${BEAT_EVERY_MS / 1000} s through the HTTP API (${perSecond(beats / seconds)}); ${cycling.length.toLocaleString("en-US")} on a gateway that is down ` +
        `(closed port), their cycles restarted by ${WAKERS} concurrent \`agents.wake\` calls (${perSecond(wakes / seconds)}). A Socket.IO client in the ` +
        `bench process joined to the fleet room; ${Math.round(seconds)} s measured after ${WARMUP_MS / 1000} s of warm-up.`,
      figures: [
        { name: "heartbeat → board row, p95", measured: ms(p95), goal: "< 250 ms", met: p95 < 250 },
        { name: "heartbeat → board row, p50", measured: ms(percentile(latencies, 50)), goal: "", met: null },
        { name: "heartbeat → board row, p99", measured: ms(percentile(latencies, 99)), goal: "", met: null },
        { name: "heartbeats whose row never arrived (> 5 s)", measured: String(lost), goal: "0", met: lost === 0 },
        { name: "heartbeat errors", measured: `${beatErrors}${firstBeatError ? ` (${firstBeatError})` : ""}`, goal: "0", met: beatErrors === 0 },
        { name: "agents cycled in the window", measured: String(cycled), goal: "", met: null },
        { name: "failed jobs during the window", measured: String(failedJobs.after - failedJobs.before), goal: "0", met: failedJobs.after === failedJobs.before },
        {
          name: "fleet-room pushes",
          measured: `${perSecond(messages / seconds)} messages, ${perSecond(rowsReceived / seconds)} rows, ${Math.round(payloadBytes / Math.max(1, rowsReceived))} B/row`,
          goal: "",
          met: null,
        },
        { name: "server RSS (max)", measured: `${Math.round(rss)} MB`, goal: "", met: null },
      ],
      notes: [
        `${latencies.length.toLocaleString("en-US")} heartbeat → row samples; ${wakeErrors} agents.wake call(s) refused.`,
        "Rows reach the browser in one `agent.updated` message per room every ~100 ms (lib/agent-row.ts `EncodedRows`), so the floor of this figure is the push interval.",
      ],
    };
  } finally {
    stopping = true;
    clearInterval(heartbeats);
    socket.close();
    agent.destroy();
    await db.end().catch(() => undefined);
    await server.stop();
  }
}
