// Shared helpers of the end-to-end tests: sign-in and tRPC calls as the signed-in operator. The fake HTTP gateway
// (test/support/fake-http-gateway.ts) and percentile (test/support/random.ts) are the tests' own.
import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { decodeResponse, encodeCall, unwrap, type ProcedureKind } from "../test/support/trpc-wire";
import { E2E_ADMIN } from "./credentials";

/** Where the setup project keeps the signed-in admin's session (e2e/auth.setup.ts). */
export const ADMIN_STATE = ".cache/e2e/admin.json";

/** Signs in through the login page as the e2e admin (on `base`, another server, when given). */
export async function signIn(page: Page, base = "") {
  await page.goto(`${base}/`);
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel(/email/i).fill(E2E_ADMIN.email);
  await page.getByLabel(/password/i).fill(E2E_ADMIN.password);
  await page.getByRole("button", { name: /sign in/i }).click();
  await expect(page).toHaveURL(new RegExp(`${base.replace(/[.:/]/g, "\\$&")}/$`));
}

/** Calls a tRPC procedure (the wire format of test/support/trpc-wire.ts) with the page's session cookie. */
export async function trpc<T = unknown>(request: APIRequestContext, path: string, input: unknown, kind: ProcedureKind = "mutation", base = ""): Promise<T> {
  const req = encodeCall(path, input, kind);
  const res =
    req.method === "POST"
      ? await request.post(`${base}${req.path}`, { data: req.body, headers: { "content-type": "application/json" } })
      : await request.get(`${base}${req.path}`);
  const raw = await res.text();
  return unwrap<T>(path, res.status(), decodeResponse(raw), raw);
}

/** Deletes a gateway and waits until its queued delete has finished (the gateway, its boards and agents are gone). */
export async function deleteGateway(request: APIRequestContext, id: string, base = "") {
  const { operationId } = await trpc<{ operationId: string }>(request, "gateways.delete", { id }, "mutation", base);
  await expect
    .poll(async () => (await trpc<{ status: string }>(request, "fleet.operation", { id: operationId }, "query", base)).status, { timeout: 30_000 })
    .toBe("done");
}

/** Opens the board as the admin signed in by the setup project: no redirect to the login page. */
export async function openBoard(page: Page) {
  await page.goto("/");
  await expect(page).toHaveURL(/\/$/);
}

export const row = (page: Page, name: string) => page.locator(`[data-testid="agent-row"][data-agent-name="${name}"]`);
