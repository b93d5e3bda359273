// The agent API (docs/architecture.md, Contracts (agent API)): POST /api/agent/heartbeat and GET /api/agent/healthz.
// A heartbeat is acknowledged only after it is stored; when the database is down the agent gets 503 and retries.
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { App } from "../runtime/app";
import { agentTokenFromHeaders } from "../agents/agent-auth";
import { parseAgentToken } from "../agent-model/tokens";
import { isDatabaseUnavailable } from "../db/prisma";
import { metrics } from "../platform/metrics";
import { HttpError, readBody, sendJson } from "./body";
import { fingerprint, type RateLimits } from "../platform/rate-limits";

/** Per-request context from the HTTP server: the rate limits and the client address (after trusted proxies). */
export interface AgentApiContext {
  limits: RateLimits;
  ip: string;
}

/** What a heartbeat may say about itself; anything else in the body is ignored (and the answer says so). */
const heartbeatBody = z
  .object({
    status: z.enum(["online", "busy"]).optional(),
    note: z.string().max(500).optional(),
  })
  .strict();

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
 * The per-token budget is looked at before any work and spent only once the request was served (`spend`), so it
 * holds keys of accepted tokens only: bounded by the fleet size, whatever an attacker sends.
 */
async function refuseOverBudget(token: string, ctx: AgentApiContext): Promise<void> {
  const wait = await ctx.limits.heartbeatsPerToken.peek(fingerprint(token));
  if (wait > 0) {
    metrics.heartbeatsRejected.inc({ reason: "rate_limited" });
    throw new HttpError(429, "Too many requests with this token; retry later", { "retry-after": String(wait) });
  }
}

async function spend(token: string, ctx: AgentApiContext): Promise<void> {
  await ctx.limits.heartbeatsPerToken.take(fingerprint(token));
}

const DATABASE_UNAVAILABLE = () => new HttpError(503, "Database unavailable; retry later", { "retry-after": "5" });

function tooManyFailures(retryAfter: number): HttpError {
  return new HttpError(429, "Too many failed authentications from this address; retry later", { "retry-after": String(retryAfter) });
}

/**
 * O(1): the token names its agent (one primary-key read). A valid token always passes, without looking at its
 * address's failure budget (the hot path costs nothing for it). A failure is counted per agent and per address; from
 * an address past its budget a well-formed token is still looked up, and any failure is answered 429 without being
 * recorded (no write amplification), a missing or malformed one without any lookup.
 */
async function authenticated(app: App, req: IncomingMessage, ctx: AgentApiContext) {
  const token = agentTokenFromHeaders(req.headers);
  if (token && parseAgentToken(token)) {
    const auth = await app.agentAuth.authenticate(token);
    if (auth.ok) {
      await refuseOverBudget(token, ctx);
      return auth;
    }
    const blocked = await ctx.limits.agentAuthFailures.blockedFor(ctx.ip);
    if (blocked > 0) {
      metrics.heartbeatsRejected.inc({ reason: "rate_limited" });
      throw tooManyFailures(blocked);
    }
    await ctx.limits.agentAuthFailures.fail(ctx.ip);
    await app.agentAuth.recordRejection(auth, ctx.ip);
    throw new HttpError(401, UNAUTHORIZED.message);
  }
  const blocked = await ctx.limits.agentAuthFailures.blockedFor(ctx.ip);
  metrics.heartbeatsRejected.inc({ reason: blocked > 0 ? "rate_limited" : token ? "malformed" : "missing" });
  if (blocked > 0) throw tooManyFailures(blocked);
  await ctx.limits.agentAuthFailures.fail(ctx.ip);
  throw new HttpError(401, UNAUTHORIZED.message);
}

/**
 * The token is checked before the body is read. With a valid token the heartbeat always counts: a body that is not
 * JSON, or JSON of another shape (`curl -d` sends form encoding), is ignored and the answer says why. Only a body over
 * the size limit is refused (413), before it is stored.
 */
async function heartbeat(app: App, req: IncomingMessage, res: ServerResponse, ctx: AgentApiContext): Promise<void> {
  const token = agentTokenFromHeaders(req.headers);
  const parsed = token ? parseAgentToken(token) : null;
  // A routine heartbeat (an online agent, its current or overlapping previous token) is checked and stored by the
  // batched statement (server/agents/heartbeat-ingest.ts): no round trip of its own. Anything else, and a body over
  // the limit (its token must still be judged first: 401 before 413), takes the full path below.
  if (token && parsed) {
    await refuseOverBudget(token, ctx);
    const raw = await readBody(req, app.config.HEARTBEAT_MAX_BODY_BYTES).catch(async (err: unknown) => {
      if (err instanceof HttpError && err.status === 413) await authenticated(app, req, ctx);
      throw err;
    });
    let ack: Awaited<ReturnType<App["heartbeats"]["submit"]>>;
    try {
      ack = await app.heartbeats.submit(parsed.agentId, parsed.secretHash);
    } catch (err) {
      // Nothing in the failed batch was stored: every heartbeat in it is answered "retry".
      app.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "heartbeat batch failed");
      throw DATABASE_UNAVAILABLE();
    }
    if (ack) {
      await spend(token, ctx);
      metrics.heartbeatsAccepted.inc();
      return answer(res, ack.agentId, ack.status, ack.heartbeatIntervalSeconds, describeIgnoredBody(raw));
    }
    const auth = await authenticated(app, req, ctx);
    return stepHeartbeat(app, res, ctx, token, auth, raw);
  }
  const auth = await authenticated(app, req, ctx);
  const raw = await readBody(req, app.config.HEARTBEAT_MAX_BODY_BYTES);
  return stepHeartbeat(app, res, ctx, token!, auth, raw);
}

/** The full path: the lifecycle decides (check-in, pending token promotion, status change). */
async function stepHeartbeat(
  app: App,
  res: ServerResponse,
  ctx: AgentApiContext,
  token: string,
  auth: Awaited<ReturnType<typeof authenticated>>,
  raw: Buffer,
): Promise<void> {
  const agent = await app.lifecycle.heartbeat(auth.agentId, auth.credential, auth.secretHash);
  if (!agent) throw new HttpError(401, UNAUTHORIZED.message);
  await spend(token, ctx);
  metrics.heartbeatsAccepted.inc();
  answer(res, agent.id, agent.status, agent.heartbeatIntervalSeconds, describeIgnoredBody(raw));
}

function answer(res: ServerResponse, agentId: string, status: string, interval: number, bodyIgnored: string | null): void {
  sendJson(res, 200, { agentId, status, nextHeartbeatSeconds: interval, ...(bodyIgnored ? { bodyIgnored } : {}) });
}

/** Why a heartbeat's body was ignored, or null when it was empty or a valid `{status?, note?}`. */
function describeIgnoredBody(raw: Buffer): string | null {
  if (raw.length === 0) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8"));
  } catch {
    return "body is not JSON";
  }
  const parsed = heartbeatBody.safeParse(value);
  if (parsed.success) return null;
  return `body is not {"status"?: "online"|"busy", "note"?: string}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"} ${i.message}`).join("; ")}`.slice(0, 300);
}

async function healthz(app: App, req: IncomingMessage, res: ServerResponse, ctx: AgentApiContext): Promise<void> {
  const { agentId } = await authenticated(app, req, ctx);
  const agent = await app.lifecycle.view(agentId);
  if (!agent) throw new HttpError(401, UNAUTHORIZED.message);
  await spend(agentTokenFromHeaders(req.headers)!, ctx);
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
