// Sign-in and sign-out for the browser console. The session cookie is HttpOnly and SameSite=Lax.
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { App } from "../app";
import { parseCookies, SESSION_COOKIE } from "../auth/principal";
import { verifyPassword } from "../auth/passwords";
import { HttpError, readBody, sendJson } from "./body";

const loginInput = z.object({ email: z.string().trim().toLowerCase().min(3).max(200), password: z.string().min(1).max(200) }).strict();

function cookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${encodeURIComponent(value)}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    `Max-Age=${maxAgeSeconds}`,
    secure ? "Secure" : "",
  ]
    .filter(Boolean)
    .join("; ");
}

function isHttps(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

export async function handleAuthRoute(app: App, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  try {
    if (req.method !== "POST") throw new HttpError(405, "Use POST", { allow: "POST" });
    if (path === "/api/auth/login") return await login(app, req, res);
    if (path === "/api/auth/logout") return await logout(app, req, res);
    throw new HttpError(404, "Not found");
  } catch (err) {
    if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message }, err.headers);
    app.logger.error({ err: String(err) }, "auth route failed");
    return sendJson(res, 500, { error: "Internal error" });
  }
}

async function login(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req, 4096);
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim();
  let body: unknown;
  try {
    body = type === "application/x-www-form-urlencoded" ? Object.fromEntries(new URLSearchParams(raw.toString("utf8"))) : JSON.parse(raw.toString("utf8"));
  } catch {
    throw new HttpError(400, "Body must be JSON or a form");
  }
  const parsed = loginInput.safeParse(body);
  if (!parsed.success) throw new HttpError(400, "Email and password are required");
  const operator = await app.db.operator.findUnique({ where: { email: parsed.data.email } });
  const ok = await verifyPassword(parsed.data.password, operator?.passwordHash ?? null);
  if (!operator || !ok || operator.disabled) {
    app.logger.warn({ email: parsed.data.email, remote: req.socket.remoteAddress }, "sign-in failed");
    throw new HttpError(401, "Invalid email or password");
  }
  const session = await app.auth.createSession(operator.id);
  const maxAge = Math.floor((session.expiresAt.getTime() - Date.now()) / 1000);
  await app.events.emit({
    event: "operator.action",
    actor: operator.email,
    message: `${operator.email} signed in`,
    data: { action: "sign in", result: "ok", via: "session" },
  });
  sendJson(res, 200, { email: operator.email, role: operator.role }, { "set-cookie": cookie(session.token, maxAge, isHttps(req)) });
}

async function logout(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const token = parseCookies(req.headers.cookie)[SESSION_COOKIE];
  if (token) await app.auth.endSession(token);
  sendJson(res, 200, { signedOut: true }, { "set-cookie": cookie("", 0, isHttps(req)) });
}
