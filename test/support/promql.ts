// Just enough PromQL and Prometheus text format to check that the ops docs name metrics that exist.

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"]);

/** The metric names an expression selects (functions, keywords, labels, durations and Grafana variables left out). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{?\w+\}?/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = stripped.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function call
    const before = stripped.slice(0, m.index);
    if (/\d$/.test(before)) continue; // the exponent or unit of a number
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** `expr:` values of a Prometheus rule file (single line or `|` / `>` blocks). */
export function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    const value = m[2].trim();
    if (value && !/^[|>]-?$/.test(value)) {
      out.push(value);
      continue;
    }
    const indent = m[1].length;
    const block: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1].trim() === "" || lines[i + 1].search(/\S/) > indent)) block.push(lines[++i].trim());
    out.push(block.join(" ").trim());
  }
  return out;
}

/** Every `expr` in a Grafana dashboard (panels, rows, nested panels). */
export function dashboardExpressions(dashboard: unknown): string[] {
  const out: string[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "expr" && typeof x === "string") out.push(x);
        else visit(x);
      }
    }
  };
  visit(dashboard);
  return out;
}

/** Series names a scrape can contain, from its `# TYPE` lines (histograms: _bucket, _sum, _count). */
export function exposedSeries(text: string): { families: Map<string, string>; series: Set<string> } {
  const families = new Map<string, string>();
  const series = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (!m) continue;
    const [, name, type] = m;
    families.set(name, type);
    if (type === "histogram") ["_bucket", "_sum", "_count"].forEach((s) => series.add(name + s));
    else if (type === "summary") ["", "_sum", "_count"].forEach((s) => series.add(name + s));
    else series.add(name);
  }
  return { families, series };
}

/** Sample lines of a family, as [labels, value]. */
export function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[4]) });
  }
  return out;
}
