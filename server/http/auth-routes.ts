// Sign-in and sign-out for the browser console. The session cookie is HttpOnly and SameSite=Lax (Secure over HTTPS,
// including HTTPS terminated at a trusted proxy). Failed sign-ins are rate-limited per client IP; the CSRF check
// (same-origin only) is applied by the HTTP server before these handlers run.
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { App } from "../runtime/app";
import { parseCookies, SESSION_COOKIE } from "../auth/principal";
import { verifyPasswordConstantTime } from "../auth/passwords";
import { HttpError, readBody, sendJson } from "./body";
import type { ClientInfo } from "./client-ip";
import type { RateLimits } from "../platform/rate-limits";

const loginInput = z.object({ email: z.string().trim().toLowerCase().min(3).max(200), password: z.string().min(1).max(200) }).strict();
const logoutInput = z.object({ everywhere: z.boolean().optional() }).strict().optional();

export interface AuthRouteContext {
  limits: RateLimits;
  info: ClientInfo;
}

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

export async function handleAuthRoute(app: App, req: IncomingMessage, res: ServerResponse, path: string, ctx: AuthRouteContext): Promise<void> {
  try {
    if (path !== "/api/auth/login" && path !== "/api/auth/logout") throw new HttpError(404, "Not found");
    if (req.method !== "POST") throw new HttpError(405, "Use POST", { allow: "POST" });
    if (path === "/api/auth/login") return await login(app, req, res, ctx);
    return await logout(app, req, res, ctx);
  } catch (err) {
    if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message }, err.headers);
    app.logger.error({ err: String(err) }, "auth route failed");
    return sendJson(res, 500, { error: "Internal error" });
  }
}

function parseBody(req: IncomingMessage, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  try {
    if (type === "application/x-www-form-urlencoded") return Object.fromEntries(new URLSearchParams(raw.toString("utf8")));
    if (type === "application/json") return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new HttpError(400, "Body must be JSON or a form");
  }
  throw new HttpError(415, "Content-Type must be application/json or application/x-www-form-urlencoded");
}

async function login(app: App, req: IncomingMessage, res: ServerResponse, ctx: AuthRouteContext): Promise<void> {
  const { ip } = ctx.info;
  const blocked = await ctx.limits.loginFailures.blockedFor(ip);
  if (blocked > 0) {
    throw new HttpError(429, `Too many failed sign-ins from this address; try again in ${blocked} s`, { "retry-after": String(blocked) });
  }
  const raw = await readBody(req, 4096);
  const parsed = loginInput.safeParse(parseBody(req, raw));
  if (!parsed.success) throw new HttpError(400, "Email and password are required");
  const operator = await app.db.operator.findUnique({ where: { email: parsed.data.email } });
  // The same scrypt work whether or not the account exists: timing does not reveal accounts.
  const ok = await verifyPasswordConstantTime(parsed.data.password, operator?.passwordHash ?? null);
  if (!operator || !ok || operator.disabled) {
    await ctx.limits.loginFailures.fail(ip);
    app.logger.warn({ email: parsed.data.email, remote: ip }, "sign-in failed");
    throw new HttpError(401, "Invalid email or password");
  }
  const session = await app.auth.createSession(operator.id);
  const maxAge = Math.floor((session.expiresAt.getTime() - Date.now()) / 1000);
  await app.events.emit({
    event: "operator.action",
    actor: operator.email,
    message: `${operator.email} signed in`,
    data: { action: "sign in", result: "ok", via: "session", remote: ip },
  });
  sendJson(res, 200, { email: operator.email, role: operator.role }, { "set-cookie": cookie(session.token, maxAge, ctx.info.https) });
}

/** Ends this browser's session; with `{"everywhere": true}`, every session of the operator. */
async function logout(app: App, req: IncomingMessage, res: ServerResponse, ctx: AuthRouteContext): Promise<void> {
  const raw = await readBody(req, 1024);
  let everywhere = false;
  if (raw.length > 0) {
    const parsed = logoutInput.safeParse(parseBody(req, raw));
    if (!parsed.success) throw new HttpError(400, 'Body must be empty or {"everywhere": true}');
    everywhere = parsed.data?.everywhere === true;
  }
  const token = parseCookies(req.headers.cookie)[SESSION_COOKIE];
  const ended = token ? await app.auth.endSession(token) : null;
  if (ended) {
    const operator = await app.db.operator.findUnique({ where: { id: ended.operatorId }, select: { email: true } });
    if (everywhere) await app.auth.endAllSessions(ended.operatorId);
    if (operator) {
      await app.events.emit({
        event: "operator.action",
        actor: operator.email,
        message: `${operator.email} signed out${everywhere ? " everywhere" : ""}`,
        data: { action: everywhere ? "sign out everywhere" : "sign out", result: "ok", via: "session" },
      });
    }
  }
  sendJson(res, 200, { signedOut: true }, { "set-cookie": cookie("", 0, ctx.info.https) });
}
