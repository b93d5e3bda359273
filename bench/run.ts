// `npm run bench [-- name …]`: runs the fleet-scale benchmarks one after another (never two heavy things at once on
// this 2-core machine) and writes bench/results.md. Each benchmark starts the server as its own process on a fresh
// database and drives it over HTTP and Socket.IO from here; ratios compare figures measured side by side in one run.
// The OpenClaw create → online figure is kept from `npm run bench:openclaw` (it needs the real gateways).
import fs from "node:fs";
import { renderResults, type Section } from "./lib/report";

const BENCHES = ["heartbeat", "churn", "reconcile", "bulk", "board"] as const;
type BenchName = (typeof BENCHES)[number];

async function main() {
  const asked = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const unknown = asked.filter((a) => !BENCHES.includes(a as BenchName));
  if (unknown.length) throw new Error(`unknown benchmark(s): ${unknown.join(", ")}; choose from ${BENCHES.join(", ")}`);
  const names = (asked.length ? asked : BENCHES) as BenchName[];
  const startedAt = new Date();
  const sections: Section[] = [];
  for (const name of names) {
    process.stderr.write(`bench: ${name}…\n`);
    const mod = (await import(`./${name}.ts`)) as { default: () => Promise<Section> };
    const section = await mod.default();
    sections.push(section);
    process.stdout.write(renderResults([section], startedAt) + "\n");
  }
  const target = asked.length ? `bench/results.${names.join("+")}.md` : "bench/results.md";
  let md = renderResults(sections, startedAt);
  const previous = fs.existsSync("bench/results.md") ? fs.readFileSync("bench/results.md", "utf8") : "";
  const openclaw = previous.indexOf("## OpenClaw");
  if (!asked.length && openclaw >= 0) md += "\n" + previous.slice(openclaw);
  fs.writeFileSync(target, md);
  process.stderr.write(`bench: wrote ${target}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
