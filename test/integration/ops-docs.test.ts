// The Grafana dashboard and the Prometheus alert rules in docs/ops/ name only metrics that /api/metrics exposes, so
// that a renamed metric cannot silently blank a panel or disarm an alert.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { startHarness, type Harness } from "../support/harness";
import { dashboardExpressions, exposedSeries, metricNames, ruleExpressions } from "../support/promql";

/** Series Prometheus itself adds to every scrape target. */
const SYNTHESIZED = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped"]);

describe("ops docs", () => {
  let h: Harness;
  let exposed: Set<string>;
  before(async () => {
    h = await startHarness({ env: { MC_METRICS_PUBLIC: "1" } });
    const res = await fetch(`${h.baseUrl}/api/metrics`);
    exposed = exposedSeries(await res.text()).series;
  });
  after(async () => {
    await h.stop();
  });

  test("the extraction of metric names from PromQL is sound", () => {
    assert.deepEqual(metricNames('histogram_quantile(0.95, sum by (le, gateway) (rate(mc_x_bucket{a="b",c=~"d|e"}[5m]))) > 9e1'), ["mc_x_bucket"]);
    assert.deepEqual(metricNames("sum(a_total{result!=\"accepted\"}) / clamp_min(sum(b), 1) and on (instance) c offset 5m"), ["a_total", "b", "c"]);
    assert.deepEqual(metricNames("sum by (queue) (rate(q_total[$__rate_interval])) / ${x}"), ["q_total"]);
    assert.deepEqual(ruleExpressions("    - alert: A\n      expr: up == 0\n    - alert: B\n      expr: |\n        sum(x)\n          / sum(y)\n      for: 1m\n"), ["up == 0", "sum(x) / sum(y)"]);
  });

  test("every metric of the Grafana dashboard exists in /api/metrics", () => {
    const dashboard = JSON.parse(fs.readFileSync("docs/ops/grafana-dashboard.json", "utf8"));
    const exprs = dashboardExpressions(dashboard);
    assert.ok(exprs.length >= 15, `${exprs.length} expressions`);
    const named = new Set(exprs.flatMap(metricNames));
    const missing = [...named].filter((m) => !exposed.has(m) && !SYNTHESIZED.has(m));
    assert.deepEqual(missing, [], `unknown metrics in the dashboard: ${missing.join(", ")}`);
    assert.ok([...named].some((n) => n.startsWith("process_")) && [...named].some((n) => n.startsWith("mc_queue_")));
  });

  test("every metric of the Prometheus alert rules exists in /api/metrics", () => {
    const exprs = ruleExpressions(fs.readFileSync("docs/ops/prometheus-alerts.yml", "utf8"));
    assert.ok(exprs.length >= 8, `${exprs.length} rules`);
    const named = new Set(exprs.flatMap(metricNames));
    const missing = [...named].filter((m) => !exposed.has(m) && !SYNTHESIZED.has(m));
    assert.deepEqual(missing, [], `unknown metrics in the alert rules: ${missing.join(", ")}`);
  });
});
