// One port for everything (SPEC §10): the agent API, tRPC, service endpoints, Socket.IO and the Next.js pages.
// API routes are served here rather than as Next route handlers so that they share this process's single database
// pool, queue and socket server (Next bundles its own copy of every module it compiles).
import http from "node:http";
import type { Duplex } from "node:stream";
import { Server as SocketServer } from "socket.io";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { z } from "zod";
import type { App } from "../app";
import { appRouter } from "../trpc/root";
import { metrics } from "../metrics";
import { rooms } from "../realtime/publisher";
import { handleAgentApi } from "./agent-api";
import { handleAuthRoute } from "./auth-routes";
import { sendJson, sendText } from "./body";

export interface PageHandler {
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  upgrade?(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
}

const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
  "content-security-policy": "frame-ancestors 'none'",
};

/** Pages anyone may load; everything else needs a signed-in operator. */
const PUBLIC_PAGE = /^\/(login(\/|$)|_next\/|favicon\.ico$|icon\.|robots\.txt$)/;

const subscription = z.object({ rooms: z.array(z.string().regex(/^(fleet|(gateway|board|agent):[0-9a-f-]{36})$/)).max(100) }).strict();

export function createHttpServer(app: App, pages?: PageHandler): { server: http.Server; io: SocketServer } {
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: "/api/trpc/",
    maxBodySize: 1024 * 1024,
    createContext: async ({ req }) => ({
      app,
      principal: await app.auth.fromHeaders({ cookie: req.headers.cookie, authorization: req.headers.authorization }),
    }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") app.logger.error({ err: error.cause ?? error, path }, "tRPC procedure failed");
    },
  });

  const server = http.createServer(async (req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const path = (req.url ?? "/").split("?")[0];
    try {
      if (path.startsWith("/api/trpc/")) return await trpc(req, res);
      if (path.startsWith("/api/agent/")) return await handleAgentApi(app, req, res, path);
      if (path.startsWith("/api/auth/")) return await handleAuthRoute(app, req, res, path);
      if (path === "/api/healthz") return sendJson(res, 200, { ok: true });
      if (path === "/api/readyz") return await readyz(app, res);
      if (path === "/api/metrics") return await metricsRoute(app, req, res);
      if (path.startsWith("/api/")) return sendJson(res, 404, { error: "Not found" });
      if (!pages) return sendText(res, 404, "No pages in this process");
      if (!PUBLIC_PAGE.test(path)) {
        const principal = await app.auth.fromHeaders({ cookie: req.headers.cookie });
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

  const io = new SocketServer(server, { path: "/socket.io", serveClient: false });
  io.use(async (socket, next) => {
    try {
      const token = typeof socket.handshake.auth?.token === "string" ? socket.handshake.auth.token : undefined;
      const principal = await app.auth.fromHeaders({
        cookie: socket.handshake.headers.cookie,
        authorization: token ? `Bearer ${token}` : socket.handshake.headers.authorization,
      });
      if (!principal) return next(new Error("unauthorized"));
      socket.data.principal = principal;
      next();
    } catch {
      next(new Error("unavailable"));
    }
  });
  io.on("connection", (socket) => {
    socket.on("subscribe", (payload: unknown, ack?: (r: unknown) => void) => {
      const parsed = subscription.safeParse(payload);
      if (!parsed.success) return ack?.({ ok: false, error: "rooms must be fleet, gateway:<id>, board:<id> or agent:<id>" });
      void socket.join(parsed.data.rooms);
      ack?.({ ok: true, rooms: parsed.data.rooms });
    });
    socket.on("unsubscribe", (payload: unknown) => {
      const parsed = subscription.safeParse(payload);
      if (parsed.success) for (const room of parsed.data.rooms) void socket.leave(room);
    });
  });
  app.setBroadcaster(io);

  if (pages?.upgrade) {
    server.on("upgrade", (req, socket, head) => {
      if (!(req.url ?? "").startsWith("/socket.io")) void pages.upgrade!(req, socket, head);
    });
  }
  return { server, io };
}

async function readyz(app: App, res: http.ServerResponse): Promise<void> {
  try {
    await app.db.$queryRaw`SELECT 1`;
    const health = await app.health();
    sendJson(res, 200, { ready: true, database: "ok", queue: "ok", queueSchema: health.queueSchema, workersAlive: health.workersAlive });
  } catch {
    sendJson(res, 503, { ready: false, error: "database or queue unreachable" });
  }
}

async function metricsRoute(app: App, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const principal = await app.auth.fromHeaders({ cookie: req.headers.cookie, authorization: req.headers.authorization });
  if (!principal && process.env.MC_METRICS_PUBLIC !== "1") return sendJson(res, 401, { error: "Sign in or send an operator API token" });
  sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
}

export { rooms };
