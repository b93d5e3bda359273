// Helpers for security tests: operators and API tokens straight in the database, sign-in over HTTP, and tRPC calls
// over real HTTP (the superjson wire format of ./trpc-wire), so that every layer (headers, CSRF, rate limits, middleware) is exercised.
import { randomUUID } from "node:crypto";
import type { App } from "../../server/runtime/app";
import { hashPassword } from "../../server/auth/passwords";
import { newSecret, sha256, type Role } from "../../server/auth/principal";
import { appRouter } from "../../server/trpc/root";
import { fetchCall } from "./trpc-wire";

export interface TestOperator {
  id: string;
  email: string;
  password: string;
  role: Role;
}

export async function createOperator(app: App, role: Role, opts: { disabled?: boolean; email?: string } = {}): Promise<TestOperator> {
  const email = opts.email ?? `${role}-${randomUUID().slice(0, 8)}@example.com`;
  const password = `pw-${randomUUID()}`;
  const row = await app.db.operator.create({
    data: { email, role, name: role, passwordHash: await hashPassword(password), disabled: opts.disabled ?? false },
  });
  return { id: row.id, email, password, role };
}

export async function createApiToken(app: App, operatorId: string, role: Role, opts: { expiresAt?: Date; revokedAt?: Date } = {}): Promise<string> {
  const token = newSecret("mco");
  await app.db.operatorApiToken.create({
    data: { name: `test-${role}`, role, operatorId, tokenHash: sha256(token), expiresAt: opts.expiresAt, revokedAt: opts.revokedAt },
  });
  return token;
}

/** Signs in over HTTP; returns the `mc_session=…` cookie pair. */
export async function signIn(baseUrl: string, email: string, password: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  const setCookie = res.headers.get("set-cookie") ?? "";
  const pair = setCookie.split(";")[0];
  if (!pair.startsWith("mc_session=")) throw new Error(`no session cookie in ${setCookie}`);
  return pair;
}

export interface CallResult {
  status: number;
  /** The tRPC error code (UNAUTHORIZED, FORBIDDEN, …) when it failed. */
  code?: string;
  message?: string;
  data?: unknown;
  raw: string;
  headers: Headers;
}

export interface CallOptions {
  token?: string;
  cookie?: string;
  headers?: Record<string, string>;
  type?: "query" | "mutation";
}

export function procedureType(path: string): "query" | "mutation" | "subscription" {
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: "query" | "mutation" | "subscription" } }>;
  return procedures[path]._def.type;
}

/** Every procedure of the router: path and type. */
export function allProcedures(): { path: string; type: "query" | "mutation" | "subscription" }[] {
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: "query" | "mutation" | "subscription" } }>;
  return Object.keys(procedures)
    .sort()
    .map((path) => ({ path, type: procedures[path]._def.type }));
}

export async function call(baseUrl: string, path: string, input: unknown, opts: CallOptions = {}): Promise<CallResult> {
  const type = opts.type ?? (procedureType(path) === "mutation" ? "mutation" : "query");
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  const { status, raw, headers: responseHeaders, data, code, message } = await fetchCall(baseUrl, path, input, type, headers);
  return { status, code, message, data, raw, headers: responseHeaders };
}

/** Like `call`, but throws unless it succeeded. */
export async function ok<T = unknown>(baseUrl: string, path: string, input: unknown, opts: CallOptions = {}): Promise<T> {
  const r = await call(baseUrl, path, input, opts);
  if (r.code || r.status >= 300) throw new Error(`${path} failed: ${r.status} ${r.code ?? ""} ${r.message ?? r.raw.slice(0, 300)}`);
  return r.data as T;
}
