// The agent API (SPEC §4): POST /api/agent/heartbeat and GET /api/agent/healthz.
// A heartbeat is acknowledged only after it is stored; when the database is down the agent gets 503 and retries.
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { App } from "../app";
import { agentTokenFromHeaders } from "../agents/agent-auth";
import { parseAgentToken } from "../agents/tokens";
import { isDatabaseUnavailable } from "../db/prisma";
import { metrics } from "../metrics";
import { HttpError, parseJsonBody, readBody, sendJson } from "./body";
import { fingerprint, type RateLimits } from "./rate-limits";

/** Per-request context from the HTTP server: the rate limits and the client address (after trusted proxies). */
export interface AgentApiContext {
  limits: RateLimits;
  ip: string;
}

const heartbeatBody = z
  .object({
    status: z.enum(["online", "busy"]).optional(),
    note: z.string().max(500).optional(),
  })
  .strict()
  .optional();

const UNAUTHORIZED = { error: "unauthorized", message: "A valid agent token is required (X-Agent-Token header)." };

export async function handleAgentApi(app: App, req: IncomingMessage, res: ServerResponse, path: string, ctx: AgentApiContext): Promise<void> {
  try {
    if (path === "/api/agent/heartbeat") {
      if (req.method !== "POST") throw new HttpError(405, "Use POST", { allow: "POST" });
      return await heartbeat(app, req, res, ctx);
    }
    if (path === "/api/agent/healthz") {
      if (req.method !== "GET") throw new HttpError(405, "Use GET", { allow: "GET" });
      return await healthz(app, req, res, ctx);
    }
    throw new HttpError(404, "Not found");
  } catch (err) {
    if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message }, err.headers);
    if (isDatabaseUnavailable(err)) {
      return sendJson(res, 503, { error: "Database unavailable; retry later" }, { "retry-after": "5" });
    }
    app.logger.error({ err, path }, "agent API failed");
    return sendJson(res, 500, { error: "Internal error" });
  }
}

/**
 * Checks that need no database work: a token is present, and well-formed if the address is past its failure budget.
 * Returns the token and whether the address is past its budget, or throws 401/429.
 */
async function admit(req: IncomingMessage, ctx: AgentApiContext): Promise<{ token: string; blocked: number }> {
  const token = agentTokenFromHeaders(req.headers);
  const blocked = await ctx.limits.agentAuthFailures.blockedFor(ctx.ip);
  if (!token || (blocked > 0 && !parseAgentToken(token))) {
    metrics.heartbeatsRejected.inc({ reason: blocked > 0 ? "rate_limited" : token ? "malformed" : "missing" });
    if (blocked > 0) throw tooManyFailures(blocked);
    await ctx.limits.agentAuthFailures.fail(ctx.ip);
    throw new HttpError(401, UNAUTHORIZED.message);
  }
  return { token, blocked };
}

function tooManyFailures(retryAfter: number): HttpError {
  return new HttpError(429, "Too many failed authentications from this address; retry later", { "retry-after": String(retryAfter) });
}

/**
 * O(1): the token names its agent (one primary-key read). A valid token always passes. A failure is counted per agent
 * and per address; from an address past its budget it is answered 429 and not recorded (no write amplification).
 */
async function authenticated(app: App, admitted: { token: string; blocked: number }, ctx: AgentApiContext): Promise<string> {
  const auth = await app.agentAuth.authenticate(admitted.token);
  if (auth.ok) {
    // The per-token budget is kept for valid tokens only (bounded by the fleet size, whatever an attacker sends).
    const wait = await ctx.limits.heartbeatsPerToken.take(fingerprint(admitted.token));
    if (wait > 0) {
      metrics.heartbeatsRejected.inc({ reason: "rate_limited" });
      throw new HttpError(429, "Too many requests with this token; retry later", { "retry-after": String(wait) });
    }
    return auth.agentId;
  }
  if (admitted.blocked > 0) {
    metrics.heartbeatsRejected.inc({ reason: "rate_limited" });
    throw tooManyFailures(admitted.blocked);
  }
  await ctx.limits.agentAuthFailures.fail(ctx.ip);
  await app.agentAuth.recordRejection(auth, ctx.ip);
  throw new HttpError(401, UNAUTHORIZED.message);
}

async function heartbeat(app: App, req: IncomingMessage, res: ServerResponse, ctx: AgentApiContext): Promise<void> {
  const admitted = await admit(req, ctx);
  const raw = await readBody(req, app.config.HEARTBEAT_MAX_BODY_BYTES);
  const parsed = heartbeatBody.safeParse(parseJsonBody(req, raw));
  if (!parsed.success) {
    throw new HttpError(400, `Invalid heartbeat body: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"} ${i.message}`).join("; ")}`);
  }
  const agentId = await authenticated(app, admitted, ctx);
  const agent = await app.lifecycle.heartbeat(agentId);
  if (!agent) throw new HttpError(401, UNAUTHORIZED.message);
  metrics.heartbeatsAccepted.inc();
  sendJson(res, 200, { agentId: agent.id, status: agent.status, nextHeartbeatSeconds: agent.heartbeatIntervalSeconds });
}

async function healthz(app: App, req: IncomingMessage, res: ServerResponse, ctx: AgentApiContext): Promise<void> {
  const agentId = await authenticated(app, await admit(req, ctx), ctx);
  const agent = await app.lifecycle.view(agentId);
  if (!agent) throw new HttpError(401, UNAUTHORIZED.message);
  sendJson(res, 200, {
    id: agent.id,
    name: agent.name,
    kind: agent.kind,
    gatewayId: agent.gatewayId,
    boardId: agent.boardId,
    status: agent.status,
    nextHeartbeatSeconds: agent.heartbeatIntervalSeconds,
  });
}
