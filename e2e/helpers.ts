// Shared helpers of the end-to-end tests: sign-in, tRPC calls as the signed-in operator, a fake HTTP gateway.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { E2E_ADMIN } from "./credentials";

export async function signIn(page: Page, base = "") {
  await page.goto(`${base}/`);
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel(/email/i).fill(E2E_ADMIN.email);
  await page.getByLabel(/password/i).fill(E2E_ADMIN.password);
  await page.getByRole("button", { name: /sign in/i }).click();
  await expect(page).toHaveURL(new RegExp(`${base.replace(/[.:/]/g, "\\$&")}/$`));
}

/** Calls a tRPC procedure (superjson wire format) with the page's session cookie. */
export async function trpc<T = unknown>(request: APIRequestContext, path: string, input: unknown, kind: "query" | "mutation" = "mutation", base = ""): Promise<T> {
  const res =
    kind === "mutation"
      ? await request.post(`${base}/api/trpc/${path}`, { data: { json: input } })
      : await request.get(`${base}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
  const body = await res.json();
  if (!res.ok()) throw new Error(`${path} failed (${res.status()}): ${JSON.stringify(body)}`);
  return body.result.data.json as T;
}

export const row = (page: Page, name: string) => page.locator(`[data-testid="agent-row"][data-agent-name="${name}"]`);

export interface FakeGateway {
  url: string;
  /** Tokens delivered by provisioning, per agent id. */
  tokens: Map<string, { token: string; heartbeatUrl: string }>;
  wakes: { agentId: string; attempt: number }[];
  close(): Promise<void>;
}

/** A minimal runtime speaking the http driver's protocol (SPEC §6): it accepts everything and never calls back itself. */
export async function startFakeGateway(): Promise<FakeGateway> {
  const tokens = new Map<string, { token: string; heartbeatUrl: string }>();
  const wakes: { agentId: string; attempt: number }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") : {};
      const m = /^\/agents\/([^/]+)\/(provision|wake)$/.exec(req.url ?? "");
      if (req.method === "GET" && req.url === "/health") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ version: "fake-1.0" }));
      if (m && m[2] === "provision") tokens.set(m[1], { token: body.token, heartbeatUrl: body.heartbeatUrl });
      if (m && m[2] === "wake") wakes.push({ agentId: m[1], attempt: body.attempt });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tokens,
    wakes,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
