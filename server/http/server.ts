// One port for everything (docs/architecture.md): the agent API, tRPC, service endpoints, Socket.IO and the Next.js pages.
// API routes are served here rather than as Next route handlers so that they share this process's single database
// pool, queue and socket server (Next bundles its own copy of every module it compiles).
//
// Security at this layer (docs/security.md): security headers on every answer, the client address from trusted
// proxies only, rate limits, CSRF checks on cookie-authenticated requests, and Socket.IO connections that are
// re-checked (a signed-out, expired, disabled or revoked credential loses its live stream).
import http from "node:http";
import type { Duplex } from "node:stream";
import { Server as SocketServer, type Socket } from "socket.io";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { z } from "zod";
import type { App } from "../runtime/app";
import { appRouter } from "../trpc/root";
import type { Refusal } from "../trpc/init";
import { metrics } from "../platform/metrics";
import { QUEUES } from "../queue/queues";
import { workersAlive } from "../system/queue-gauges";
import { relayAgentRows } from "../realtime/publisher";
import { MAX_ROOMS_PER_MESSAGE, ROOM_PATTERN, SOCKET_COMMANDS } from "../../lib/events";
import { bearer, parseCookies, SESSION_COOKIE, type Principal, type Revocation } from "../auth/principal";
import { handleAgentApi } from "./agent-api";
import { OPENAPI_DOCUMENTS } from "./openapi";
import { handleAuthRoute } from "./auth-routes";
import { sendJson, sendText } from "./body";
import { clientInfo, TrustedProxies, type ClientInfo } from "./client-ip";
import type { RateLimits } from "../platform/rate-limits";
import { isUnsafeMethod, sameOriginRequest, setSecurityHeaders } from "./security";

export interface PageHandler {
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  upgrade?(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
}

/** Pages anyone may load; everything else needs a signed-in operator. */
const PUBLIC_PAGE = /^\/(login(\/|$)|_next\/|favicon\.ico$|icon\.|robots\.txt$)/;

const subscription = z.object({ rooms: z.array(z.string().regex(ROOM_PATTERN)).max(MAX_ROOMS_PER_MESSAGE) }).strict();

/** How often live connections re-check their credentials (expiry, sign-out elsewhere, role change, disabling). */
const SOCKET_RECHECK_MS = 30_000;

type Credential = { kind: "token"; value: string } | { kind: "session"; value: string };

interface Resolved {
  principal: Principal | null;
  refusal?: Refusal;
}

export function createHttpServer(app: App, pages?: PageHandler): { server: http.Server; io: SocketServer; limits: RateLimits } {
  const { config } = app;
  const proxies = new TrustedProxies(config.TRUSTED_PROXIES);
  const limits = app.limits;
  app.auth.configure({ sessionIdleMinutes: config.SESSION_IDLE_MINUTES });

  /**
   * The principal of an API request. Bearer tokens are checked against the per-IP failure budget; cookies only count
   * when the request is same-origin (CSRF) — except for `navigation`, a page load, which any site may link to.
   */
  async function resolve(req: http.IncomingMessage, info: ClientInfo, opts: { navigation?: boolean; token?: string } = {}): Promise<Resolved & { credential?: Credential }> {
    const token = opts.token ?? bearer(req.headers.authorization);
    if (token) {
      // Past the address's failure budget, only well-formed tokens are looked up (one indexed read) and a failure is
      // answered 429; a valid token always works.
      const wait = await limits.apiTokenFailures.blockedFor(info.ip);
      const refusal: Refusal = { code: "TOO_MANY_REQUESTS", message: `Too many invalid API tokens from this address; retry in ${wait} s`, retryAfter: wait };
      if (wait > 0 && !app.auth.plausibleApiToken(token)) return { principal: null, refusal };
      const principal = await app.auth.fromApiToken(token);
      if (!principal) {
        if (wait > 0) return { principal: null, refusal };
        await limits.apiTokenFailures.fail(info.ip);
      }
      return { principal, credential: { kind: "token", value: token } };
    }
    const session = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    if (!session) return { principal: null };
    if (!opts.navigation && !sameOriginRequest(req, info, config.MC_BASE_URL)) {
      return { principal: null, refusal: { code: "FORBIDDEN", message: "Cross-site request refused" } };
    }
    return { principal: await app.auth.fromSession(session), credential: { kind: "session", value: session } };
  }

  const resolved = new WeakMap<http.IncomingMessage, Resolved>();
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: "/api/trpc/",
    maxBodySize: config.TRPC_MAX_BODY_BYTES,
    maxBatchSize: 200,
    createContext: ({ req, res }) => {
      const r = resolved.get(req) ?? { principal: null };
      return { app, principal: r.principal, refusal: r.refusal, operatorLimiter: limits.operatorRequests, res };
    },
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") app.logger.error({ err: error.cause ?? error, path }, "tRPC procedure failed");
    },
  });

  const server = http.createServer(async (req, res) => {
    const requested = (req.url ?? "/").split("?")[0];
    // `//api/agent/heartbeat/` (a base URL with a trailing slash) is the agent API too: an API path answers, never
    // redirects to the sign-in page (which `curl -f` would take for success).
    const apiPath = normaliseApiPath(requested);
    const path = apiPath.startsWith("/api/") ? apiPath : requested;
    let info: ClientInfo;
    try {
      info = clientInfo(req, proxies);
    } catch {
      info = { ip: "unknown", https: false, host: null };
    }
    setSecurityHeaders(res, info, { page: !path.startsWith("/api/"), dev: config.MC_DEV });
    try {
      if (path.startsWith("/api/trpc/")) {
        // The console's client always posts JSON. Refusing form encodings means no HTML form on another site can
        // even reach a procedure (defence in depth next to the CSRF check), and no multipart parsing runs.
        if (req.method === "POST" && contentType(req) !== "application/json") {
          return sendJson(res, 415, { error: "Content-Type must be application/json" });
        }
        resolved.set(req, await resolve(req, info));
        return await trpc(req, res);
      }
      if (path.startsWith("/api/agent/")) return await handleAgentApi(app, req, res, path, { limits, ip: info.ip });
      if (path.startsWith("/api/auth/")) {
        if (isUnsafeMethod(req.method) && !sameOriginRequest(req, info, config.MC_BASE_URL)) {
          return sendJson(res, 403, { error: "Cross-site request refused" });
        }
        return await handleAuthRoute(app, req, res, path, { limits, info });
      }
      if (path === "/api/healthz") return sendJson(res, 200, { ok: true });
      if (path === "/api/readyz") return await readyz(app, res);
      if (path === "/api/metrics") return await metricsRoute(req, res, info);
      if (path in OPENAPI_DOCUMENTS && (req.method === "GET" || req.method === "HEAD")) return sendJson(res, 200, OPENAPI_DOCUMENTS[path]);
      if (path.startsWith("/api/")) return sendJson(res, 404, { error: "Not found" });
      if (!pages) return sendText(res, 404, "No pages in this process");
      if (!PUBLIC_PAGE.test(path)) {
        const { principal } = await resolve(req, info, { navigation: true });
        if (!principal) {
          res.writeHead(302, { location: `/login?next=${encodeURIComponent(req.url ?? "/")}` });
          return void res.end();
        }
      }
      await pages.handle(req, res);
    } catch (err) {
      app.logger.error({ err, path }, "request failed");
      if (!res.headersSent) sendJson(res, 500, { error: "Internal error" });
      else res.end();
    }
  });

  async function metricsRoute(req: http.IncomingMessage, res: http.ServerResponse, info: ClientInfo): Promise<void> {
    if (!config.MC_METRICS_PUBLIC) {
      const { principal, refusal } = await resolve(req, info);
      if (refusal?.code === "TOO_MANY_REQUESTS") return sendJson(res, 429, { error: refusal.message }, { "retry-after": String(refusal.retryAfter ?? 60) });
      if (!principal) return sendJson(res, 401, { error: "Sign in or send an operator API token" });
    }
    sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
  }

  // ---- Socket.IO: same authentication; any role may watch (viewer and up); credentials are re-checked ----------

  const io = new SocketServer(server, { path: "/socket.io", serveClient: false, maxHttpBufferSize: 64 * 1024 });
  const credentials = new WeakMap<Socket, Credential>();

  io.use(async (socket, next) => {
    try {
      const req = socket.request;
      const info = clientInfo(req, proxies);
      const token = typeof socket.handshake.auth?.token === "string" ? socket.handshake.auth.token : undefined;
      const { principal, credential, refusal } = await resolve(req, info, { token });
      if (refusal?.code === "TOO_MANY_REQUESTS") return next(new Error("rate_limited"));
      if (!principal || !credential) return next(new Error("unauthorized"));
      socket.data.principal = principal;
      credentials.set(socket, credential);
      next();
    } catch {
      next(new Error("unavailable"));
    }
  });
  io.on("connection", (socket) => {
    socket.on(SOCKET_COMMANDS.subscribe, async (payload: unknown, ack?: (r: unknown) => void) => {
      const reply = typeof ack === "function" ? ack : () => undefined;
      const principal = socket.data.principal as Principal | undefined;
      if (!principal) return reply({ ok: false, error: "unauthorized" });
      const wait = await limits.operatorRequests.take(principal.operatorId ?? `${principal.via}:${principal.email}`);
      if (wait > 0) return reply({ ok: false, error: "rate_limited", retryAfter: wait });
      const parsed = subscription.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, error: "rooms must be fleet, gateway:<id>, board:<id> or agent:<id>" });
      void socket.join(parsed.data.rooms);
      reply({ ok: true, rooms: parsed.data.rooms });
    });
    socket.on(SOCKET_COMMANDS.unsubscribe, (payload: unknown) => {
      const parsed = subscription.safeParse(payload);
      if (parsed.success) for (const room of parsed.data.rooms) void socket.leave(room);
    });
  });

  /** Re-authenticates one live connection; a credential that no longer works ends it. */
  async function recheck(socket: Socket): Promise<void> {
    const credential = credentials.get(socket);
    if (!credential || socket.disconnected) return;
    try {
      const principal = credential.kind === "token" ? await app.auth.fromApiToken(credential.value) : await app.auth.fromSession(credential.value, { touch: false });
      if (principal) {
        socket.data.principal = principal;
        return;
      }
      socket.emit("auth.expired", { reason: "Your session ended or your access changed; sign in again" });
      socket.disconnect(true);
    } catch (err) {
      app.logger.warn({ err: String(err) }, "could not re-check a live connection");
    }
  }
  async function recheckAll(filter?: Revocation): Promise<void> {
    for (const socket of io.of("/").sockets.values()) {
      const p = socket.data.principal as Principal | undefined;
      const matches =
        !filter ||
        (!filter.operatorId && !filter.sessionId && !filter.tokenId) ||
        (filter.operatorId !== undefined && p?.operatorId === filter.operatorId) ||
        (filter.sessionId !== undefined && p?.sessionId === filter.sessionId) ||
        (filter.tokenId !== undefined && p?.tokenId === filter.tokenId);
      if (matches) await recheck(socket);
    }
  }
  // A revocation in this process re-checks its own live connections at once, and those of every other process
  // through the PostgreSQL Socket.IO adapter (serverSideEmit travels on the adapter's channel).
  const onRevoked = (what: Revocation) => {
    void recheckAll(what);
    try {
      io.serverSideEmit(REVOKED_EVENT, what);
    } catch {
      // The in-memory adapter (no PostgreSQL adapter attached) has no other servers to tell.
    }
  };
  io.on(REVOKED_EVENT, (what: Revocation) => void recheckAll(what));
  relayAgentRows(io);
  app.auth.revocations.on("revoked", onRevoked);
  const timer = setInterval(() => void recheckAll(), SOCKET_RECHECK_MS);
  timer.unref();
  server.on("close", () => {
    clearInterval(timer);
    app.auth.revocations.off("revoked", onRevoked);
  });

  app.setBroadcaster(io);
  // A process that serves consoles tells them when the workers or the queue change (server/system/health.ts).
  app.healthWatcher.start();

  if (pages?.upgrade) {
    server.on("upgrade", (req, socket, head) => {
      if (!(req.url ?? "").startsWith("/socket.io")) void pages.upgrade!(req, socket, head);
    });
  }
  return { server, io, limits };
}

/** Server-to-server Socket.IO event: credentials were revoked (payload: a Revocation). */
export const REVOKED_EVENT = "mc:credentials-revoked";

/** Collapses repeated slashes and drops a trailing one: `//api/agent/heartbeat/` → `/api/agent/heartbeat`. */
export function normaliseApiPath(path: string): string {
  const collapsed = path.replace(/\/{2,}/g, "/");
  return collapsed.length > 1 ? collapsed.replace(/\/$/, "") : collapsed;
}

function contentType(req: http.IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
}

/** Cheap enough for a load balancer's probe every second: no job table scan. 503 while the process drains. */
async function readyz(app: App, res: http.ServerResponse): Promise<void> {
  if (app.draining) return sendJson(res, 503, { ready: false, draining: true, error: "shutting down" });
  try {
    const [, alive] = await Promise.all([app.boss.getQueues([QUEUES.reconcile]), workersAlive(app.db, app.config.QUEUE_SCHEMA)]);
    sendJson(res, 200, { ready: true, database: "ok", queue: "ok", queueSchema: app.config.QUEUE_SCHEMA, workersAlive: alive });
  } catch {
    sendJson(res, 503, { ready: false, error: "database or queue unreachable" });
  }
}

