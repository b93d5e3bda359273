// Prometheus metrics (GET /api/metrics), named so that stock dashboards work: Node's default process metrics under
// their standard names (`process_*`, `nodejs_*`), `queue` on every queue metric. Counters and histograms are per
// process (Prometheus sums them across instances); gauges are read from the database on scrape, through indexes and
// pg-boss's cached queue counts only — never a scan of a history table. Every name here is listed in
// docs/ops/README.md (Metrics) and used by docs/ops/grafana-dashboard.json and docs/ops/prometheus-alerts.yml.
import client from "prom-client";
import { buildInfo } from "./build-info";

const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

const heartbeats = new client.Counter({
  name: "mc_heartbeats_total",
  help: "Heartbeat API requests by result: accepted, or the reason of the rejection",
  labelNames: ["result"] as const,
  registers: [registry],
});

const wakeAttemptsResolved = new client.Counter({
  name: "mc_wake_attempts_resolved_total",
  help: "Wake attempts by the outcome they ended with",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const metrics = {
  registry,
  heartbeats,
  heartbeatsAccepted: { inc: () => heartbeats.inc({ result: "accepted" }) },
  heartbeatsRejected: { inc: ({ reason }: { reason: string }) => heartbeats.inc({ result: reason }) },
  wakeAttemptsStarted: new client.Counter({ name: "mc_wake_attempts_started_total", help: "Wake attempts started", registers: [registry] }),
  wakeAttemptsResolved,
  reconcileLag: new client.Histogram({
    name: "mc_reconcile_lag_seconds",
    help: "Time from a reconcile job's due time to its decision",
    labelNames: ["queue"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30],
    registers: [registry],
  }),
  reconcileDecisions: new client.Counter({
    name: "mc_reconcile_decisions_total",
    help: "Reconcile decisions, by event",
    labelNames: ["decision"] as const,
    registers: [registry],
  }),
  jobsProcessed: new client.Counter({
    name: "mc_queue_jobs_processed_total",
    help: "Jobs handled by this process, by queue and result (completed, failed)",
    labelNames: ["queue", "result"] as const,
    registers: [registry],
  }),
  gatewayCallDuration: new client.Histogram({
    name: "mc_gateway_call_duration_seconds",
    help: "Duration of gateway driver calls, by driver, method and result (ok, error)",
    labelNames: ["driver", "method", "result"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
    registers: [registry],
  }),
  convergeDuration: new client.Histogram({
    name: "mc_converge_duration_seconds",
    help: "Time from the start of a cycle to the agent's first check-in, by gateway",
    labelNames: ["gateway"] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600],
    registers: [registry],
  }),
  notifications: new client.Counter({
    name: "mc_notifications_total",
    help: "Notifications opened and resolved, by trigger",
    labelNames: ["trigger", "state"] as const,
    registers: [registry],
  }),
  notificationDeliveries: new client.Counter({
    name: "mc_notification_deliveries_total",
    help: "Notification delivery attempts, by channel kind and result (delivered, retrying, failed)",
    labelNames: ["channel", "result"] as const,
    registers: [registry],
  }),
  retentionDeleted: new client.Counter({
    name: "mc_retention_deleted_rows_total",
    help: "Rows removed by the retention job, by table",
    labelNames: ["table"] as const,
    registers: [registry],
  }),
};

/** Counts of wake attempts created and resolved by one committed lifecycle step. */
export function recordWakeAttempts(started: number, outcomes: readonly string[]): void {
  if (started > 0) metrics.wakeAttemptsStarted.inc(started);
  for (const outcome of outcomes) wakeAttemptsResolved.inc({ outcome });
}

const info = buildInfo();
new client.Gauge({
  name: "mc_build_info",
  help: "Always 1; the labels say which build is running",
  labelNames: ["version", "commit", "node"] as const,
  registers: [registry],
}).set({ version: info.version, commit: info.commit, node: process.version }, 1);

export interface QueueGauge {
  queue: string;
  /** Jobs waiting to run (created or retry), deferred ones included. */
  waiting: number;
  /** Waiting jobs whose start time is still ahead. */
  deferred: number;
  active: number;
  /** Failed jobs pg-boss still retains. */
  failed: number;
  /** Waiting jobs whose start time has passed. */
  overdue: number;
  /** Age of the oldest of them (0 when none). */
  oldestOverdueSeconds: number;
}

export interface GaugeValues {
  agentsByStatus: Record<string, number>;
  queues: QueueGauge[];
  workersAlive: number;
}

export type GaugeSource = () => Promise<GaugeValues>;

let source: GaugeSource | null = null;
let cache: { at: number; values: GaugeValues } | null = null;
let pending: Promise<GaugeValues | null> | null = null;
/** One database read serves every gauge of a scrape (and scrapes that arrive together). */
const CACHE_MS = 1000;

/** The app whose database the gauges read (the last one created in this process). Returns the detach function. */
export function setGaugeSource(next: GaugeSource): () => void {
  source = next;
  cache = null;
  return () => {
    if (source !== next) return;
    source = null;
    cache = null;
  };
}

async function values(): Promise<GaugeValues | null> {
  if (cache && Date.now() - cache.at < CACHE_MS) return cache.values;
  const read = source;
  if (!read) return null;
  pending ??= read()
    .then((v) => {
      cache = { at: Date.now(), values: v };
      return v;
    })
    // A database outage must not fail the whole scrape: the process metrics still matter then.
    .catch(() => null)
    .finally(() => {
      pending = null;
    });
  return pending;
}

new client.Gauge({
  name: "mc_agents",
  help: "Agents by status",
  labelNames: ["status"] as const,
  registers: [registry],
  async collect() {
    const v = await values();
    this.reset();
    for (const [status, n] of Object.entries(v?.agentsByStatus ?? {})) this.set({ status }, n);
  },
});

function queueGauge(name: string, help: string, pick: (q: QueueGauge) => number) {
  new client.Gauge({
    name,
    help,
    labelNames: ["queue"] as const,
    registers: [registry],
    async collect() {
      const v = await values();
      this.reset();
      for (const q of v?.queues ?? []) this.set({ queue: q.queue }, pick(q));
    },
  });
}

queueGauge("mc_queue_depth", "Jobs waiting to run (created or retry, deferred included), by queue", (q) => q.waiting);
queueGauge("mc_queue_deferred_jobs", "Waiting jobs whose start time is still ahead (e.g. future deadlines), by queue", (q) => q.deferred);
queueGauge("mc_queue_active_jobs", "Jobs running now, by queue", (q) => q.active);
queueGauge("mc_queue_failed_jobs", "Failed jobs still retained, by queue", (q) => q.failed);
queueGauge("mc_queue_overdue_jobs", "Waiting jobs whose start time has passed, by queue", (q) => q.overdue);
queueGauge("mc_queue_oldest_overdue_seconds", "Age of the oldest job past its start time, by queue (the reconcile lag)", (q) => q.oldestOverdueSeconds);

new client.Gauge({
  name: "mc_workers_alive",
  help: "Queue workers on this process's queue schema that beat recently",
  registers: [registry],
  async collect() {
    const v = await values();
    this.set(v?.workersAlive ?? 0);
  },
});
