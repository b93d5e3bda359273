// The board on a seeded fleet of a few thousand agents, on its own server and database (the shared e2e server keeps
// its 12-agent demo fleet): pages load as the operator scrolls, filters and counts are the server's, a heartbeat
// reaches a visible row.
import { expect, test, type Page } from "@playwright/test";
import pg from "pg";
import { OWN_ADMIN, startOwnServer, type OwnServer } from "./own-server";
import { seedFleetSql } from "../scripts/seed-fleet-sql";
import { issueAgentToken } from "../server/agent-model/tokens";

const AGENTS = 3000;
let server: OwnServer;
let first: { id: string; token: string };

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: server.databaseUrl });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

test.beforeAll(async () => {
  test.setTimeout(180_000);
  server = await startOwnServer(async (url) => {
      await seedFleetSql(url, { agents: AGENTS, gateways: 10, boardsPerGateway: 5 });
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      // Settled agents only: nothing the server's lifecycle would change while the test counts.
      await c.query(`UPDATE "Agent" SET status = 'offline', "checkinDeadlineAt" = NULL, "wakeAttempts" = 3 WHERE status NOT IN ('online', 'offline')`);
      // The board's first row (group order) gets a token, so the test can heartbeat as that agent.
      const { rows } = await c.query<{ id: string }>(`SELECT id::text FROM "Agent" ORDER BY "gatewayId", "boardId", kind, name, id LIMIT 1`);
      const issued = issueAgentToken(rows[0].id);
      await c.query(`UPDATE "Agent" SET "tokenHash" = $1 WHERE id = $2`, [issued.hash, rows[0].id]);
      await c.end();
      first = { id: rows[0].id, token: issued.token };
  });
});

test.afterAll(async () => {
  await server?.stop();
});

// Signs in itself (not the setup project's saved session).
test.use({ storageState: { cookies: [], origins: [] } });

async function signIn(page: Page) {
  await page.goto(`${server.baseUrl}/`);
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel(/email/i).fill(OWN_ADMIN.email);
  await page.getByLabel(/password/i).fill(OWN_ADMIN.password);
  await page.getByRole("button", { name: /sign in/i }).click();
  await expect(page.locator('[data-testid="agent-row"]').first()).toBeVisible();
}

const rowCount = (page: Page) => page.getByRole("table", { name: "Agents" }).getAttribute("aria-rowcount").then(Number);

test("scrolling loads the next pages from the server; filters, search and counts are the server's", async ({ page }) => {
  await signIn(page);
  await expect(page.getByTestId("agent-count")).toHaveText(`${AGENTS} of ${AGENTS} agents`);
  const firstPage = await rowCount(page);
  expect(firstPage).toBeLessThan(300); // one page of 200 agents and its group headers, not the fleet

  // Scroll to the end of what is loaded until well past the first page.
  const scroller = page.getByTestId("agent-table-scroll");
  for (let i = 0; i < 10 && (await rowCount(page)) < 700; i++) {
    await scroller.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await expect.poll(() => rowCount(page)).toBeGreaterThan(firstPage + i * 150);
  }
  expect(await rowCount(page)).toBeGreaterThan(700);
  const names = await page.locator('[data-testid="agent-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-agent-name")));
  expect(names.length).toBeGreaterThan(0);
  expect(names.length).toBeLessThan(200); // virtualised: only what is on screen is in the DOM

  // A status filter: the count is the database's, and every row shown has that status.
  const [{ n: offline }] = await query<{ n: number }>(`SELECT count(*)::int AS n FROM "Agent" WHERE status = 'offline'`);
  expect(offline).toBeGreaterThan(200);
  await page.locator('[data-testid="status-count"][data-status="offline"]').click();
  await expect(page).toHaveURL(/status=offline/);
  await expect(page.locator('[data-testid="status-count"][data-status="offline"]')).toHaveAttribute("data-count", String(offline));
  await expect(page.getByTestId("agent-count")).toHaveText(`${offline} of ${AGENTS} agents`);
  // The filtered list starts at the top, wherever the operator had scrolled to.
  await expect.poll(() => scroller.evaluate((el) => el.scrollTop)).toBe(0);
  await expect(page.locator('[data-testid="agent-row"]').first()).toBeVisible();
  const statuses = await page.locator('[data-testid="agent-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-status")));
  expect(new Set(statuses)).toEqual(new Set(["offline"]));

  // Search by name, server-side, with the status filter still on.
  await page.getByTestId("status-count-all").click();
  await page.locator("#agent-search").fill("board-003-agent-000001");
  await expect(page).toHaveURL(/q=board-003-agent-000001/);
  await expect(page.getByTestId("agent-count")).toHaveText(`10 of ${AGENTS} agents`);
  await expect(page.locator('[data-testid="agent-row"]')).toHaveCount(10);

  // Sort by name, descending, from the column header: the server's order.
  await page.locator("#agent-search").fill("");
  await page.locator('[data-testid="sort-header"][data-sort="name"]').click();
  await page.locator('[data-testid="sort-header"][data-sort="name"]').click();
  await expect(page).toHaveURL(/sort=name&dir=desc/);
  const [{ name: last }] = await query<{ name: string }>(`SELECT name FROM "Agent" ORDER BY name DESC, id DESC LIMIT 1`);
  await expect(page.locator('[data-testid="agent-row"]').first()).toHaveAttribute("data-agent-name", last);
});

test("a heartbeat reaches its visible row on a large board", async ({ page }) => {
  await signIn(page);
  const target = page.locator(`[data-testid="agent-row"][data-agent-id="${first.id}"]`);
  await expect(target).toBeVisible();
  const before = await target.getAttribute("data-last-seen");
  const res = await fetch(`${server.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": first.token } });
  expect(res.ok).toBe(true);
  await expect(target).not.toHaveAttribute("data-last-seen", before ?? "", { timeout: 5_000 });
  await expect(page.getByTestId("agent-count")).toHaveText(`${AGENTS} of ${AGENTS} agents`);
});
