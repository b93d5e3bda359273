// A fake OpenClaw gateway for the tests: a real WebSocket server (ws:// or wss://) speaking protocol v3 with the
// `connect.challenge` nonce, Ed25519 device-signature verification (v2/v1 payloads, pinned platform, optional manual
// pairing), control-UI mode, in-memory agents / files / config / sessions, and the 17 methods Mission Control's
// predecessor used. It can be told to misbehave: refuse auth, drop connections, answer slowly, report an old version,
// say "not found" for a while after `agents.create`, and restart (close every connection, refuse new ones) after
// `config.patch`. It can also act as the agents' runtime: on `chat.send` it POSTs a heartbeat with the token it was
// given in TOOLS.md.
import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import {
  CONTROL_UI_CLIENT,
  deviceAuthPayload,
  deviceIdOf,
  parseFrame,
  verifyPayload,
  type ConnectParams,
  type RequestFrame,
} from "../../server/drivers/openclaw-protocol";

export type RuntimeBehaviour = "heartbeat" | "silent";

export interface FakeOpenClawOptions {
  /** `payload.server.version` of the connect answer. */
  version: string;
  /** Send `connect.challenge` with a nonce first. */
  challenge: boolean;
  /** The gateway token connect must carry (null: none required). */
  token: string | null;
  /** Accept the control UI without a device (gateway.controlUi.allowInsecureAuth). */
  allowControlUi: boolean;
  /** "auto" approves every correctly signed device; "manual" answers "pairing required" until `approve(deviceId)`. */
  pairing: "auto" | "manual";
  /** Answer every connect with "unauthorized" and close with 1008. */
  refuseAuth: boolean;
  /** Answer connect with `missing scope: <scope>`. */
  missingScope: string | null;
  /** Kill the TCP connection as soon as a request arrives. */
  dropConnections: boolean;
  /** Delay of every answer (connect included), in ms. */
  slowMs: number;
  /** Only these methods are slow (null: all of them). */
  slowMethods: string[] | null;
  /** `agents.update` says "not found" for this long after `agents.create`. */
  notFoundAfterCreateMs: number;
  /** A `config.patch` restarts the gateway: every connection is closed (1012) and new ones get 503 for a while. */
  restartOnPatch: boolean;
  restartDelayMs: number;
  restartDowntimeMs: number;
  /**
   * Instead of after restartDelayMs: restart when the n-th request after the patch arrives (it is dropped unanswered,
   * as a call in flight during a real restart).
   */
  restartAtRequest: number | null;
  /** Reject a `config.patch` whose baseHash is not the current hash. */
  checkBaseHash: boolean;
  /** What an agent does when a `chat.send` reaches it. */
  runtime: RuntimeBehaviour | ((agent: { id: string; name: string }) => RuntimeBehaviour);
  /** wss:// with this key and certificate. */
  tls: { key: string; cert: string } | null;
}

export interface ReceivedRequest {
  connection: number;
  method: string;
  params: Record<string, unknown>;
}

export interface FakeAgent {
  id: string;
  name: string;
  workspace: string;
  createdAt: number;
}

export interface FakeSession {
  key: string;
  label?: string;
  messages: { role: string; content: string; idempotencyKey?: string }[];
}

export interface HeartbeatSent {
  agentId: string;
  status: number;
  token: string | null;
  url: string | null;
}

interface Conn {
  id: number;
  ws: WebSocket;
  origin: string | undefined;
  nonce: string | null;
  connected: boolean;
}

const SUPPORTED_FILES = ["AGENTS.md", "SOUL.md", "TOOLS.md", "IDENTITY.md", "USER.md", "HEARTBEAT.md", "BOOTSTRAP.md", "MEMORY.md", "memory.md"];
const METHODS = [
  "health",
  "config.get",
  "config.patch",
  "agents.create",
  "agents.update",
  "agents.delete",
  "agents.files.list",
  "agents.files.get",
  "agents.files.set",
  "agents.files.delete",
  "sessions.patch",
  "sessions.reset",
  "sessions.delete",
  "sessions.list",
  "chat.send",
  "chat.history",
];

const DEFAULTS: FakeOpenClawOptions = {
  version: "2026.4.1",
  challenge: true,
  token: null,
  allowControlUi: false,
  pairing: "auto",
  refuseAuth: false,
  missingScope: null,
  dropConnections: false,
  slowMs: 0,
  slowMethods: null,
  notFoundAfterCreateMs: 500,
  restartOnPatch: true,
  restartDelayMs: 0,
  restartDowntimeMs: 150,
  restartAtRequest: null,
  checkBaseHash: true,
  runtime: "silent",
  tls: null,
};

class MethodError extends Error {
  constructor(
    message: string,
    readonly code = "INVALID_REQUEST",
  ) {
    super(message);
  }
}

function clone<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

/** RFC 7396 JSON merge patch (objects merge, arrays and scalars replace, null deletes). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> = target && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function normalizeAgentId(name: string): string {
  return name.trim().toLowerCase().replace(/[^a-z0-9_-]+/g, "-").slice(0, 64);
}

export class FakeOpenClaw {
  opts: FakeOpenClawOptions;
  url = "";
  /** Accepted WebSocket connections so far. */
  connections = 0;
  /** Every request in arrival order, `connect` included. */
  received: ReceivedRequest[] = [];
  connectParams: ConnectParams[] = [];
  /** Handshakes whose device signature verified: which payload version, which nonce. */
  verifiedDevices: { deviceId: string; payload: "v1" | "v2"; nonce: string | null; platform: string }[] = [];
  controlUiConnects: { origin: string | undefined }[] = [];
  rejectedConnects: string[] = [];
  restarts = 0;
  readonly agents = new Map<string, FakeAgent>();
  readonly files = new Map<string, Map<string, string>>();
  readonly sessions = new Map<string, FakeSession>();
  config: Record<string, unknown> = { agents: { list: [] }, meta: { lastTouchedVersion: DEFAULTS.version } };
  hash = "";
  readonly approved = new Set<string>();
  readonly pendingPairing = new Set<string>();
  readonly pinnedPlatform = new Map<string, string>();
  readonly heartbeats: HeartbeatSent[] = [];
  chatSends = 0;

  private server!: http.Server | https.Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly clients = new Set<Conn>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly work = new Set<Promise<unknown>>();
  private readonly seenIdempotency = new Set<string>();
  private readonly loops = new Map<string, NodeJS.Timeout>();
  private downUntil = 0;
  /** Requests left until a pending restart (restartAtRequest). */
  private restartCountdown: number | null = null;

  private constructor(opts: Partial<FakeOpenClawOptions>) {
    this.opts = { ...DEFAULTS, ...opts };
    this.rehash();
  }

  static async start(opts: Partial<FakeOpenClawOptions> = {}): Promise<FakeOpenClaw> {
    const fake = new FakeOpenClaw(opts);
    await fake.listen();
    return fake;
  }

  /** Change behaviour at run time (misbehave, recover). */
  set(opts: Partial<FakeOpenClawOptions>): void {
    Object.assign(this.opts, opts);
  }

  approve(deviceId: string): void {
    this.approved.add(deviceId);
    this.pendingPairing.delete(deviceId);
  }

  /** Method names received (without `connect`), in order. */
  methods(): string[] {
    return this.received.filter((r) => r.method !== "connect").map((r) => r.method);
  }

  requestsOf(method: string): ReceivedRequest[] {
    return this.received.filter((r) => r.method === method);
  }

  clearLog(): void {
    this.received = [];
    this.connectParams = [];
    this.verifiedDevices = [];
    this.controlUiConnects = [];
    this.rejectedConnects = [];
    this.connections = 0;
    this.restarts = 0;
  }

  /** Connections currently open (a driver must not leave any behind). */
  openConnections(): number {
    return [...this.clients].filter((c) => c.ws.readyState === c.ws.OPEN || c.ws.readyState === c.ws.CONNECTING).length;
  }

  filesOf(agentId: string): Record<string, string> {
    return Object.fromEntries(this.files.get(agentId) ?? []);
  }

  agentEntry(agentId: string): Record<string, unknown> | undefined {
    const list = ((this.config.agents as { list?: Record<string, unknown>[] } | undefined)?.list ?? []) as Record<string, unknown>[];
    return list.find((e) => e.id === agentId);
  }

  /** Simulate a gateway restart: close every connection with 1012 and refuse new ones for `restartDowntimeMs`. */
  restart(): void {
    this.restarts += 1;
    this.downUntil = Date.now() + this.opts.restartDowntimeMs;
    for (const c of this.clients) c.ws.close(1012, "service restart");
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const t of this.loops.values()) clearInterval(t);
    this.loops.clear();
    for (const c of this.clients) c.ws.terminate();
    await Promise.allSettled([...this.work]);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- transport --------------------------------------------------------------------------------------------------

  private async listen(): Promise<void> {
    this.server = this.opts.tls ? https.createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }) : http.createServer();
    this.server.on("request", (_req, res) => {
      res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket only");
    });
    this.server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (Date.now() < this.downUntil) {
        socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
    });
    // A TLS client that refuses our certificate resets the connection: not an error of the fake.
    this.server.on("tlsClientError", () => undefined);
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `${this.opts.tls ? "wss" : "ws"}://127.0.0.1:${port}`;
  }

  private accept(ws: WebSocket, req: http.IncomingMessage): void {
    this.connections += 1;
    const conn: Conn = {
      id: this.connections,
      ws,
      origin: typeof req.headers.origin === "string" ? req.headers.origin : undefined,
      nonce: this.opts.challenge ? randomUUID() : null,
      connected: false,
    };
    this.clients.add(conn);
    ws.on("close", () => this.clients.delete(conn));
    ws.on("error", () => undefined);
    ws.on("message", (data) => this.onFrame(conn, data.toString()));
    if (conn.nonce) this.send(conn, { type: "event", event: "connect.challenge", payload: { nonce: conn.nonce, ts: Date.now() } });
  }

  private send(conn: Conn, frame: unknown): void {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(frame));
  }

  private later(ms: number, fn: () => void): void {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private onFrame(conn: Conn, text: string): void {
    const frame = parseFrame(text);
    if (!frame || frame.type !== "req") return;
    const params = (frame.params && typeof frame.params === "object" ? frame.params : {}) as Record<string, unknown>;
    this.received.push({ connection: conn.id, method: frame.method, params });
    if (this.opts.dropConnections) {
      conn.ws.terminate();
      return;
    }
    if (this.restartCountdown !== null && frame.method !== "connect" && --this.restartCountdown <= 0) {
      this.restartCountdown = null;
      this.restart();
      return;
    }
    const slow = !this.opts.slowMethods || this.opts.slowMethods.includes(frame.method);
    this.later(slow ? this.opts.slowMs : 0, () => this.answer(conn, frame, params));
  }

  private answer(conn: Conn, frame: RequestFrame, params: Record<string, unknown>): void {
    if (frame.method === "connect") return this.onConnect(conn, frame.id, params as unknown as ConnectParams);
    if (!conn.connected) {
      this.send(conn, { type: "res", id: frame.id, ok: false, error: { code: "INVALID_REQUEST", message: "first request must be connect" } });
      conn.ws.close(1008, "connect first");
      return;
    }
    let after: (() => void) | undefined;
    try {
      const payload = this.dispatch(frame.method, params, (fn) => (after = fn));
      this.send(conn, { type: "res", id: frame.id, ok: true, payload });
    } catch (err) {
      const e = err as MethodError;
      this.send(conn, { type: "res", id: frame.id, ok: false, error: { code: e.code ?? "UNAVAILABLE", message: e.message } });
    }
    after?.();
  }

  // ---- handshake ------------------------------------------------------------------------------------------------

  private refuse(conn: Conn, id: string, message: string, code = "UNAUTHORIZED"): void {
    this.rejectedConnects.push(message);
    this.send(conn, { type: "res", id, ok: false, error: { code, message } });
    conn.ws.close(1008, message.slice(0, 100));
  }

  private onConnect(conn: Conn, id: string, p: ConnectParams): void {
    this.connectParams.push(clone(p));
    if (p.minProtocol > 3 || p.maxProtocol < 3) return this.refuse(conn, id, "protocol mismatch: server speaks 3", "INVALID_REQUEST");
    if (this.opts.refuseAuth) return this.refuse(conn, id, "unauthorized: gateway token mismatch");
    if (this.opts.token && p.auth?.token !== this.opts.token) return this.refuse(conn, id, "unauthorized: gateway token missing or invalid");
    if (this.opts.missingScope) return this.refuse(conn, id, `missing scope: ${this.opts.missingScope}`, "FORBIDDEN");
    if (!["linux", "darwin", "windows"].includes(p.client?.platform)) {
      return this.refuse(conn, id, `invalid client platform "${p.client?.platform}"`, "INVALID_REQUEST");
    }
    if (p.device) {
      const d = p.device;
      const raw = Buffer.from(d.publicKey ?? "", "base64url");
      if (raw.length !== 32 || deviceIdOf(raw) !== d.id) return this.refuse(conn, id, "device identity mismatch: id is not the hash of the public key");
      if (conn.nonce && d.nonce !== conn.nonce) return this.refuse(conn, id, "device signature invalid: nonce does not match the challenge");
      if (Math.abs(Date.now() - d.signedAt) > 10 * 60_000) return this.refuse(conn, id, "device signature expired");
      const payload = deviceAuthPayload({
        deviceId: d.id,
        clientId: p.client.id,
        clientMode: p.client.mode,
        role: p.role,
        scopes: p.scopes,
        signedAtMs: d.signedAt,
        token: p.auth?.token ?? null,
        nonce: conn.nonce ? d.nonce : null,
      });
      if (!verifyPayload(d.publicKey, payload, d.signature)) return this.refuse(conn, id, "device signature invalid");
      const pinned = this.pinnedPlatform.get(d.id);
      if (pinned && pinned !== p.client.platform) {
        return this.refuse(conn, id, `device platform mismatch: paired as ${pinned}, connecting as ${p.client.platform}`);
      }
      if (this.opts.pairing === "manual" && !this.approved.has(d.id)) {
        this.pendingPairing.add(d.id);
        return this.refuse(conn, id, "pairing required: this device is not paired", "NOT_PAIRED");
      }
      this.pinnedPlatform.set(d.id, p.client.platform);
      this.verifiedDevices.push({ deviceId: d.id, payload: conn.nonce ? "v2" : "v1", nonce: conn.nonce, platform: p.client.platform });
    } else {
      const ui = p.client?.id === CONTROL_UI_CLIENT.id && p.client?.mode === CONTROL_UI_CLIENT.mode;
      if (!ui || !this.opts.allowControlUi) return this.refuse(conn, id, "device identity required");
      if (!conn.origin) return this.refuse(conn, id, "origin not allowed: the control UI must send an Origin header");
      this.controlUiConnects.push({ origin: conn.origin });
    }
    conn.connected = true;
    this.send(conn, {
      type: "res",
      id,
      ok: true,
      payload: {
        type: "hello-ok",
        protocol: 3,
        server: { version: this.opts.version, connId: `conn-${conn.id}` },
        features: { methods: METHODS, events: ["connect.challenge", "chat", "presence", "tick", "health", "shutdown"] },
        snapshot: {},
        policy: { maxPayload: 25 * 1024 * 1024, tickIntervalMs: 30_000 },
      },
    });
  }

  // ---- methods ----------------------------------------------------------------------------------------------------

  private rehash(): void {
    this.hash = createHash("sha256").update(JSON.stringify(this.config)).digest("hex").slice(0, 16);
  }

  private agentList(): Record<string, unknown>[] {
    const agents = (this.config.agents ??= { list: [] }) as { list?: Record<string, unknown>[] };
    agents.list ??= [];
    return agents.list;
  }

  private requireAgent(agentId: unknown): FakeAgent {
    const agent = this.agents.get(String(agentId ?? ""));
    if (!agent) throw new MethodError(`agent "${String(agentId)}" not found`, "NOT_FOUND");
    return agent;
  }

  private agentOfSession(key: string): FakeAgent | undefined {
    const m = /^agent:([^:]+):/.exec(key);
    return m ? this.agents.get(m[1]) : undefined;
  }

  private dispatch(method: string, p: Record<string, unknown>, after: (fn: () => void) => void): unknown {
    switch (method) {
      case "health":
        return { ok: true, ts: Date.now() };
      case "config.get":
        return { hash: this.hash, config: clone(this.config), valid: true };
      case "config.patch": {
        if (typeof p.raw !== "string") throw new MethodError("config.patch requires raw");
        if (this.opts.checkBaseHash && p.baseHash !== undefined && p.baseHash !== this.hash) {
          throw new MethodError("config changed since last load; re-run config.get (base hash mismatch)");
        }
        let patch: unknown;
        try {
          patch = JSON.parse(p.raw);
        } catch {
          throw new MethodError("config.patch raw is not valid JSON");
        }
        this.config = mergePatch(this.config, patch) as Record<string, unknown>;
        this.rehash();
        if (this.opts.restartOnPatch && this.opts.restartAtRequest) this.restartCountdown = this.opts.restartAtRequest;
        else if (this.opts.restartOnPatch) after(() => this.later(this.opts.restartDelayMs, () => this.restart()));
        return { ok: true, hash: this.hash, restart: this.opts.restartOnPatch };
      }
      case "agents.create": {
        const name = String(p.name ?? "").trim();
        const workspace = String(p.workspace ?? "").trim();
        if (!name || !workspace) throw new MethodError("invalid agents.create params: name and workspace are required");
        const id = normalizeAgentId(name);
        if (id === "main") throw new MethodError(`"main" is reserved`);
        if (this.agents.has(id)) throw new MethodError(`agent "${id}" already exists`);
        this.agents.set(id, { id, name, workspace, createdAt: Date.now() });
        this.files.set(id, new Map());
        this.agentList().push({ id, workspace });
        this.rehash();
        return { ok: true, agentId: id, name, workspace };
      }
      case "agents.update": {
        const agent = this.requireAgent(p.agentId);
        if (Date.now() - agent.createdAt < this.opts.notFoundAfterCreateMs) throw new MethodError(`agent "${agent.id}" not found`, "NOT_FOUND");
        if (typeof p.name === "string") agent.name = p.name;
        if (typeof p.workspace === "string") agent.workspace = p.workspace;
        return { ok: true, agentId: agent.id };
      }
      case "agents.delete": {
        const agent = this.requireAgent(p.agentId);
        this.agents.delete(agent.id);
        this.files.delete(agent.id);
        this.stopAgent(agent.id);
        const agents = this.config.agents as { list: Record<string, unknown>[] };
        agents.list = this.agentList().filter((e) => e.id !== agent.id);
        this.rehash();
        for (const key of [...this.sessions.keys()]) if (key.startsWith(`agent:${agent.id}:`)) this.sessions.delete(key);
        return { ok: true, agentId: agent.id, removedBindings: 0 };
      }
      case "agents.files.list": {
        const agent = this.requireAgent(p.agentId);
        const files = this.files.get(agent.id)!;
        return {
          agentId: agent.id,
          workspace: agent.workspace,
          files: SUPPORTED_FILES.filter((n) => n !== "memory.md").map((name) => ({
            name,
            path: `${agent.workspace}/${name}`,
            missing: !files.has(name),
            size: files.get(name)?.length,
          })),
        };
      }
      case "agents.files.get": {
        const agent = this.requireAgent(p.agentId);
        const name = String(p.name ?? "");
        if (!SUPPORTED_FILES.includes(name)) throw new MethodError(`unsupported file "${name}"`);
        const content = this.files.get(agent.id)!.get(name);
        return { agentId: agent.id, workspace: agent.workspace, file: { name, path: `${agent.workspace}/${name}`, missing: content === undefined, content } };
      }
      case "agents.files.set": {
        const agent = this.requireAgent(p.agentId);
        const name = String(p.name ?? "");
        if (!SUPPORTED_FILES.includes(name)) throw new MethodError(`unsupported file "${name}"`);
        if (typeof p.content !== "string") throw new MethodError("invalid agents.files.set params: content must be a string");
        this.files.get(agent.id)!.set(name, p.content);
        return { ok: true, agentId: agent.id, workspace: agent.workspace, file: { name, size: p.content.length } };
      }
      case "agents.files.delete": {
        const agent = this.requireAgent(p.agentId);
        const name = String(p.name ?? "");
        if (!this.files.get(agent.id)!.delete(name)) throw new MethodError(`no such file "${name}"`);
        return { ok: true };
      }
      case "sessions.patch": {
        const key = String(p.key ?? "");
        const agent = this.agentOfSession(key);
        if (!agent) throw new MethodError(`agent "${key.split(":")[1] ?? ""}" not found`, "NOT_FOUND");
        const s = this.sessions.get(key) ?? { key, messages: [] };
        if (typeof p.label === "string") s.label = p.label;
        this.sessions.set(key, s);
        return { ok: true, key, entry: { key, label: s.label, updatedAt: Date.now() } };
      }
      case "sessions.reset": {
        const key = String(p.key ?? "");
        const s = this.sessions.get(key);
        if (!s) throw new MethodError(`unknown session: ${key}`, "NOT_FOUND");
        s.messages = [];
        return { ok: true, key };
      }
      case "sessions.delete": {
        const key = String(p.key ?? "");
        if (!this.sessions.delete(key)) throw new MethodError(`unknown session: ${key}`, "NOT_FOUND");
        return { ok: true, key };
      }
      case "sessions.list":
        return { sessions: [...this.sessions.values()].map((s) => ({ key: s.key, label: s.label })) };
      case "chat.send": {
        const key = String(p.sessionKey ?? "");
        const s = this.sessions.get(key);
        if (!s) throw new MethodError(`unknown session: ${key}`, "NOT_FOUND");
        const idem = typeof p.idempotencyKey === "string" ? p.idempotencyKey : undefined;
        if (!idem) throw new MethodError("invalid chat.send params: idempotencyKey is required");
        if (this.seenIdempotency.has(idem)) return { runId: idem, status: "in_flight" };
        this.seenIdempotency.add(idem);
        this.chatSends += 1;
        s.messages.push({ role: "user", content: String(p.message ?? ""), idempotencyKey: idem });
        const agent = this.agentOfSession(key);
        if (agent) after(() => this.runAgent(agent));
        return { runId: idem, status: "started" };
      }
      case "chat.history": {
        const s = this.sessions.get(String(p.sessionKey ?? ""));
        if (!s) throw new MethodError(`unknown session: ${String(p.sessionKey)}`, "NOT_FOUND");
        const limit = typeof p.limit === "number" ? p.limit : 200;
        return { messages: s.messages.slice(-limit) };
      }
      default:
        throw new MethodError(`unknown method: ${method}`);
    }
  }

  // ---- the agent runtime ------------------------------------------------------------------------------------------

  /**
   * Acts like an agent would: on a wake it checks in (token from TOOLS.md, URL from HEARTBEAT.md), then keeps checking
   * in at the `heartbeat.every` of its config entry, until it is deleted or the gateway stops.
   */
  private runAgent(agent: FakeAgent): void {
    const behaviour = typeof this.opts.runtime === "function" ? this.opts.runtime({ id: agent.id, name: agent.name }) : this.opts.runtime;
    if (behaviour !== "heartbeat") return;
    this.heartbeatOnce(agent.id, 20);
    if (this.loops.has(agent.id)) return;
    const every = String((this.agentEntry(agent.id)?.heartbeat as { every?: unknown } | undefined)?.every ?? "");
    const m = /^(\d+)(s|m)$/.exec(every);
    if (!m) return;
    const ms = Number(m[1]) * (m[2] === "m" ? 60_000 : 1000);
    this.loops.set(
      agent.id,
      setInterval(() => {
        if (!this.agents.has(agent.id)) {
          clearInterval(this.loops.get(agent.id));
          this.loops.delete(agent.id);
          return;
        }
        this.heartbeatOnce(agent.id, 0);
      }, ms),
    );
  }

  /** Stop an agent's heartbeat loop (a crashed runtime). */
  stopAgent(agentId: string): void {
    clearInterval(this.loops.get(agentId));
    this.loops.delete(agentId);
  }

  private heartbeatOnce(agentId: string, delayMs: number): void {
    const files = this.files.get(agentId) ?? new Map<string, string>();
    const token = /MC_AGENT_TOKEN=(\S+)/.exec(files.get("TOOLS.md") ?? "")?.[1] ?? null;
    const url = /-X POST (\S+)/.exec(files.get("HEARTBEAT.md") ?? "")?.[1] ?? null;
    const run = (async () => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (!url) {
        this.heartbeats.push({ agentId, status: 0, token, url });
        return;
      }
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { "x-agent-token": token } : {}) },
        body: JSON.stringify({ status: "online", note: "fake openclaw runtime" }),
      }).catch(() => null);
      await res?.text().catch(() => "");
      this.heartbeats.push({ agentId, status: res?.status ?? 0, token, url });
    })();
    this.work.add(run);
    void run.finally(() => this.work.delete(run));
  }
}
