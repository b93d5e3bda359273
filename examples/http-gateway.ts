// A complete Mission Control HTTP gateway in one file (contract: docs/gateway-http.md). It uses only Node's standard
// library, so it can be copied into any project as the starting point of a gateway for another runtime.
//
//   npx tsx examples/http-gateway.ts --port 4555 --token <gateway token> [--host 127.0.0.1] [--silent] [--delay-ms 1000]
//
// It verifies the bearer token and the X-MC-Signature of every request, keeps its agents in memory, and "runs" each
// agent as a timer: on every wake the agent POSTs its heartbeat to its heartbeatUrl with its own token after ~1 s,
// then every nextHeartbeatSeconds that Mission Control answers. With --silent the agents never check in (to watch a
// cycle end offline). A real gateway would start its runtime's agent here, with HEARTBEAT.md telling it what to do.
import http from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const EXAMPLE_GATEWAY_VERSION = "example-http-gateway/1.0.0";
const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpGatewayOptions {
  port: number;
  /** The gateway token configured for this gateway in Mission Control. */
  token: string;
  host?: string;
  /** Agents never check in. */
  silent?: boolean;
  /** Delay between a wake and the agent's first heartbeat (default 1000 ms). */
  checkinDelayMs?: number;
  log?: (line: string) => void;
}

export interface ExampleAgent {
  id: string;
  name: string;
  kind: string;
  boardId: string | null;
  sessionKey: string;
  /** The agent's own heartbeat token (from the provision request). A real runtime gives it to the agent as MC_AGENT_TOKEN. */
  token: string;
  heartbeatUrl: string;
  files: Record<string, string>;
  /** A new session on every provision. */
  session: number;
  wakes: number;
  heartbeatsSent: number;
  lastHeartbeatStatus: number | null;
  timer?: NodeJS.Timeout;
}

export interface HttpGatewayHandle {
  url: string;
  port: number;
  agents: Map<string, ExampleAgent>;
  close(): Promise<void>;
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** `sha256=<hex HMAC-SHA256 of the raw body keyed with the gateway token>`, compared in constant time. */
export function verifySignature(rawBody: Buffer, header: string | undefined, token: string): boolean {
  const expected = Buffer.from("sha256=" + createHmac("sha256", token).update(rawBody).digest("hex"));
  const given = Buffer.from(header ?? "");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  if (!match) return false;
  const a = createHmac("sha256", "compare").update(match[1]).digest();
  const b = createHmac("sha256", "compare").update(token).digest();
  return timingSafeEqual(a, b);
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpProblem(413, "body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function json(raw: Buffer): Record<string, unknown> {
  try {
    const value = JSON.parse(raw.toString("utf8"));
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpProblem(400, "body must be a JSON object");
}

function isFiles(value: unknown): value is Record<string, string> {
  return Boolean(value) && typeof value === "object" && Object.values(value as object).every((v) => typeof v === "string");
}

export async function startHttpGateway(opts: HttpGatewayOptions): Promise<HttpGatewayHandle> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const delayMs = opts.checkinDelayMs ?? 1000;
  const agents = new Map<string, ExampleAgent>();
  let closed = false;

  const stopAgent = (agent: ExampleAgent) => {
    if (agent.timer) clearTimeout(agent.timer);
    agent.timer = undefined;
  };

  /** The agent's side of the contract: check in, then keep checking in at the interval Mission Control asks for. */
  const heartbeat = async (agent: ExampleAgent, session: number) => {
    if (closed || agents.get(agent.id) !== agent || agent.session !== session) return;
    let nextSeconds = 60;
    try {
      const res = await fetch(agent.heartbeatUrl, {
        method: "POST",
        headers: { "x-agent-token": agent.token, "content-type": "application/json" },
        body: JSON.stringify({ status: "online", note: `${EXAMPLE_GATEWAY_VERSION} session ${session}` }),
        signal: AbortSignal.timeout(10_000),
      });
      agent.heartbeatsSent += 1;
      agent.lastHeartbeatStatus = res.status;
      const body = (await res.json().catch(() => ({}))) as { nextHeartbeatSeconds?: unknown };
      if (res.status === 401) {
        // Wrong or revoked token: stop and let the operator see it (retrying in a loop does not help).
        log(`agent ${agent.name}: heartbeat refused (401); waiting for a new provision`);
        return;
      }
      if (res.status === 429) nextSeconds = Number(res.headers.get("retry-after")) || 5;
      else if (!res.ok) nextSeconds = 5;
      else if (typeof body.nextHeartbeatSeconds === "number" && body.nextHeartbeatSeconds > 0) nextSeconds = body.nextHeartbeatSeconds;
    } catch (err) {
      agent.lastHeartbeatStatus = null;
      log(`agent ${agent.name}: heartbeat failed (${(err as Error).message}); retrying in 5 s`);
      nextSeconds = 5;
    }
    if (closed || agents.get(agent.id) !== agent || agent.session !== session) return;
    agent.timer = setTimeout(() => void heartbeat(agent, session), nextSeconds * 1000);
    agent.timer.unref();
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    // 1. Authenticate: bearer token and signature of the exact bytes received (before parsing anything).
    if (!bearerMatches(req.headers.authorization, opts.token)) throw new HttpProblem(401, "bad or missing bearer token");
    const signature = req.headers["x-mc-signature"];
    if (!verifySignature(raw, Array.isArray(signature) ? signature[0] : signature, opts.token)) throw new HttpProblem(401, "bad or missing X-MC-Signature");

    const url = new URL(req.url ?? "/", "http://gateway");
    if (req.method === "GET" && url.pathname === "/health") {
      return send(res, 200, { version: EXAMPLE_GATEWAY_VERSION, agents: agents.size });
    }
    const match = /^\/agents\/([^/]+)(?:\/(provision|wake|files))?$/.exec(url.pathname);
    if (!match) throw new HttpProblem(404, "no such endpoint");
    const agentId = decodeURIComponent(match[1]);
    const action = match[2];

    if (req.method === "POST" && action === "provision") {
      const body = json(raw);
      const agent = body.agent as Partial<ExampleAgent> | undefined;
      if (!agent || agent.id !== agentId || typeof body.token !== "string" || typeof body.heartbeatUrl !== "string" || !isFiles(body.files)) {
        throw new HttpProblem(400, "expected {agent: {id, name, kind, boardId, sessionKey}, token, baseUrl, heartbeatUrl, files}");
      }
      const previous = agents.get(agentId);
      if (previous) stopAgent(previous);
      // Create or update, write the files, and reset the session: a fresh start with the new token.
      agents.set(agentId, {
        id: agentId,
        name: String(agent.name ?? agentId),
        kind: String(agent.kind ?? ""),
        boardId: (agent.boardId as string | null) ?? null,
        sessionKey: String(agent.sessionKey ?? ""),
        token: body.token,
        heartbeatUrl: body.heartbeatUrl,
        files: { ...body.files },
        session: (previous?.session ?? 0) + 1,
        wakes: 0,
        heartbeatsSent: 0,
        lastHeartbeatStatus: null,
      });
      log(`provisioned ${agent.name} (${agentId}), ${Object.keys(body.files).length} files, session ${(previous?.session ?? 0) + 1}`);
      return send(res, 200, { ok: true });
    }

    if (req.method === "POST" && action === "wake") {
      const agent = agents.get(agentId);
      if (!agent) throw new HttpProblem(404, "agent not provisioned on this gateway");
      const body = json(raw);
      agent.wakes += 1;
      stopAgent(agent);
      log(`wake ${body.attempt} (generation ${body.generation}) for ${agent.name}, deadline ${body.deadlineAt}${opts.silent ? " — silent, ignoring" : ""}`);
      if (!opts.silent) {
        const session = agent.session;
        agent.timer = setTimeout(() => void heartbeat(agent, session), delayMs);
        agent.timer.unref();
      }
      // Accept at once: the wake is delivered; the check-in happens asynchronously.
      return send(res, 202, { ok: true });
    }

    if (req.method === "POST" && action === "files") {
      const agent = agents.get(agentId);
      if (!agent) throw new HttpProblem(404, "agent not provisioned on this gateway");
      const body = json(raw);
      if (!isFiles(body.files)) throw new HttpProblem(400, "expected {files: {NAME: content}}");
      // Template sync: replace the files, leave the session and the agent's run alone.
      agent.files = { ...body.files };
      log(`files of ${agent.name} updated (${Object.keys(body.files).length})`);
      return send(res, 200, { ok: true });
    }

    if (req.method === "DELETE" && !action) {
      const agent = agents.get(agentId);
      if (!agent) throw new HttpProblem(404, "agent not provisioned on this gateway");
      stopAgent(agent);
      agents.delete(agentId);
      log(`deleted ${agent.name}`);
      res.writeHead(204).end();
      return;
    }
    throw new HttpProblem(405, "method not allowed");
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      const status = err instanceof HttpProblem ? err.status : 500;
      if (status === 500) log(`error: ${(err as Error).message}`);
      if (!res.headersSent) send(res, status, { error: err instanceof HttpProblem ? err.message : "internal error" });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as { port: number };
  const host = opts.host && opts.host !== "0.0.0.0" && opts.host !== "::" ? opts.host : "127.0.0.1";
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
  log(`HTTP gateway listening on ${url}${opts.silent ? " (silent agents)" : ""}`);

  return {
    url,
    port: address.port,
    agents,
    async close() {
      closed = true;
      for (const agent of agents.values()) stopAgent(agent);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function parseArgs(argv: string[]): HttpGatewayOptions {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const token = value("--token") ?? process.env.MC_GATEWAY_TOKEN;
  if (!token) {
    console.error("usage: npx tsx examples/http-gateway.ts --port 4555 --token <gateway token> [--host 127.0.0.1] [--silent] [--delay-ms 1000]");
    process.exit(2);
  }
  return {
    port: Number(value("--port") ?? 4555),
    token,
    host: value("--host") ?? "127.0.0.1",
    silent: argv.includes("--silent"),
    checkinDelayMs: value("--delay-ms") !== undefined ? Number(value("--delay-ms")) : undefined,
  };
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  startHttpGateway(parseArgs(process.argv.slice(2)))
    .then((gateway) => {
      const stop = () => void gateway.close().then(() => process.exit(0));
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    })
    .catch((err) => {
      console.error(`could not start the gateway: ${(err as Error).message}`);
      process.exit(1);
    });
}
