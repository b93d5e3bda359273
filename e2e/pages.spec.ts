// Fleet timeline and System pages, keyboard navigation, and the "no worker" state (against a second server started by
// e2e/serve.ts with MC_WORKER=0 on its own database).
import { expect, test } from "@playwright/test";
import { openBoard, row, signIn, trpc } from "./helpers";

test("fleet timeline: one row per agent coloured by status, window in the URL, time-to-converge per gateway", async ({ page }) => {
  await openBoard(page);
  await expect(row(page, "scout")).toHaveAttribute("data-status", "online", { timeout: 20_000 });
  await page.keyboard.press("g");
  await page.keyboard.press("t");
  await expect(page).toHaveURL(/\/timeline/);
  await expect(page).toHaveTitle(/Fleet timeline · Mission Control/);
  const agents = await trpc<unknown[]>(page.request, "agents.list", {}, "query");
  await expect(page.getByTestId("timeline-row")).toHaveCount(agents.length, { timeout: 15_000 });
  const scout = page.locator('[data-testid="timeline-row"][data-agent-name="scout"]');
  await expect(scout.locator('[data-testid="state-segment"][data-status="online"]').first()).toBeAttached();
  await expect(scout.locator('[data-testid="state-segment"][data-status="waking"]').first()).toBeAttached();
  const converge = page.locator('[data-testid="converge-row"][data-gateway-name="demo-simulator"]');
  await expect(converge).toBeVisible();
  await expect(converge.getByTestId("p50")).not.toHaveText("—");
  await expect(converge.getByTestId("p95")).not.toHaveText("—");
  await page.screenshot({ path: "e2e/screenshots/timeline.png" });

  await page.getByTestId("window-15m").click();
  await expect(page).toHaveURL(/window=15m/);
  await expect(page.getByTestId("window-15m")).toHaveAttribute("aria-pressed", "true");
  await page.reload();
  await expect(page.getByTestId("window-15m")).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("timeline-row")).toHaveCount(agents.length);
});

test("system page shows the worker alive with its last beat, queues and failed jobs", async ({ page }) => {
  await openBoard(page);
  await page.keyboard.press("g");
  await page.keyboard.press("s");
  await expect(page).toHaveURL(/\/system$/);
  await expect(page).toHaveTitle(/System · Mission Control/);
  await expect(page.getByTestId("workers-alive")).toContainText("1");
  const worker = page.getByTestId("worker-row").first();
  await expect(worker).toHaveAttribute("data-alive", "true");
  await expect(worker.getByTestId("worker-last-beat")).toContainText(/ago|just now/);
  await expect(page.locator('[data-testid="queue-row"][data-queue="lifecycle.reconcile"]')).toBeVisible();
  await expect(page.getByTestId("reconcile-lag")).toBeVisible();
  await expect(page.getByTestId("no-failed-jobs").or(page.getByTestId("failed-jobs"))).toBeVisible();
  await expect(page.getByTestId("worker-banner")).toHaveCount(0);
  // Admin-only links are shown to the admin.
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Operators" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tokens" })).toBeVisible();
  await page.screenshot({ path: "e2e/screenshots/system.png", fullPage: true });
});

test("no queue worker: every page says lifecycle is paused, and Diagnose names 'no worker'", async ({ page, baseURL }) => {
  const paused = baseURL!.replace(/:(\d+)$/, (_, p) => `:${Number(process.env.E2E_PAUSED_PORT ?? Number(p) + 1)}`);
  await expect
    .poll(async () => (await page.request.get(`${paused}/api/healthz`).catch(() => null))?.ok() ?? false, { timeout: 120_000, intervals: [500] })
    .toBe(true);
  // The setup project's session belongs to the main server; sign in to this one afresh.
  await page.context().clearCookies();
  await signIn(page, paused);
  const banner = page.getByTestId("worker-banner");
  await expect(banner).toContainText("Lifecycle paused: no queue worker is running");
  await expect(banner).toContainText("npm run worker");
  await page.screenshot({ path: "e2e/screenshots/no-worker-board.png" });
  for (const path of ["/gateways", "/timeline", "/system"]) {
    await page.goto(`${paused}${path}`);
    await expect(page.getByTestId("worker-banner")).toBeVisible();
  }
  await expect(page.getByTestId("workers-alive")).toContainText("0");
  await page.screenshot({ path: "e2e/screenshots/no-worker-system.png", fullPage: true });

  // The silent agent's deadline passes and nothing reconciles it: Diagnose says why.
  await page.goto(`${paused}/`);
  await row(page, "archivist").getByRole("link", { name: "archivist" }).click();
  const verdict = page.getByTestId("diagnose-verdict");
  await expect(verdict).toHaveAttribute("data-cause", "no_worker");
  await expect(verdict).toContainText("No queue worker is running");
  await expect(page.locator('[data-check="worker"]')).toHaveAttribute("data-state", "fail");
  await page.screenshot({ path: "e2e/screenshots/no-worker-agent.png", fullPage: true });
});

test("dark mode follows the system, and the console works on a narrow screen", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "dark" });
  await openBoard(page);
  await expect(row(page, "scout")).toBeVisible();
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(bg).not.toBe("rgb(250, 250, 250)");
  await page.screenshot({ path: "e2e/screenshots/board-dark.png" });
  await page.goto("/system");
  await expect(page.getByTestId("workers-alive")).toBeVisible();
  await page.screenshot({ path: "e2e/screenshots/system-dark.png" });

  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/gateways");
  await expect(page.getByRole("heading", { name: "Gateways" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Board" })).toBeVisible();
  await page.screenshot({ path: "e2e/screenshots/gateways-mobile.png" });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Board" }).click();
  await expect(row(page, "scout")).toBeAttached();
  await page.screenshot({ path: "e2e/screenshots/board-mobile.png" });
});
