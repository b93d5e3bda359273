// A real OpenClaw gateway driven from the console, for every release of the interop matrix: add it from the form, see it
// reachable with its version, watch its main agent get provisioned, play the agent by following the files the gateway
// wrote into its workspace, sync templates, rotate the token, and delete the agent.
import fs from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { openBoard, trpc } from "./helpers";
import { OPENCLAW_TESTED_VERSIONS, startRealGateway, type RealGateway } from "../test/interop/openclaw-runtime";
import { checkInInstructions, followCheckIn, readWorkspaceFile } from "../test/interop/agent-files";

for (const version of OPENCLAW_TESTED_VERSIONS) {
  test.describe(`real OpenClaw ${version}`, () => {
    let gw: RealGateway;
    test.beforeAll(async () => {
      test.setTimeout(300_000);
      gw = await startRealGateway({ version });
    });
    test.afterAll(async () => {
      await gw?.stop();
    });

    test(`added from the console: reachable, its agent checks in by following its files, sync, rotate, delete (${version})`, async ({ page }) => {
      test.setTimeout(180_000);
      await openBoard(page);
      await page.getByRole("link", { name: "Gateways", exact: true }).click();
      await page.getByRole("button", { name: "Add gateway" }).click();
      const form = page.getByTestId("gateway-form");
      await form.getByLabel("Name").fill(`openclaw-${version}`);
      await form.getByLabel("Driver").selectOption("openclaw");
      await form.getByLabel("URL").fill(gw.url);
      await form.getByLabel("Token", { exact: true }).fill(gw.token);
      await form.getByRole("button", { name: "Create gateway" }).click();
      await expect(page).toHaveURL(/\/gateways\/[0-9a-f-]{36}$/);
      const detail = page.getByTestId("gateway-detail");
      await expect(detail).toHaveAttribute("data-status", "reachable", { timeout: 40_000 });
      await expect(detail).toContainText(version);
      await expect(page.locator("body")).not.toContainText(gw.token);
      const gatewayId = page.url().split("/").at(-1)!;
      // A board brings a lead that nobody plays: the gateway reports why its runs fail (no model provider here).
      await trpc(page.request, "boards.create", { name: "crew", gatewayId });

      // Its main agent is provisioned and woken; its files are on disk in the gateway's workspace for it.
      const main = page.locator('[data-testid="agent-row"][data-agent-name="main"]');
      await expect(main).toHaveAttribute("data-status", "waking", { timeout: 40_000 });
      const href = await main.getByRole("link", { name: "main" }).getAttribute("href");
      const agentId = href!.split("/").at(-1)!;
      const workspace = gw.workspaceOf(`mc-${agentId}`);
      const first = checkInInstructions(readWorkspaceFile(workspace, "AGENTS.md") ?? "");
      expect(first, "AGENTS.md tells the agent how to check in").not.toBeNull();
      expect((await followCheckIn(first!)).status).toBe(200);
      await expect(main).toHaveAttribute("data-status", "online", { timeout: 15_000 });
      await page.screenshot({ path: `e2e/screenshots/openclaw-${version}-gateway.png`, fullPage: true });

      // Sync templates: the run ends with the agent current.
      await page.getByRole("button", { name: "Sync templates" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      const progress = page.getByTestId("sync-progress");
      await expect(progress).toHaveAttribute("data-final", "true", { timeout: 40_000 });
      await expect(page.getByTestId("sync-run").first()).toHaveAttribute("data-status", "succeeded", { timeout: 15_000 });
      await expect(page.getByTestId("gateway-stale")).toHaveCount(0);

      // Rotate token from the agent page: the file is rewritten, and following it checks in with the new token.
      await main.getByRole("link", { name: "main" }).click();
      const agent = page.getByTestId("agent-detail");
      await expect(agent).toHaveAttribute("data-status", "online");
      await page.getByTestId("agent-actions").getByRole("button", { name: "Rotate token" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await expect(agent).toHaveAttribute("data-status", "waking", { timeout: 40_000 });
      const rotated = checkInInstructions(readWorkspaceFile(workspace, "AGENTS.md") ?? "");
      expect(rotated?.token).toBeTruthy();
      expect(rotated!.token).not.toBe(first!.token);
      expect((await followCheckIn(rotated!)).status).toBe(200);
      await expect(agent).toHaveAttribute("data-status", "online", { timeout: 15_000 });
      await expect(page.getByTestId("diagnose-verdict")).toHaveAttribute("data-cause", "healthy");
      await page.screenshot({ path: `e2e/screenshots/openclaw-${version}-agent.png`, fullPage: true });

      // The silent lead: offline, and Diagnose names the cause in the gateway's own words.
      await page.goto(`/gateways/${gatewayId}`);
      await page.locator('[data-testid="agent-row"][data-agent-name="crew lead"]').getByRole("link", { name: "crew lead" }).click();
      await expect(page.getByTestId("diagnose-verdict")).toHaveAttribute("data-cause", "run_failed", { timeout: 40_000 });
      await expect(page.getByTestId("diagnose-verdict")).toContainText(/provider|API key|auth/i);
      await page.screenshot({ path: `e2e/screenshots/openclaw-${version}-run-failed.png`, fullPage: true });
      await page.goto(`/agents/${agentId}`);

      // Delete: the agent leaves the gateway's config.
      await page.getByTestId("agent-actions").getByRole("button", { name: "Delete" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await expect.poll(() => agentInGatewayConfig(gw, `mc-${agentId}`), { timeout: 30_000 }).toBe(false);
      await deleteGateway(page, `openclaw-${version}`);
    });
  });
}

function agentInGatewayConfig(gw: RealGateway, gatewayAgentId: string): boolean {
  const agents = JSON.parse(fs.readFileSync(path.join(gw.stateDir, "openclaw.json"), "utf8")).agents ?? {};
  return Boolean(agents.entries?.[gatewayAgentId] ?? (agents.list ?? []).some((e: { id?: string }) => e.id === gatewayAgentId));
}

async function deleteGateway(page: Page, name: string): Promise<void> {
  await page.goto("/gateways");
  await page.getByRole("link", { name }).click();
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
  await expect(page).toHaveURL(/\/gateways$/, { timeout: 30_000 });
}
