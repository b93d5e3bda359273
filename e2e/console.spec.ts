// End to end in Chromium against `npm start`'s server on a fresh database with the demo fleet (3 s deadline).
import { expect, test, type Page } from "@playwright/test";
import { E2E_ADMIN } from "./credentials";

async function signIn(page: Page) {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel(/email/i).fill(E2E_ADMIN.email);
  await page.getByLabel(/password/i).fill(E2E_ADMIN.password);
  await page.getByRole("button", { name: /sign in/i }).click();
  await expect(page).toHaveURL(/\/$/);
}

const row = (page: Page, name: string) => page.locator(`[data-testid="agent-row"][data-agent-name="${name}"]`);

test("the board shows the demo fleet converging live: online and offline without reload", async ({ page }) => {
  await signIn(page);
  await expect(page.locator('[data-testid="agent-row"]')).toHaveCount(12);
  let reloads = 0;
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) reloads += 1;
  });
  // Healthy agents check in after their first wake; the silent one is offline after 3 wakes × 3 s.
  await expect(row(page, "scout")).toHaveAttribute("data-status", "online", { timeout: 20_000 });
  await expect(row(page, "archivist")).toHaveAttribute("data-status", "offline", { timeout: 30_000 });
  await expect(row(page, "archivist").getByTestId("last-error")).toContainText("No check-in after 3 wakes");
  await expect(row(page, "analyst")).toHaveAttribute("data-status", "online", { timeout: 30_000 });
  expect(reloads).toBe(0);
  await page.screenshot({ path: "e2e/screenshots/board.png", fullPage: true });
});

test("Reprovision on an offline agent starts a new cycle that is visibly cycling again", async ({ page }) => {
  await signIn(page);
  await expect(row(page, "archivist")).toHaveAttribute("data-status", "offline", { timeout: 30_000 });
  await row(page, "archivist").getByRole("link", { name: "archivist" }).click();
  await expect(page).toHaveURL(/\/agents\//);
  const detail = page.getByTestId("agent-detail");
  await expect(detail).toHaveAttribute("data-status", "offline");
  const generation = Number(await page.getByTestId("field-lifecycleGeneration").innerText().then((t) => t.replace(/\D+/g, "")));
  await page.getByRole("button", { name: "Reprovision" }).click();
  await page.getByTestId("confirm-dialog").getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByTestId("action-result")).toContainText(`Reprovision started: cycle ${generation + 1}`);
  // The new cycle wakes again (fresh attempts), live on this page, and ends offline again after 3 new wakes.
  await expect(detail).toHaveAttribute("data-status", "waking", { timeout: 10_000 });
  await expect(page.locator(`[data-testid="wake-attempt"][data-generation="${generation + 1}"]`)).toHaveCount(2, { timeout: 15_000 });
  await expect(detail).toHaveAttribute("data-status", "offline", { timeout: 30_000 });
  await expect(page.locator(`[data-testid="wake-attempt"][data-generation="${generation + 1}"]`)).toHaveCount(3);
  await page.screenshot({ path: "e2e/screenshots/agent.png", fullPage: true });
});
