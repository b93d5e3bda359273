// Goal 2: the board at 10,000 and 100,000 agents. For each size the server (production build, web console on) runs on
// a fresh database seeded with set-based SQL (scripts/seed-fleet-sql.ts); from this process: the first page's size on
// the wire, Chromium (driven by Playwright) from submitting the sign-in form to the first table row on screen, a
// heartbeat reaching its visible row, and the server's RSS after all that.
import { chromium, type Browser } from "@playwright/test";
import pg from "pg";
import { BENCH_TOKEN, startServer, type ServerUnderTest } from "./lib/server";
import { bytes, ms, percentile } from "./lib/stats";
import type { Figure, Section } from "./lib/report";
import { seedFleetSql } from "../scripts/seed-fleet-sql";
import { encodeCall } from "../test/support/trpc-wire";
import { issueAgentToken } from "../server/agent-model/tokens";

const SIZES = [10_000, 100_000];
const SIGN_INS = 4; // the first is cold (a browser with an empty cache), the others warm
const LIVE_SAMPLES = 15;
const EXECUTABLE = process.env.PLAYWRIGHT_CHROMIUM_EXECUTABLE ?? "/usr/bin/chromium";

interface Run {
  agents: number;
  seedMs: number;
  firstPageBytes: number;
  firstPageRows: number;
  firstPageMs: number;
  signIns: number[];
  live: number[];
  rssMb: number;
}

async function seed(url: string, agents: number): Promise<{ id: string; token: string }> {
  await seedFleetSql(url, { agents, gateways: 10, boardsPerGateway: agents >= 50_000 ? 50 : 20 });
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // The board's first row (its default order) gets a token: the live figure heartbeats as that agent.
    const { rows } = await c.query<{ id: string }>(`SELECT id::text FROM "Agent" ORDER BY "gatewayId", "boardId", kind, name, id LIMIT 1`);
    const issued = issueAgentToken(rows[0].id);
    await c.query(`UPDATE "Agent" SET "tokenHash" = $1 WHERE id = $2`, [issued.hash, rows[0].id]);
    return { id: rows[0].id, token: issued.token };
  } finally {
    await c.end();
  }
}

async function firstPage(server: ServerUnderTest): Promise<{ bytes: number; rows: number; ms: number }> {
  const { path } = encodeCall("agents.page", { sort: "group", dir: "asc", limit: 200 }, "query");
  let best = Infinity;
  let body = "";
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const res = await fetch(`${server.baseUrl}${path}`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` } });
    body = await res.text();
    best = Math.min(best, performance.now() - t0);
    if (!res.ok) throw new Error(`agents.page: ${res.status} ${body.slice(0, 200)}`);
  }
  const parsed = JSON.parse(body) as { result: { data: { json: { rows: { rows: unknown[] } } } } };
  return { bytes: Buffer.byteLength(body), rows: parsed.result.data.json.rows.rows.length, ms: best };
}

/** Fresh browser context (no cookies) → login page → submit → first agent row visible, in ms. */
async function signIn(browser: Browser, server: ServerUnderTest) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${server.baseUrl}/login`);
  await page.getByLabel(/email/i).fill("bench@example.com");
  await page.getByLabel(/password/i).fill("bench-password-1");
  const t0 = performance.now();
  await page.getByRole("button", { name: /sign in/i }).click();
  await page.locator('[data-testid="agent-row"]').first().waitFor({ state: "visible", timeout: 60_000 });
  return { ms: performance.now() - t0, page, context };
}

async function measure(agents: number, browser: Browser): Promise<Run> {
  let target: { id: string; token: string } | undefined;
  let seedMs = 0;
  const server = await startServer({
    console: true,
    seed: async (url) => {
      const seedStart = performance.now();
      target = await seed(url, agents);
      seedMs = performance.now() - seedStart;
    },
  });
  try {
    const page1 = await firstPage(server);
    const signIns: number[] = [];
    let last: Awaited<ReturnType<typeof signIn>> | undefined;
    for (let i = 0; i < SIGN_INS; i++) {
      await last?.context.close();
      last = await signIn(browser, server);
      signIns.push(last.ms);
    }
    // Live: heartbeat as the first row's agent, time until its row's last-seen changes on screen.
    const page = last!.page;
    const live: number[] = [];
    for (let i = 0; i < LIVE_SAMPLES; i++) {
      const sel = `[data-testid="agent-row"][data-agent-id="${target!.id}"]`;
      const before = await page.locator(sel).getAttribute("data-last-seen");
      const t0 = performance.now();
      const res = await fetch(`${server.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": target!.token } });
      if (!res.ok) throw new Error(`heartbeat: ${res.status}`);
      await page.waitForFunction(
        ([s, b]) => document.querySelector(s)?.getAttribute("data-last-seen") !== b,
        [sel, before] as const,
        { timeout: 10_000, polling: "raf" },
      );
      live.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 150));
    }
    // Scroll a few pages in, as an operator would, before reading the server's memory.
    const scroller = page.getByTestId("agent-table-scroll");
    for (let i = 0; i < 5; i++) {
      await scroller.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
      await page.waitForTimeout(300);
    }
    await last?.context.close();
    return { agents, seedMs, firstPageBytes: page1.bytes, firstPageRows: page1.rows, firstPageMs: page1.ms, signIns, live, rssMb: server.rssMb() };
  } finally {
    await server.stop();
  }
}

export default async function board(): Promise<Section> {
  const browser = await chromium.launch({ executablePath: EXECUTABLE });
  const runs: Run[] = [];
  try {
    for (const n of SIZES) {
      process.stderr.write(`bench board: ${n.toLocaleString("en-US")} agents…\n`);
      runs.push(await measure(n, browser));
    }
  } finally {
    await browser.close();
  }
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const r of runs) {
    const n = r.agents.toLocaleString("en-US");
    const perAgent = r.firstPageBytes / r.firstPageRows;
    const warm = r.signIns.slice(1);
    const goal = r.agents >= 100_000 ? 2000 : 1000;
    figures.push(
      { name: `${n}: first page on the wire, per agent`, measured: `${Math.round(perAgent)} B (${bytes(r.firstPageBytes)} for ${r.firstPageRows} rows, ${ms(r.firstPageMs)})`, goal: "≤ 200 B", met: perAgent <= 200 },
      {
        name: `${n}: sign-in submitted → first row visible`,
        measured: `${ms(percentile(warm, 50))} (cold browser ${ms(r.signIns[0])}, worst warm ${ms(Math.max(...warm))})`,
        goal: `< ${goal / 1000} s`,
        met: Math.max(...r.signIns) < goal,
      },
      { name: `${n}: heartbeat → visible row changed`, measured: `p50 ${ms(percentile(r.live, 50))}, p95 ${ms(percentile(r.live, 95))}`, goal: "live", met: null },
      { name: `${n}: server RSS after loading`, measured: `${Math.round(r.rssMb)} MB`, goal: "< 500 MB", met: r.rssMb < 500 },
    );
    notes.push(`${n} agents seeded in ${ms(r.seedMs)} (set-based SQL, indexes and ANALYZE included).`);
  }
  return {
    title: "Board at scale",
    setup:
      "Fleets of 10,000 and 100,000 agents (10 gateways, 20 / 50 boards each) seeded with SQL into a fresh database; the production build serves the console. " +
      `Chromium (${EXECUTABLE}) driven by Playwright from the bench process signs in ${SIGN_INS} times per size (fresh context each; the first with a cold cache) and times from submitting the form to the first agent row visible. ` +
      `The live figure sends ${LIVE_SAMPLES} heartbeats as the first row's agent and waits for that row's last-seen to change on screen.`,
    figures,
    notes,
  };
}
