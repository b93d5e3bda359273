// Security in the browser: an admin invites a viewer on the Operators page; the viewer sees the fleet and no action
// button anywhere (and the API refuses them anyway); sign-out ends the session for good; an API token from the Tokens
// page is shown once and stops working when revoked; the Content-Security-Policy does not break the console.
import { expect, test, type Page } from "@playwright/test";
import { E2E_ADMIN } from "./credentials";

const VIEWER = { email: `viewer-${Date.now()}@example.com`, password: "viewer-password-123456" };

// Signs in itself (not the setup project's saved session).
test.use({ storageState: { cookies: [], origins: [] } });

async function signIn(page: Page, who: { email: string; password: string }) {
  await page.goto("/login");
  await page.getByLabel(/email/i).fill(who.email);
  await page.getByLabel(/password/i).fill(who.password);
  await page.getByRole("button", { name: /sign in/i }).click();
  await expect(page).toHaveURL(/\/$/);
}

async function signOut(page: Page) {
  await page.getByRole("button", { name: /^sign out$/i }).click();
  await expect(page).toHaveURL(/\/login/);
}

/** Fails the test on any Content-Security-Policy violation the console reports. */
function watchCsp(page: Page): string[] {
  const violations: string[] = [];
  page.on("console", (m) => {
    if (/Content[- ]Security[- ]Policy|Refused to (execute|load|connect|apply)/i.test(m.text())) violations.push(m.text());
  });
  return violations;
}

test.describe.configure({ mode: "serial" });

test("an admin invites a viewer; the viewer sees the fleet but no action buttons", async ({ page }) => {
  const csp = watchCsp(page);
  await signIn(page, E2E_ADMIN);
  const response = await page.goto("/operators");
  expect(response?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(response?.headers()["x-content-type-options"]).toBe("nosniff");
  await page.getByRole("button", { name: "Invite operator" }).click();
  const form = page.getByTestId("invite-form");
  await form.getByLabel("Email").fill(VIEWER.email);
  await form.getByLabel("Role").selectOption("viewer");
  await form.getByLabel(/^Password/).fill(VIEWER.password);
  await form.getByRole("button", { name: "Invite" }).click();
  await expect(page.getByTestId("action-result")).toContainText(`Invited ${VIEWER.email}`);
  await expect(page.locator(`[data-testid="operator-row"][data-email="${VIEWER.email}"]`)).toHaveAttribute("data-role", "viewer");
  await expect(page.getByTestId("audit-table")).toContainText(`invited (viewer) ${VIEWER.email}`);
  await signOut(page);

  await signIn(page, VIEWER);
  await expect(page.getByTestId("current-user")).toContainText("viewer");
  // The board: the fleet, and nothing to act with.
  await expect(page.locator('[data-testid="agent-row"]').first()).toBeVisible({ timeout: 20_000 });
  for (const name of [/^reprovision/i, /^wake$/i, /^rotate token$/i, /^delete$/i]) {
    await expect(page.getByRole("button", { name })).toHaveCount(0);
  }
  // An agent page: every lifecycle field, no action button.
  await page.locator('[data-testid="agent-row"] a[href^="/agents/"]').first().click();
  await expect(page).toHaveURL(/\/agents\//);
  await expect(page.getByTestId("agent-detail")).toBeVisible();
  await expect(page.getByTestId("agent-actions")).toHaveCount(0);
  for (const name of ["Reprovision", "Wake", "Rotate token", "Delete"]) await expect(page.getByRole("button", { name, exact: true })).toHaveCount(0);
  // Gateways: no "Add gateway".
  await page.goto("/gateways");
  await expect(page.getByRole("heading", { name: "Gateways" })).toBeVisible();
  await expect(page.getByRole("button", { name: /add gateway/i })).toHaveCount(0);
  // Admin pages say so, and the navigation does not offer them.
  await page.goto("/operators");
  await expect(page.getByTestId("admin-only")).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Operators" })).toHaveCount(0);
  // Hidden buttons are not the protection: the API refuses a viewer's action even from the console's own origin.
  const agentId = await page.evaluate(async () => {
    const res = await fetch('/api/trpc/agents.list?input=%7B%22json%22%3A%7B%22limit%22%3A1%7D%7D');
    const body = await res.json();
    return body.result.data.json[0].id as string;
  });
  const status = await page.evaluate(async (id) => {
    const res = await fetch("/api/trpc/agents.wake", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ json: { id } }) });
    return res.status;
  }, agentId);
  expect(status).toBe(403);
  expect(csp).toEqual([]);
});

test("sign-out ends the session: the old cookie no longer opens anything", async ({ page, browser, baseURL }) => {
  await signIn(page, E2E_ADMIN);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "mc_session");
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe("Lax");
  await signOut(page);
  // The browser that signed out is sent to the login page.
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
  // A copy of the old cookie (as if stolen before sign-out) is worthless: the session is gone on the server.
  const replay = await browser.newContext({ baseURL });
  try {
    await replay.addCookies([session!]);
    const other = await replay.newPage();
    await other.goto("/");
    await expect(other).toHaveURL(/\/login/);
    const api = await replay.request.get("/api/trpc/system.me");
    expect(api.status()).toBe(401);
  } finally {
    await replay.close();
  }
});

test("Tokens page: a new token is shown once, works, and stops when revoked", async ({ page, playwright, baseURL }) => {
  const csp = watchCsp(page);
  await signIn(page, E2E_ADMIN);
  await page.goto("/tokens");
  const form = page.getByTestId("create-token-form");
  const name = `e2e-${Date.now()}`;
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Role").selectOption("viewer");
  await form.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("one-time-secret-value").innerText()).trim();
  expect(token).toMatch(/^mco_/);
  const row = page.locator(`[data-testid="token-row"][data-name="${name}"]`);
  await expect(row).toHaveAttribute("data-state", "active");
  await expect(page.getByTestId("tokens-table")).not.toContainText(token);

  const api = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
  try {
    const me = await api.get("/api/trpc/system.me");
    expect(me.status()).toBe(200);
    expect(await me.text()).toContain('"role":"viewer"');
    // Done: the one-time display goes away for good.
    await page.getByTestId("one-time-secret").getByRole("button", { name: "Done" }).click();
    await expect(page.getByTestId("one-time-secret")).toHaveCount(0);
    await row.getByRole("button", { name: "Revoke" }).click();
    await page.getByTestId("confirm-dialog").getByRole("button", { name: "Revoke" }).click();
    await expect(row).toHaveAttribute("data-state", "revoked");
    expect((await api.get("/api/trpc/system.me")).status()).toBe(401);
  } finally {
    await api.dispose();
  }
  expect(csp).toEqual([]);
});
