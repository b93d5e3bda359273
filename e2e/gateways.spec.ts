// Gateways pages: create/edit form (write-only token), probe, a dead gateway and what Diagnose says about it,
// Sync templates with live per-agent progress and history.
import { spawn, type ChildProcess } from "node:child_process";
import { expect, test } from "@playwright/test";
import { deleteGateway, openBoard, trpc } from "./helpers";

test("an HTTP gateway added from the form: its agents converge through the example gateway", async ({ page }) => {
  // The example runtime from docs/gateway-http.md, started exactly as its documentation says.
  const port = 4556;
  const token = "e2e-example-gateway-token";
  const gateway: ChildProcess = spawn(process.execPath, ["--import", "tsx", "examples/http-gateway.ts", "--port", String(port), "--token", token], {
    stdio: "ignore",
  });
  try {
    await expect
      .poll(async () => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 0), { timeout: 20_000 })
      .not.toBe(0);
    await openBoard(page);
    await page.getByRole("link", { name: "Gateways", exact: true }).click();
    await page.getByRole("button", { name: "Add gateway" }).click();
    const form = page.getByTestId("gateway-form");
    await form.getByLabel("Name").fill("example-http");
    await form.getByLabel("Driver").selectOption("http");
    await form.getByLabel("URL").fill(`http://127.0.0.1:${port}`);
    await form.getByLabel("Token", { exact: true }).fill(token);
    await form.getByRole("button", { name: "Create gateway" }).click();
    await expect(page).toHaveURL(/\/gateways\/[0-9a-f-]{36}$/);
    const gatewayId = page.url().split("/").at(-1)!;
    // A board brings a board lead: two agents provisioned over HTTP, woken, checking in with their own tokens.
    await trpc(page.request, "boards.create", { name: "Example", gatewayId });
    const rows = page.locator('[data-testid="agent-row"]');
    await expect(rows).toHaveCount(2, { timeout: 15_000 });
    for (const name of ["main", "Example lead"]) {
      await expect(page.locator(`[data-testid="agent-row"][data-agent-name="${name}"]`)).toHaveAttribute("data-status", "online", { timeout: 20_000 });
    }
    await expect(page.getByTestId("gateway-detail")).toHaveAttribute("data-status", "reachable", { timeout: 40_000 });
    await page.screenshot({ path: "e2e/screenshots/gateway-http.png", fullPage: true });
    await deleteGateway(page.request, gatewayId);
  } finally {
    gateway.kill("SIGTERM");
  }
});

test("a dead gateway: added from the form, shown unreachable, and Diagnose says 'gateway unreachable'", async ({ page }) => {
  await openBoard(page);
  await page.getByRole("link", { name: "Gateways", exact: true }).click();
  await expect(page).toHaveURL(/\/gateways$/);
  await expect(page).toHaveTitle(/Gateways · Mission Control/);
  await expect(page.locator('[data-testid="gateway-row"][data-gateway-name="demo-simulator"]')).toBeVisible();
  await page.screenshot({ path: "e2e/screenshots/gateways.png", fullPage: true });

  await page.getByRole("button", { name: "Add gateway" }).click();
  const form = page.getByTestId("gateway-form");
  await form.getByLabel("Name").fill("dead-gw");
  await form.getByLabel("Driver").selectOption("http");
  await form.getByLabel("URL").fill("http://127.0.0.1:9/");
  await form.getByLabel("Token", { exact: true }).fill("super-secret-gateway-token");
  await form.getByRole("button", { name: "Create gateway" }).click();
  await expect(page).toHaveURL(/\/gateways\/[0-9a-f-]{36}$/);
  const detail = page.getByTestId("gateway-detail");
  await expect(detail).toBeVisible();
  // The token is write-only: never on the page.
  await expect(page.locator("body")).not.toContainText("super-secret-gateway-token");
  await expect(detail).toContainText("set (write-only)");

  await page.getByRole("button", { name: "Probe now" }).click();
  await expect(detail).toHaveAttribute("data-status", "unreachable", { timeout: 20_000 });
  await expect(page.getByTestId("action-result")).toContainText("unreachable");

  // Edit keeps the token unless a new one is typed.
  await page.getByRole("button", { name: "Edit" }).click();
  await expect(page.getByTestId("gateway-form").getByLabel("Token", { exact: true })).toHaveValue("");
  await page.getByTestId("gateway-form").getByLabel("Max wake attempts").fill("2");
  await page.getByRole("button", { name: "Save gateway" }).click();
  await expect(page.getByTestId("action-result")).toContainText("Gateway saved");
  await expect(detail).toContainText("set (write-only)");
  await page.screenshot({ path: "e2e/screenshots/gateway-dead.png", fullPage: true });

  // Its main agent: wakes cannot reach it, and Diagnose says so (not "agent did not check in").
  await page.locator('[data-testid="agent-row"][data-agent-name="main"]').getByRole("link", { name: "main" }).click();
  await expect(page).toHaveURL(/\/agents\//);
  await expect(page.getByTestId("diagnose-verdict")).toHaveAttribute("data-cause", "gateway_unreachable", { timeout: 30_000 });
  await expect(page.getByTestId("diagnose-verdict")).toContainText("unreachable");
  await expect(page.locator('[data-check="gateway"]')).toHaveAttribute("data-state", "fail");
  await expect(page.getByTestId("agent-problem")).toHaveAttribute("data-error-kind", "gateway_unreachable", { timeout: 30_000 });
  await page.screenshot({ path: "e2e/screenshots/agent-dead-gateway.png", fullPage: true });

  const gw = (await trpc<{ id: string; name: string }[]>(page.request, "gateways.list", undefined, "query")).find((g) => g.name === "dead-gw")!;
  await deleteGateway(page.request, gw.id);
});

test("Sync templates shows live per-agent progress and lands in the sync history", async ({ page }) => {
  await openBoard(page);
  await page.goto("/gateways");
  await page.getByRole("link", { name: "demo-simulator" }).click();
  const detail = page.getByTestId("gateway-detail");
  await expect(detail).toBeVisible();
  await page.getByRole("button", { name: "Sync templates" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("Sync templates to demo-simulator?");
  await dialog.getByRole("button", { name: "Confirm" }).click();
  const progress = page.getByTestId("sync-progress");
  await expect(progress).toBeVisible({ timeout: 15_000 });
  await expect(progress).toHaveAttribute("data-final", "true", { timeout: 40_000 });
  const total = Number(await progress.getAttribute("data-total"));
  expect(total).toBeGreaterThanOrEqual(12);
  await expect(progress).toHaveAttribute("data-done", String(total));
  await expect(page.getByTestId("sync-run").first()).toHaveAttribute("data-status", /succeeded|failed/, { timeout: 15_000 });
  await expect(page.getByTestId("sync-history")).toContainText(`/${total} ok`);
  await page.screenshot({ path: "e2e/screenshots/gateway.png", fullPage: true });
});
