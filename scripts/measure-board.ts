// Measures the live board against a running server (e.g. one started on a database seeded by scripts/seed-load.ts):
// how long the board takes to show a large fleet, how smooth it scrolls, and the time from an agent's heartbeat to its
// row changing (p50/p95), in real Chromium.
//
//   DATABASE_URL=… MC_URL=http://127.0.0.1:3399 MC_EMAIL=… MC_PASSWORD=… npx tsx scripts/measure-board.ts [--heartbeats 60]
//
// It gives a few online agents shown at the top of the board a fresh token (written to the database, as provisioning
// does) and sends their heartbeats through the agent API from the page, so both ends use the browser's clock.
import fs from "node:fs";
import { chromium } from "@playwright/test";
import { createPrisma } from "../server/db/prisma";
import { issueAgentToken } from "../server/agent-model/tokens";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const pct = (values: number[], p: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

async function main(): Promise<void> {
  const base = process.env.MC_URL ?? "http://127.0.0.1:3399";
  const dbUrl = process.env.DATABASE_URL;
  if (!dbUrl) throw new Error("Set DATABASE_URL (the server's database)");
  const n = arg("heartbeats", 60);
  const executablePath = process.env.PLAYWRIGHT_CHROMIUM_EXECUTABLE ?? (fs.existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined);
  const browser = await chromium.launch({ executablePath });
  const db = createPrisma(dbUrl, 2);
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    // tsx keeps function names with a `__name` helper that does not exist inside the page.
    await page.addInitScript({ content: "window.__name = (f) => f;" });
    await page.goto(`${base}/login`);
    await page.getByLabel(/email/i).fill(process.env.MC_EMAIL ?? "");
    await page.getByLabel(/password/i).fill(process.env.MC_PASSWORD ?? "");
    const t0 = Date.now();
    await page.getByRole("button", { name: /sign in/i }).click();
    await page.waitForSelector('[data-testid="agent-row"]', { timeout: 120_000 });
    const loadMs = Date.now() - t0;
    const countText = await page.getByTestId("agent-count").innerText();
    const rendered = await page.locator('[data-testid="agent-row"]').count();

    // Scroll and record frame times: like a mouse wheel (120 px per frame) and jumping through the whole list.
    const scroll = async (mode: "wheel" | "jump") =>
      page.evaluate(async (mode) => {
        const el = document.querySelector('[data-testid="agent-table-scroll"]') as HTMLElement;
        const deltas: number[] = [];
        const total = el.scrollHeight - el.clientHeight;
        el.scrollTop = 0;
        await new Promise((r) => requestAnimationFrame(r));
        let last = performance.now();
        for (let i = 1; i <= 120; i += 1) {
          el.scrollTop = mode === "wheel" ? i * 120 : (total * i) / 120;
          await new Promise((r) => requestAnimationFrame(r));
          const now = performance.now();
          deltas.push(now - last);
          last = now;
        }
        el.scrollTop = 0;
        return deltas;
      }, mode);
    const wheel = await scroll("wheel");
    const frames = await scroll("jump");

    // Tokens for online agents shown at the top.
    await page.waitForTimeout(500);
    const ids = await page.locator('[data-testid="agent-row"][data-status="online"]').evaluateAll((rows) => rows.slice(0, 5).map((r) => r.getAttribute("data-agent-id")!));
    const tokens: { id: string; token: string }[] = [];
    for (const id of ids) {
      const t = issueAgentToken(id);
      await db.agent.update({ where: { id }, data: { tokenHash: t.hash, tokenDelivered: true } });
      tokens.push({ id, token: t.token });
    }
    const samples = await page.evaluate(
      async ({ tokens, n }) => {
        const out: number[] = [];
        for (let i = 0; i < n; i += 1) {
          const { id, token } = tokens[i % tokens.length];
          const el = () => document.querySelector(`[data-testid="agent-row"][data-agent-id="${id}"]`);
          const before = el()?.getAttribute("data-last-seen");
          const t0 = performance.now();
          const changed = new Promise<number>((resolve) => {
            const check = () => {
              if (el()?.getAttribute("data-last-seen") !== before) return resolve(performance.now() - t0);
              if (performance.now() - t0 > 10_000) return resolve(NaN);
              requestAnimationFrame(check);
            };
            check();
          });
          const res = await fetch("/api/agent/heartbeat", { method: "POST", headers: { "x-agent-token": token } });
          if (!res.ok) throw new Error(`heartbeat answered ${res.status}`);
          out.push(await changed);
          await new Promise((r) => setTimeout(r, 150));
        }
        return out;
      },
      { tokens, n },
    );
    const ok = samples.filter((s) => Number.isFinite(s));
    await page.screenshot({ path: "e2e/screenshots/board-10k.png" });
    const report = {
      board: { agents: countText, rowsInDom: rendered, firstRowsAfterSignInMs: loadMs },
      wheelScroll: { frames: wheel.length, p50FrameMs: Math.round(pct(wheel, 50)), p95FrameMs: Math.round(pct(wheel, 95)), maxFrameMs: Math.round(Math.max(...wheel)) },
      jumpScroll: { frames: frames.length, p50FrameMs: Math.round(pct(frames, 50)), p95FrameMs: Math.round(pct(frames, 95)), maxFrameMs: Math.round(Math.max(...frames)) },
      heartbeatToRow: {
        n: samples.length,
        missed: samples.length - ok.length,
        p50Ms: Math.round(pct(ok, 50)),
        p95Ms: Math.round(pct(ok, 95)),
        maxMs: Math.round(Math.max(...ok)),
      },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await browser.close();
    await db.$disconnect();
  }
}

main().catch((err) => {
  process.stderr.write(`measure-board failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
