// `npm run bench:openclaw`: create → online on real OpenClaw gateways (every release of the interop matrix). Agents are
// created one after another through the lifecycle service; each is "played" as in the interop suite: as soon as it is
// woken, the test reads AGENTS.md from its workspace and checks in exactly as the file says. The figure is the time from
// agents.create to status online, i.e. provisioning over the gateway's WebSocket, the wake, and the check-in. Writes the
// "OpenClaw" section of bench/results.md (other sections are left as they are).
import fs from "node:fs";
import os from "node:os";
import { startHarness, waitFor } from "../test/support/harness";
import { OPENCLAW_TESTED_VERSIONS, startRealGateway } from "../test/interop/openclaw-runtime";
import { checkInInstructions, followCheckIn, readWorkspaceFile } from "../test/interop/agent-files";

const AGENTS = 10;
const SECTION = "## OpenClaw: create → online on a real gateway";

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

async function createToOnline(version: string) {
  const gw = await startRealGateway({ version });
  const h = await startHarness({ env: { CHECKIN_DEADLINE_SECONDS: "30", HEARTBEAT_INTERVAL_SECONDS: "60", GATEWAY_PROBE_SECONDS: "600" } });
  try {
    const gatewayId = await h.gateway({ driver: "openclaw", url: gw.url, token: gw.token, name: `bench-${version}` });
    const board = await h.app.db.board.create({ data: { name: "bench", gatewayId } });
    const times: number[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const started = performance.now();
      const agent = await h.app.lifecycle.createAgent({ gatewayId, boardId: board.id, name: `worker-${i}`, kind: "board_worker" }, "bench");
      await waitFor(async () => (await h.app.db.agent.findUniqueOrThrow({ where: { id: agent.id } })).status === "waking" || null, 60_000, "woken");
      const instructions = checkInInstructions(readWorkspaceFile(gw.workspaceOf(`mc-${agent.id}`), "AGENTS.md") ?? "");
      if (!instructions) throw new Error(`no check-in instructions for ${agent.id}`);
      const answer = await followCheckIn(instructions);
      if (answer.status !== 200) throw new Error(`check-in answered ${answer.status}`);
      await waitFor(async () => (await h.app.db.agent.findUniqueOrThrow({ where: { id: agent.id } })).status === "online" || null, 10_000, "online");
      times.push(performance.now() - started);
    }
    return { version, p50: percentile(times, 50), p90: percentile(times, 90), max: Math.max(...times) };
  } finally {
    await h.stop();
    await gw.stop();
  }
}

async function main() {
  const rows = [];
  for (const version of OPENCLAW_TESTED_VERSIONS) {
    const r = await createToOnline(version);
    console.log(`OpenClaw ${r.version}: create → online p50 ${r.p50.toFixed(0)} ms, p90 ${r.p90.toFixed(0)} ms, max ${r.max.toFixed(0)} ms`);
    rows.push(r);
  }
  const section = [
    SECTION,
    "",
    `Measured ${new Date().toISOString()} on ${os.cpus().length} cores, Node ${process.version}. Run with \`npm run bench:openclaw\`.`,
    `${AGENTS} agents created one after another on a real gateway on loopback (scratch state, bundled plugins off as in the`,
    "interop suite); each checks in as soon as it is woken by following its AGENTS.md.",
    "",
    "| OpenClaw | p50 | p90 | max |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.version} | ${r.p50.toFixed(0)} ms | ${r.p90.toFixed(0)} ms | ${r.max.toFixed(0)} ms |`),
    "",
  ].join("\n");
  const file = "bench/results.md";
  const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n";
  // Sections start with "## "; this one is replaced, the others stay.
  const sections = current.trimEnd().split(/\n(?=## )/).filter((s) => !s.startsWith(SECTION));
  fs.writeFileSync(file, `${[...sections, section.trimEnd()].join("\n\n")}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
