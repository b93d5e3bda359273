// Prometheus metrics (GET /api/metrics). Counters are per process; gauges are read from the database on scrape.
import client from "prom-client";

const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: "mc_process_" });

export const metrics = {
  registry,
  heartbeatsAccepted: new client.Counter({ name: "mc_heartbeats_accepted_total", help: "Heartbeats accepted", registers: [registry] }),
  heartbeatsRejected: new client.Counter({
    name: "mc_heartbeats_rejected_total",
    help: "Heartbeats rejected, by reason",
    labelNames: ["reason"] as const,
    registers: [registry],
  }),
  reconcileLag: new client.Histogram({
    name: "mc_reconcile_lag_seconds",
    help: "Time from a reconcile job's due time to its decision",
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30],
    registers: [registry],
  }),
  reconcileDecisions: new client.Counter({
    name: "mc_reconcile_decisions_total",
    help: "Reconcile decisions, by event",
    labelNames: ["decision"] as const,
    registers: [registry],
  }),
};

export type GaugeSource = () => Promise<{
  agentsByStatus: Record<string, number>;
  attemptsByOutcome: Record<string, number>;
  queueDepth: number;
  oldestOverdueSeconds: number;
}>;

let sourceInstalled = false;

/** Installs gauges computed on each scrape from the given source. */
export function installGauges(source: GaugeSource): void {
  if (sourceInstalled) return;
  sourceInstalled = true;
  let cache: Awaited<ReturnType<GaugeSource>> | null = null;
  let pending: Promise<void> | null = null;
  const refresh = () =>
    (pending ??= source()
      .then((v) => {
        cache = v;
      })
      .finally(() => {
        pending = null;
      }));
  new client.Gauge({
    name: "mc_agents",
    help: "Agents by status",
    labelNames: ["status"] as const,
    registers: [registry],
    async collect() {
      await refresh();
      this.reset();
      for (const [status, n] of Object.entries(cache?.agentsByStatus ?? {})) this.set({ status }, n);
    },
  });
  new client.Gauge({
    name: "mc_wake_attempts",
    help: "Wake attempts by outcome",
    labelNames: ["outcome"] as const,
    registers: [registry],
    async collect() {
      await refresh();
      this.reset();
      for (const [outcome, n] of Object.entries(cache?.attemptsByOutcome ?? {})) this.set({ outcome }, n);
    },
  });
  new client.Gauge({
    name: "mc_queue_depth",
    help: "Reconcile jobs waiting (created or retry)",
    registers: [registry],
    async collect() {
      await refresh();
      this.set(cache?.queueDepth ?? 0);
    },
  });
  new client.Gauge({
    name: "mc_reconcile_overdue_seconds",
    help: "Age of the oldest reconcile job past its due time",
    registers: [registry],
    async collect() {
      await refresh();
      this.set(cache?.oldestOverdueSeconds ?? 0);
    },
  });
}
