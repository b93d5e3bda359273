// /api/metrics fits stock dashboards (docs/ops/README.md (Metrics)): Node's default metrics under their standard names, a
// `queue` label on queue metrics, gateway calls timed by driver and method, heartbeats by result, time to converge per
// gateway, workers alive, build_info — and a scrape that reads no history table.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../../server/generated/prisma/client";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { FakeHttpGateway } from "../support/fake-http-gateway";
import { exposedSeries, samples } from "../support/promql";
import { gaugeSource } from "../../server/system/queue-gauges";
import { QUEUES } from "../../server/queue/queues";

async function scrape(h: Harness): Promise<string> {
  const res = await fetch(`${h.baseUrl}/api/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
  return res.text();
}

const total = (text: string, name: string, match: Record<string, string> = {}) =>
  samples(text, name)
    .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);

describe("metrics", () => {
  let h: Harness;
  let gateway: FakeHttpGateway;
  before(async () => {
    h = await startHarness({ env: { MC_METRICS_PUBLIC: "1" } });
    gateway = new FakeHttpGateway();
    await gateway.start();
  });
  after(async () => {
    await gateway.stop();
    await h.stop();
  });

  test("Node's default metrics keep their standard names (no doubled prefix)", async () => {
    const { families } = exposedSeries(await scrape(h));
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes", "nodejs_version_info"]) {
      assert.ok(families.has(name), `${name} is exposed`);
    }
    assert.deepEqual([...families.keys()].filter((n) => n.startsWith("mc_process_") || n.startsWith("mc_nodejs_")), []);
  });

  test("queue metrics carry a queue label for every queue; workers alive; build_info", async () => {
    await waitFor(async () => total(await scrape(h), "mc_workers_alive") === 1, 10_000, "the harness's worker counted");
    const text = await scrape(h);
    const { families } = exposedSeries(text);
    const queueFamilies = [...families.keys()].filter((n) => n.startsWith("mc_queue_") && families.get(n) === "gauge");
    assert.ok(queueFamilies.length >= 5, queueFamilies.join(", "));
    for (const name of queueFamilies) {
      const labelled = samples(text, name).map((s) => s.labels.queue);
      assert.deepEqual([...labelled].sort(), Object.values(QUEUES).sort(), `${name} by queue`);
    }
    const [info] = samples(text, "mc_build_info");
    assert.equal(info.value, 1);
    assert.equal(info.labels.version, JSON.parse(fs.readFileSync("package.json", "utf8")).version);
    assert.equal(info.labels.node, process.version);
    assert.match(info.labels.commit, /^([0-9a-f]{12}|unknown)$/);
  });

  test("gateway calls are timed by driver, method and result; heartbeats counted by result; convergence per gateway", async () => {
    const before = await scrape(h);
    const httpId = await h.gateway({ name: "metrics-http", driver: "http", url: gateway.url, token: "t" });
    const simId = await h.gateway({ name: "metrics-sim" });
    const agentId = await h.agent(simId, "healthy");
    await h.app.lifecycle.createAgent({ gatewayId: httpId, name: "http-agent", kind: "gateway_main" }, "test");
    await waitFor(async () => (await h.app.lifecycle.view(agentId))?.status === "online", 10_000, "the simulated agent online");
    await waitFor(async () => gateway.requests.some((r) => r.path.endsWith("/wake")), 10_000, "the http wake");
    // The probe of an unreachable gateway is a timed failure.
    const downId = await h.gateway({ name: "metrics-down", driver: "http", url: "http://127.0.0.1:1/", token: "t" });
    await h.app.db.gateway.update({ where: { id: downId }, data: { status: "unknown" } });
    const { probeGateway } = await import("../../server/gateways/probe");
    await probeGateway({ db: h.app.db, events: h.app.events, drivers: h.app.drivers, logger: h.app.logger }, downId);
    assert.equal((await fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST" })).status, 401);

    await waitFor(async () => total(await scrape(h), "mc_converge_duration_seconds_count", { gateway: "metrics-sim" }) >= 1, 5_000, "a convergence on metrics-sim");
    const text = await scrape(h);
    const calls = (match: Record<string, string>) => total(text, "mc_gateway_call_duration_seconds_count", match) - total(before, "mc_gateway_call_duration_seconds_count", match);
    assert.ok(calls({ driver: "http", method: "provision", result: "ok" }) >= 1);
    assert.ok(calls({ driver: "http", method: "wake", result: "ok" }) >= 1);
    assert.ok(calls({ driver: "simulator", method: "provision", result: "ok" }) >= 1);
    assert.ok(calls({ driver: "http", method: "probe", result: "error" }) >= 1, "a failed probe is timed as an error");
    const buckets = samples(text, "mc_gateway_call_duration_seconds_bucket").filter((s) => s.labels.driver === "http" && s.labels.method === "wake");
    assert.ok(buckets.some((b) => b.labels.le === "+Inf"), "a histogram with buckets");

    const delta = (name: string, match: Record<string, string>) => total(text, name, match) - total(before, name, match);
    assert.ok(delta("mc_heartbeats_total", { result: "accepted" }) >= 1);
    assert.equal(delta("mc_heartbeats_total", { result: "missing" }), 1);
    assert.ok(delta("mc_wake_attempts_started_total", {}) >= 2);
    assert.ok(delta("mc_wake_attempts_resolved_total", { outcome: "checked_in" }) >= 1);
    // Gauges are read from the database at most once a second: the online agent shows up on a later scrape.
    await waitFor(async () => total(await scrape(h), "mc_agents", { status: "online" }) >= 1, 5_000, "the online agent counted");
  });

  test("a scrape reads pg-boss's cached counts and indexes, never a history table", async () => {
    const queries: string[] = [];
    const db = new PrismaClient({ adapter: new PrismaPg({ connectionString: h.databaseUrl }), log: [{ emit: "event", level: "query" }] });
    db.$on("query", (e) => queries.push(e.query));
    try {
      const values = await gaugeSource(h.app.boss, db, h.app.config.QUEUE_SCHEMA)();
      assert.deepEqual(values.queues.map((q) => q.queue), Object.values(QUEUES));
      assert.ok(queries.length >= 3, queries.join("\n"));
      for (const q of queries) assert.doesNotMatch(q, /"WakeAttempt"|"LifecycleEvent"|"TemplateSyncResult"|"OperatorAudit"|"Notification/, q);
      const jobQueries = queries.filter((q) => /\.job\b/.test(q));
      assert.equal(jobQueries.length, 1);
      assert.match(jobQueries[0], /state IN \('created', 'retry'\) AND start_after < now\(\)/, "only overdue live jobs (pg-boss's live-job index)");
    } finally {
      await db.$disconnect();
    }
  });
});

test("timed drivers keep the optional capabilities of the driver they wrap, and only those", async () => {
  const { instrumentDrivers } = await import("../../server/drivers/instrumented");
  const { createDriverFactory } = await import("../../server/drivers");
  const { SimulatorRuntime } = await import("../../server/drivers/simulator/driver");
  // No database is touched: only which methods the drivers have is looked at.
  const factory = instrumentDrivers(createDriverFactory(new SimulatorRuntime({} as never)));
  const base = { id: "g", name: "g", tokenSecret: "t", allowInsecureTls: false, workspaceRoot: null };
  const openclaw = factory({ ...base, driver: "openclaw", url: "ws://127.0.0.1:1" });
  assert.equal(typeof openclaw.applyAgentSettings, "function");
  assert.equal(typeof openclaw.deliveredToken, "function");
  const http = factory({ ...base, driver: "http", url: "http://127.0.0.1:1" });
  assert.equal(http.applyAgentSettings, undefined);
  assert.equal(http.deliveredToken, undefined);
});
