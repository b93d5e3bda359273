// The agent API (SPEC §4): POST /api/agent/heartbeat and GET /api/agent/healthz.
// A heartbeat is acknowledged only after it is stored; when the database is down the agent gets 503 and retries.
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { App } from "../app";
import { agentTokenFromHeaders } from "../agents/agent-auth";
import { isDatabaseUnavailable } from "../db/prisma";
import { metrics } from "../metrics";
import { HttpError, parseJsonBody, readBody, sendJson } from "./body";

const heartbeatBody = z
  .object({
    status: z.enum(["online", "busy"]).optional(),
    note: z.string().max(500).optional(),
  })
  .strict()
  .optional();

const UNAUTHORIZED = { error: "unauthorized", message: "A valid agent token is required (X-Agent-Token header)." };

export async function handleAgentApi(app: App, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  try {
    if (path === "/api/agent/heartbeat") {
      if (req.method !== "POST") throw new HttpError(405, "Use POST", { allow: "POST" });
      return await heartbeat(app, req, res);
    }
    if (path === "/api/agent/healthz") {
      if (req.method !== "GET") throw new HttpError(405, "Use GET", { allow: "GET" });
      return await healthz(app, req, res);
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

async function authenticated(app: App, req: IncomingMessage): Promise<string> {
  const auth = await app.agentAuth.authenticate(agentTokenFromHeaders(req.headers));
  if (auth.ok) return auth.agentId;
  await app.agentAuth.recordRejection(auth, req.socket.remoteAddress);
  throw new HttpError(401, UNAUTHORIZED.message);
}

async function heartbeat(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!agentTokenFromHeaders(req.headers)) {
    metrics.heartbeatsRejected.inc({ reason: "missing" });
    throw new HttpError(401, UNAUTHORIZED.message);
  }
  const raw = await readBody(req, app.config.HEARTBEAT_MAX_BODY_BYTES);
  const parsed = heartbeatBody.safeParse(parseJsonBody(req, raw));
  if (!parsed.success) {
    throw new HttpError(400, `Invalid heartbeat body: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"} ${i.message}`).join("; ")}`);
  }
  const agentId = await authenticated(app, req);
  const agent = await app.lifecycle.heartbeat(agentId);
  if (!agent) throw new HttpError(401, UNAUTHORIZED.message);
  metrics.heartbeatsAccepted.inc();
  sendJson(res, 200, { agentId: agent.id, status: agent.status, nextHeartbeatSeconds: agent.heartbeatIntervalSeconds });
}

async function healthz(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const agentId = await authenticated(app, req);
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
