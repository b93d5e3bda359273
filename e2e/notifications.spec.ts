// Notifications from the console: an admin adds a signed webhook channel and a rule, sends a test notification, and
// sees it arrive (in a real HTTP receiver, and as "delivered" in the log); an operator mutes the rule.
import { createHmac } from "node:crypto";
import { expect, test } from "@playwright/test";
import { openBoard } from "./helpers";
import { startWebhookReceiver } from "../test/support/webhook-receiver";

test("an admin creates a channel and a rule, sends a test notification, and the log shows it delivered", async ({ page }) => {
  const receiver = await startWebhookReceiver();
  try {
    await openBoard(page);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Notifications" }).click();
    await expect(page).toHaveURL(/\/notifications$/);
    await page.getByRole("link", { name: "Rules and channels" }).click();
    await expect(page).toHaveTitle(/Notification rules · Mission Control/);

    const channelForm = page.getByRole("form", { name: "Add a channel" });
    await channelForm.getByLabel("Name").fill("e2e-hook");
    await channelForm.locator('select[name="channel-kind"]').selectOption("webhook");
    await channelForm.getByLabel("URL").fill(receiver.url);
    await channelForm.getByRole("button", { name: "Add channel" }).click();
    await expect(page.getByTestId("action-result")).toContainText("Channel e2e-hook created");
    const secret = (await page.getByTestId("one-time-secret-value").textContent())!.trim();
    expect(secret).toMatch(/^mcwh_/);
    const channel = page.locator('[data-testid="channel-row"][data-name="e2e-hook"]');
    await expect(channel).toContainText(new URL(receiver.url).origin);
    await expect(channel).not.toContainText("/hooks/mission-control");

    const ruleForm = page.getByRole("form", { name: "Create a rule" });
    await ruleForm.getByLabel("Name").fill("e2e agents offline");
    await ruleForm.locator('select[name="rule-trigger"]').selectOption("agent_offline");
    await ruleForm.locator('select[name="rule-scope"]').selectOption("gateway");
    await ruleForm.locator('select[name="rule-gateway"]').selectOption({ label: "demo-simulator" });
    await ruleForm.getByLabel("e2e-hook").check();
    await ruleForm.getByRole("button", { name: "Create rule" }).click();
    await expect(page.getByTestId("action-result")).toContainText("Rule e2e agents offline created");
    const rule = page.locator('[data-testid="rule-row"][data-name="e2e agents offline"]');
    await expect(rule).toContainText("gateway demo-simulator");
    await expect(rule).toContainText("active");

    await rule.getByRole("button", { name: "Send test" }).click();
    await expect(page.getByTestId("action-result")).toContainText("Test sent to rule e2e agents offline (1 channel)");
    await expect.poll(() => receiver.received.length, { timeout: 15_000 }).toBeGreaterThan(0);
    const [message] = receiver.received;
    expect(message.body.type).toBe("notification.test");
    expect(message.body.title).toBe("Test notification from Mission Control (rule e2e agents offline)");
    expect(message.headers["x-mc-signature"]).toBe("sha256=" + createHmac("sha256", secret).update(message.raw).digest("hex"));
    await page.screenshot({ path: "e2e/screenshots/notification-rules.png", fullPage: true });

    await rule.getByLabel("Mute e2e agents offline").selectOption({ label: "for 1 hour" });
    await expect(page.getByTestId("action-result")).toContainText("Rule e2e agents offline muted until");
    await expect(rule).toContainText("muted by");

    await page.getByRole("link", { name: "Notification log" }).click();
    const logged = page.locator('[data-testid="notification-row"][data-state="test"]').first();
    await expect(logged).toContainText("Test notification from Mission Control (rule e2e agents offline)");
    await expect(logged.locator('[data-testid="delivery"][data-channel="e2e-hook"] [data-testid="delivery-status"]')).toHaveAttribute("data-status", "delivered");
    await page.screenshot({ path: "e2e/screenshots/notifications.png", fullPage: true });
  } finally {
    await receiver.close();
  }
});
