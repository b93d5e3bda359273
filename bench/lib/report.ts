// The shape every benchmark returns, and bench/results.md built from them.
import os from "node:os";

export interface Figure {
  /** What was measured, e.g. "heartbeats/s at 32 clients". */
  name: string;
  measured: string;
  goal: string;
  /** The raw-database figure of the same run, where the goal is a ratio to it. */
  baseline?: string;
  /** Whether the goal was met; null when the figure has no goal of its own. */
  met: boolean | null;
}

export interface Section {
  title: string;
  /** How it was measured: fleet size, concurrency, where the load ran. */
  setup: string;
  figures: Figure[];
  notes?: string[];
}

export function renderResults(sections: readonly Section[], startedAt: Date): string {
  const cpu = os.cpus();
  const lines = [
    "# Benchmarks",
    "",
    `Measured ${startedAt.toISOString()} on ${cpu.length} cores (${cpu[0]?.model?.trim() ?? "cpu"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB,`,
    `Node ${process.version}, PostgreSQL on the same machine. Run with \`npm run bench\` (one section: \`npm run bench -- <name>\`).`,
    "The server runs as its own process (the production build, `dist/server.cjs`); the load runs in the bench process.",
    "",
  ];
  for (const s of sections) {
    lines.push(`## ${s.title}`, "", s.setup, "", "| figure | measured | goal | raw database, same run | met |", "|---|---|---|---|---|");
    for (const f of s.figures) {
      lines.push(`| ${f.name} | ${f.measured} | ${f.goal} | ${f.baseline ?? ""} | ${f.met === null ? "" : f.met ? "yes" : "**no**"} |`);
    }
    if (s.notes?.length) lines.push("", ...s.notes.map((n) => `- ${n}`));
    lines.push("");
  }
  return lines.join("\n");
}
