// A fake OpenClaw gateway for the fast tests: a real WebSocket server (ws:// or wss://) that answers like a real
// release, chosen by profile: "2026.9.6" (protocol 4, the latest) or "2026.4.29" (the last protocol-3 release).
//
// It is checked against reality, not written from memory: test/contract/openclaw-fake.test.ts runs the contract
// scenario (test/contract/openclaw-scenario.ts) against each profile and compares every step with the recording the
// interop suite made of the real release (test/contract/recordings/openclaw-<version>.json). Payload shapes (hello,
// config.get, files, sessions, the run-failure events) follow frames recorded from real gateways. Answers no recording
// shows were read from the releases' own code where it mattered (the refusals of a device proof, pairing details, the
// config size guard); the remaining few are marked "not recorded" and keep to the same codes and wording.
//
// Beyond the scenario it models what Mission Control's driver depends on: the challenge nonce and Ed25519 device
// signatures (verified with the driver's own protocol helpers), token and device-token auth, pairing of remote devices
// (loopback devices are approved silently), the config hash and baseHash rules, the per-release config shape and write
// rate limit, the accepted workspace files, sessions, and chat.send starting a run that either checks in by following
// AGENTS.md (as test/interop/agent-files.ts does for real gateways) or fails with the events a real gateway sends when
// no model provider is configured. Misbehaviours are options: refused auth, dropped connections, slow methods, an old
// version, an unknown future protocol, methods missing from the hello, a stalled challenge, a longer not-found window.
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { deviceAuthPayload, deviceIdOf, parseFrame, verifyPayload, type ConnectParams, type RequestFrame } from "../../server/drivers/openclaw/protocol";
import { checkInInstructions, followCheckIn } from "../interop/agent-files";

export const FAKE_PROFILES = ["2026.9.6", "2026.4.29"] as const;
export type FakeProfileName = (typeof FAKE_PROFILES)[number];

/** What an agent does when a run reaches it: check in as AGENTS.md says, fail (no model provider), or never finish. */
export type RuntimeBehaviour = "checkin" | "fail" | "silent";

interface Profile {
  version: string;
  protocol: number;
  /** Workspace files `agents.files.set/get` accept. */
  files: readonly string[];
  agentsShape: "entries" | "list";
  /** `config.patch` calls allowed per device and address in the rate-limit window (failed ones count too). */
  configPatchLimit: number;
  /** `agents.update` says "not found" this long after `agents.create` (2026.9.6 reloads its config asynchronously). */
  notFoundAfterCreateMs: number;
}

const PROFILES: Record<FakeProfileName, Profile> = {
  "2026.9.6": {
    version: "2026.9.6",
    protocol: 4,
    files: ["AGENTS.md", "SOUL.md", "IDENTITY.md", "USER.md", "BOOTSTRAP.md", "MEMORY.md"],
    agentsShape: "entries",
    configPatchLimit: 30,
    notFoundAfterCreateMs: 300,
  },
  "2026.4.29": {
    version: "2026.4.29",
    protocol: 3,
    files: ["AGENTS.md", "SOUL.md", "TOOLS.md", "IDENTITY.md", "USER.md", "HEARTBEAT.md", "BOOTSTRAP.md", "MEMORY.md"],
    agentsShape: "list",
    configPatchLimit: 3,
    notFoundAfterCreateMs: 0,
  },
};

/** The methods this fake implements (real gateways advertise 145 (2026.4.29) to 459 (2026.9.6), these among them). */
const METHODS = [
  "health",
  "config.get",
  "config.patch",
  "config.schema.lookup",
  "agents.list",
  "agents.create",
  "agents.update",
  "agents.delete",
  "agents.files.list",
  "agents.files.get",
  "agents.files.set",
  "sessions.list",
  "sessions.patch",
  "sessions.reset",
  "sessions.delete",
  "chat.send",
  "chat.history",
  "device.pair.list",
  "device.pair.approve",
];
const EVENTS = ["connect.challenge", "agent", "chat", "sessions.changed", "presence", "tick", "shutdown", "health", "heartbeat", "device.pair.requested", "device.pair.resolved"];
const AGENT_ENTRY_KEYS = ["id", "name", "workspace", "agentDir", "identity", "heartbeat", "model", "tools", "skills", "sandbox", "default"];
const RATE_LIMIT_WINDOW_MS = 60_000;

export interface FakeOpenClawOptions {
  profile: FakeProfileName;
  /** The shared gateway token `connect` must carry (null: none required). */
  token: string | null;
  /** Reports this version instead of the profile's (e.g. one below the minimum). */
  version: string | null;
  /** Speaks only this protocol instead of the profile's (e.g. 5, which no Mission Control speaks yet). */
  protocol: number | null;
  /** Methods left out of the hello and answered as unknown. */
  missingMethods: string[];
  /** Treat every client as remote: a device must be approved (`approve(requestId)`) before it may connect. */
  remote: boolean;
  /** Refuse every connect as a token mismatch. */
  refuseAuth: boolean;
  /** Kill the connection as soon as any request (connect included) arrives. */
  dropConnections: boolean;
  /** Answer these methods ("connect" included) only after this many ms. */
  slow: Record<string, number>;
  /** Overrides the profile's not-found window after `agents.create`. */
  notFoundAfterCreateMs: number | null;
  /** When the challenge is sent after the socket opens; null: never (a stalled gateway). */
  challengeDelayMs: number | null;
  /** Overrides the profile's config write budget, and its window (60 s on real gateways). */
  configPatchLimit: number | null;
  rateLimitWindowMs: number;
  /** What an agent's run does; a function decides per agent (by its id and current name). */
  runtime: RuntimeBehaviour | ((agent: { id: string; name: string }) => RuntimeBehaviour);
  /** How long a run takes to check in or to fail. */
  runDelayMs: number;
  /** The failure a failing run reports (default: the profile's "no model provider" text). */
  runError: string | null;
  /** wss:// with this key and certificate. */
  tls: { key: string; cert: string } | null;
}

const DEFAULTS: Omit<FakeOpenClawOptions, "profile"> = {
  token: null,
  version: null,
  protocol: null,
  missingMethods: [],
  remote: false,
  refuseAuth: false,
  dropConnections: false,
  slow: {},
  notFoundAfterCreateMs: null,
  challengeDelayMs: 0,
  configPatchLimit: null,
  rateLimitWindowMs: RATE_LIMIT_WINDOW_MS,
  runtime: "fail",
  runDelayMs: 100,
  runError: null,
  tls: null,
};

export interface ReceivedRequest {
  connection: number;
  method: string;
  params: Record<string, unknown>;
  /** Filled in when the fake answers (never, for a dropped or unanswered request). */
  answer?: { ok: boolean; error?: GatewayError };
}

export interface GatewayError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  retryable?: boolean;
  retryAfterMs?: number;
}

export interface VerifiedDevice {
  deviceId: string;
  nonce: string;
  platform: string;
  /** The exact payload whose signature verified. */
  signed: string;
}

export interface PairingRequest {
  requestId: string;
  deviceId: string;
  platform: string;
}

export interface RunRecord {
  runId: string;
  agentId: string;
  behaviour: RuntimeBehaviour;
}

export interface HeartbeatSent {
  agentId: string;
  /** HTTP status of the check-in; 0 when there was nothing to follow or nothing answered. */
  status: number;
  url: string | null;
  token: string | null;
}

interface Conn {
  id: number;
  ws: WebSocket;
  address: string;
  nonce: string | null;
  connected: boolean;
  deviceId: string | null;
  eventSeq: number;
}

interface Session {
  key: string;
  sessionId: string;
  label?: string;
  createdAt: number;
  updatedAt: number;
  messages: { role: string; content: string; idempotencyKey?: string }[];
}

class MethodError extends Error {
  constructor(
    message: string,
    readonly error: Omit<GatewayError, "message"> = { code: "INVALID_REQUEST" },
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);
const clone = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

/** RFC 7396 merge patch, as `config.patch` applies it: objects merge, arrays and scalars replace, null deletes. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Json = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The dotted paths of a patch's leaves, in order (what 2026.9.6 names when a baseHash is missing). */
function leafPaths(value: unknown, prefix = ""): string[] {
  if (!isObject(value) || Object.keys(value).length === 0) return prefix ? [prefix] : [];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

/** The shallowest paths where two configs differ (2026.9.6's `changedPaths`). */
function changedPaths(before: unknown, after: unknown, prefix = ""): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => changedPaths(before[k], after[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix];
}

/** OpenClaw's duration syntax ("90s", "2m"), in ms; null when it is not one. */
function durationMs(every: unknown): number | null {
  const m = /^(\d+)(s|m|h)$/.exec(String(every ?? ""));
  return m ? Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "s" | "m" | "h"] : null;
}

export class FakeOpenClaw {
  readonly opts: FakeOpenClawOptions;
  url = "";
  stateDir = "";
  /** Accepted WebSocket connections so far. */
  connections = 0;
  /** Every request in arrival order, `connect` included. */
  received: ReceivedRequest[] = [];
  connectParams: ConnectParams[] = [];
  /** Handshakes whose device signature verified. */
  verifiedDevices: VerifiedDevice[] = [];
  readonly heartbeats: HeartbeatSent[] = [];
  readonly runs: RunRecord[] = [];

  private readonly profile: Profile;
  private config: Json = {};
  private hash = "";
  private readonly hashSecret = randomBytes(16);
  private readonly files = new Map<string, Map<string, { content: string; updatedAtMs: number }>>();
  private readonly sessions = new Map<string, Session>();
  private readonly createdAt = new Map<string, number>();
  private readonly configWrites = new Map<string, number[]>();
  private readonly seenIdempotency = new Set<string>();
  /** Devices the gateway knows: platform pinned at approval, and the device token issued to remote ones. */
  private readonly paired = new Map<string, { platform: string; deviceToken: string | null }>();
  private readonly pending = new Map<string, PairingRequest>();
  private readonly hooks = new Map<string, () => void>();
  private server!: http.Server | https.Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 26_214_400 });
  private readonly clients = new Set<Conn>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly heartbeatTurns = new Map<string, { every: number; timer: NodeJS.Timeout }>();
  private readonly work = new Set<Promise<unknown>>();
  private readonly startedAt = Date.now();

  private constructor(opts: Partial<FakeOpenClawOptions>) {
    this.opts = { ...DEFAULTS, profile: FAKE_PROFILES[0], ...opts };
    this.profile = PROFILES[this.opts.profile];
  }

  static async start(opts: Partial<FakeOpenClawOptions> = {}): Promise<FakeOpenClaw> {
    const fake = new FakeOpenClaw(opts);
    await fake.listen();
    return fake;
  }

  get version(): string {
    return this.opts.version ?? this.profile.version;
  }

  get protocol(): number {
    return this.opts.protocol ?? this.profile.protocol;
  }

  /** Change behaviour at run time (misbehave, recover). */
  set(opts: Partial<Omit<FakeOpenClawOptions, "profile" | "tls">>): void {
    Object.assign(this.opts, opts);
  }

  // ---- what the tests look at -------------------------------------------------------------------------------------

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
    this.connections = 0;
  }

  /** Connections currently open (a driver must not leave any behind). */
  openConnections(): number {
    return [...this.clients].filter((c) => c.ws.readyState === c.ws.OPEN || c.ws.readyState === c.ws.CONNECTING).length;
  }

  hasAgent(agentId: string): boolean {
    return this.agentEntry(agentId) !== undefined;
  }

  /** The agent's entry in the config (`agents.entries.<id>` or its `agents.list` element). */
  agentEntry(agentId: string): Json | undefined {
    const agents = isObject(this.config.agents) ? this.config.agents : {};
    if (this.profile.agentsShape === "entries") {
      const entry = isObject(agents.entries) ? agents.entries[agentId] : undefined;
      return isObject(entry) ? entry : undefined;
    }
    const list = Array.isArray(agents.list) ? agents.list : [];
    return list.find((e): e is Json => isObject(e) && e.id === agentId);
  }

  configSnapshot(): { config: Json; hash: string } {
    return { config: clone(this.config), hash: this.hash };
  }

  filesOf(agentId: string): Record<string, string> {
    return Object.fromEntries([...(this.files.get(agentId) ?? [])].map(([name, f]) => [name, f.content]));
  }

  /** Someone edits a file on the gateway host. */
  writeFile(agentId: string, name: string, content: string): void {
    this.filesFor(agentId).set(name, { content, updatedAtMs: Date.now() });
  }

  /** Another client writes the config (e.g. an operator in the control UI): the hash changes. */
  changeConfigExternally(): void {
    this.config = mergePatch(this.config, { meta: { lastTouchedAt: new Date().toISOString(), touchedBy: randomUUID() } }) as Json;
    this.rehash();
  }

  /** Runs `fn` once, just before the fake answers the next request of `method`. */
  beforeAnswer(method: string, fn: () => void): void {
    this.hooks.set(method, fn);
  }

  /** Pending pairing requests (what `openclaw devices list` shows). */
  pairingRequests(): PairingRequest[] {
    return [...this.pending.values()];
  }

  /** `openclaw devices approve <requestId>`: returns the device token the device gets on its next connect. */
  approve(requestId: string): string {
    const request = this.pending.get(requestId);
    if (!request) throw new Error(`no pending pairing request ${requestId}`);
    this.pending.delete(requestId);
    const deviceToken = randomBytes(32).toString("base64url");
    this.paired.set(request.deviceId, { platform: request.platform, deviceToken });
    return deviceToken;
  }

  deviceTokenOf(deviceId: string): string | null {
    return this.paired.get(deviceId)?.deviceToken ?? null;
  }

  /** Closes every connection from the gateway's side, as a restart would. */
  dropAll(code = 1012): void {
    for (const c of this.clients) c.ws.close(code, "service restart");
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const { timer } of this.heartbeatTurns.values()) clearInterval(timer);
    this.heartbeatTurns.clear();
    for (const c of this.clients) c.ws.terminate();
    await Promise.allSettled([...this.work]);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- transport --------------------------------------------------------------------------------------------------

  private async listen(): Promise<void> {
    const { tls } = this.opts;
    this.server = tls ? https.createServer({ key: tls.key, cert: tls.cert }) : http.createServer();
    this.server.on("request", (_req, res) => res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket only"));
    this.server.on("upgrade", (req, socket, head) => this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req)));
    // A TLS client that refuses our certificate resets the connection: not an error of the fake.
    this.server.on("tlsClientError", () => undefined);
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `${tls ? "wss" : "ws"}://127.0.0.1:${port}`;
    this.stateDir = `/tmp/fake-openclaw-${port}/.openclaw`;
    this.config = this.initialConfig(port);
    this.rehash();
  }

  private accept(ws: WebSocket, req: http.IncomingMessage): void {
    this.connections += 1;
    const conn: Conn = { id: this.connections, ws, address: req.socket.remoteAddress ?? "", nonce: null, connected: false, deviceId: null, eventSeq: 0 };
    this.clients.add(conn);
    ws.on("close", () => this.clients.delete(conn));
    ws.on("error", () => undefined);
    ws.on("message", (data) => this.onFrame(conn, data.toString()));
    if (this.opts.challengeDelayMs === null) return;
    this.later(this.opts.challengeDelayMs, () => {
      if (conn.connected) return;
      conn.nonce = randomUUID();
      const capabilities = this.profile.protocol >= 4 ? { capabilities: ["model-catalog-snapshot"] } : {};
      this.sendEvent(conn, "connect.challenge", { nonce: conn.nonce, ts: Date.now(), ...capabilities });
    });
  }

  private send(conn: Conn, frame: unknown): void {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(frame));
  }

  private sendEvent(conn: Conn, event: string, payload: unknown): void {
    this.send(conn, { type: "event", event, payload, seq: ++conn.eventSeq });
  }

  /** Run and chat events go to every operator connection, as on a real gateway. */
  private broadcast(event: string, payload: unknown): void {
    for (const c of this.clients) if (c.connected) this.sendEvent(c, event, payload);
  }

  private later(ms: number, fn: () => void): void {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private track(work: Promise<unknown>): void {
    this.work.add(work);
    void work.finally(() => this.work.delete(work));
  }

  private onFrame(conn: Conn, text: string): void {
    const frame = parseFrame(text);
    if (!frame || frame.type !== "req") return;
    const params = isObject(frame.params) ? frame.params : {};
    const received: ReceivedRequest = { connection: conn.id, method: frame.method, params };
    this.received.push(received);
    if (this.opts.dropConnections) {
      conn.ws.terminate();
      return;
    }
    this.later(this.opts.slow[frame.method] ?? 0, () => this.answer(conn, frame, received));
  }

  private reply(conn: Conn, received: ReceivedRequest, id: string, result: { ok: true; payload: unknown } | { ok: false; error: GatewayError }): void {
    received.answer = result.ok ? { ok: true } : { ok: false, error: result.error };
    this.send(conn, result.ok ? { type: "res", id, ok: true, payload: result.payload } : { type: "res", id, ok: false, error: result.error });
  }

  private answer(conn: Conn, frame: RequestFrame, received: ReceivedRequest): void {
    if (frame.method === "connect") return this.onConnect(conn, frame.id, received);
    if (!conn.connected) {
      this.reply(conn, received, frame.id, { ok: false, error: { code: "INVALID_REQUEST", message: "invalid handshake: first request must be connect" } });
      conn.ws.close(1008, "invalid handshake");
      return;
    }
    const hook = this.hooks.get(frame.method);
    if (hook) {
      this.hooks.delete(frame.method);
      hook();
    }
    let after: (() => void) | undefined;
    try {
      const payload = this.dispatch(conn, frame.method, received.params, (fn) => (after = fn));
      this.reply(conn, received, frame.id, { ok: true, payload });
    } catch (err) {
      if (!(err instanceof MethodError)) throw err;
      this.reply(conn, received, frame.id, { ok: false, error: { ...err.error, message: err.message } });
    }
    after?.();
  }

  // ---- handshake --------------------------------------------------------------------------------------------------

  private refuse(conn: Conn, received: ReceivedRequest, id: string, error: GatewayError, closeCode = 1008): void {
    this.reply(conn, received, id, { ok: false, error });
    conn.ws.close(closeCode, error.message.slice(0, 100));
  }

  private onConnect(conn: Conn, id: string, received: ReceivedRequest): void {
    const p = received.params as unknown as ConnectParams;
    this.connectParams.push(clone(p));
    const refuse = (message: string, details?: Json, code = "INVALID_REQUEST", closeCode = 1008) =>
      this.refuse(conn, received, id, { code, message, ...(details ? { details } : {}) }, closeCode);

    // 2026.4.29's params schema requires the nonce of a signed device; 2026.9.6 checks it with the signature (below).
    if (this.profile.protocol < 4 && p.device && typeof p.device.nonce !== "string") {
      return refuse("invalid connect params: at /device: must have required property 'nonce'");
    }
    const speaks = this.protocol;
    if (!(p.minProtocol <= speaks && speaks <= p.maxProtocol)) {
      const probe = this.profile.protocol >= 4 ? { minimumProbeProtocol: 3 } : {};
      return refuse("protocol mismatch", { code: "PROTOCOL_MISMATCH", expectedProtocol: speaks, ...probe }, "INVALID_REQUEST", 1002);
    }

    let device: VerifiedDevice | null = null;
    if (p.device) {
      // A device whose proof does not hold, in 2026.9.6's order and words (from its source; not in the recordings).
      const d = p.device;
      const invalid = (message: string, reason: string, code: string) => refuse(message, { code, reason });
      const raw = Buffer.from(d.publicKey ?? "", "base64url");
      if (raw.length !== 32 || deviceIdOf(raw) !== d.id) return invalid("device identity mismatch", "device-id-mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH");
      if (typeof d.signedAt !== "number" || Math.abs(Date.now() - d.signedAt) > 120_000) {
        return invalid("device signature expired", "device-signature-stale", "DEVICE_AUTH_SIGNATURE_EXPIRED");
      }
      if (!d.nonce) return invalid("device nonce required", "device-nonce-missing", "DEVICE_AUTH_NONCE_REQUIRED");
      if (d.nonce !== conn.nonce) return invalid("device nonce mismatch", "device-nonce-mismatch", "DEVICE_AUTH_NONCE_MISMATCH");
      const signed = deviceAuthPayload({
        deviceId: d.id,
        clientId: p.client?.id,
        clientMode: p.client?.mode,
        role: p.role,
        scopes: p.scopes ?? [],
        signedAtMs: d.signedAt,
        token: p.auth?.token ?? p.auth?.deviceToken ?? null,
        nonce: d.nonce,
      });
      if (!verifyPayload(d.publicKey, signed, d.signature)) return invalid("device signature invalid", "device-signature", "DEVICE_AUTH_SIGNATURE_INVALID");
      device = { deviceId: d.id, nonce: d.nonce, platform: p.client?.platform, signed };
    } else if (p.client?.mode === "ui" || p.client?.id === "openclaw-control-ui") {
      return refuse("control ui requires device identity (use HTTPS or localhost secure context)", { code: "CONTROL_UI_DEVICE_IDENTITY_REQUIRED" });
    } else if (this.opts.remote) {
      return refuse("device identity required", { code: "DEVICE_IDENTITY_REQUIRED" }, "NOT_PAIRED");
    }

    // A device token issued to this device is accepted in place of the shared token (which may have changed since).
    const known = device ? this.paired.get(device.deviceId) : undefined;
    const byDeviceToken = !!known?.deviceToken && p.auth?.deviceToken === known.deviceToken;
    if (this.opts.refuseAuth || (this.opts.token && p.auth?.token !== this.opts.token && !byDeviceToken)) {
      if (!p.auth?.token && !p.auth?.deviceToken) return refuse("unauthorized: gateway token missing (provide gateway auth token)", { code: "AUTH_TOKEN_MISSING" });
      return refuse("unauthorized: gateway token mismatch (provide gateway auth token)", { code: "AUTH_TOKEN_MISMATCH" });
    }

    if (device && this.opts.remote && (!known || known.platform !== device.platform)) {
      // The same device asking again gets the same request; a platform change asks for approval again.
      const request = [...this.pending.values()].find((r) => r.deviceId === device.deviceId && r.platform === device.platform) ?? {
        requestId: randomUUID(),
        deviceId: device.deviceId,
        platform: device.platform,
      };
      this.pending.set(request.requestId, request);
      const reason = known ? "metadata-upgrade" : "not-paired";
      return refuse(
        known ? "pairing required: device identity changed and must be re-approved" : "pairing required: device is not approved yet",
        {
          code: "PAIRING_REQUIRED",
          reason,
          requestId: request.requestId,
          remediationHint: known ? "Review the refreshed device details, then approve the pending request." : "Approve this device from the pending pairing requests.",
          deviceId: device.deviceId,
          requestedRole: p.role,
          requestedScopes: p.scopes ?? [],
        },
        "NOT_PAIRED",
      );
    }
    // A device on loopback is approved silently, without a device token.
    if (device && !known) this.paired.set(device.deviceId, { platform: device.platform, deviceToken: null });
    if (device) this.verifiedDevices.push(device);

    conn.connected = true;
    conn.deviceId = device?.deviceId ?? null;
    this.reply(conn, received, id, { ok: true, payload: this.hello(p, byDeviceToken ? "device-token" : "token", known?.deviceToken ?? null) });
  }

  private hello(p: ConnectParams, method: string, deviceToken: string | null): Json {
    const v4 = this.profile.protocol >= 4;
    const connId = randomUUID();
    const scopes = (p.scopes ?? []).filter((s) => s.startsWith("operator."));
    return {
      type: "hello-ok",
      protocol: this.protocol,
      server: v4 ? { version: this.version, buildId: `${this.version}-fake`, bootId: this.hashSecret.toString("hex"), connId } : { version: this.version, connId },
      features: { methods: METHODS.filter((m) => !this.opts.missingMethods.includes(m)), events: EVENTS },
      snapshot: {
        presence: [],
        health: { ok: true, ts: Date.now(), heartbeatSeconds: 1800, defaultAgentId: "main" },
        stateVersion: { presence: 1, health: 1 },
        uptimeMs: Date.now() - this.startedAt,
        sessionDefaults: { defaultAgentId: "main", mainKey: "main", mainSessionKey: "agent:main:main", scope: "per-sender" },
        configPath: this.configPath,
        stateDir: this.stateDir,
        authMode: "token",
      },
      auth: { ...(v4 ? { method } : {}), role: p.role, scopes, ...(deviceToken ? { deviceToken } : {}) },
      policy: { maxPayload: 26_214_400, maxBufferedBytes: 52_428_800, tickIntervalMs: 30_000 },
    };
  }

  // ---- config -----------------------------------------------------------------------------------------------------

  /** The config a fresh gateway of the release writes (as recorded), sizes included: the size guard depends on them. */
  private initialConfig(port: number): Json {
    const auth = { mode: "token", token: "__OPENCLAW_REDACTED__" };
    if (this.profile.agentsShape === "entries") {
      return {
        gateway: { mode: "local", port, bind: "loopback", auth },
        agents: {
          defaults: { systemAgent: { agentId: "main" }, heartbeat: { agentId: "main" } },
          ownership: "explicit",
          entries: { main: { workspace: `${this.stateDir}/workspace` } },
        },
        talk: { agentId: "main" },
        meta: { migrations: { modelPolicyAllowlist: true, utilityModelSeparation: true }, lastTouchedVersion: this.profile.version },
      };
    }
    return {
      gateway: { mode: "local", port, bind: "loopback", auth, controlUi: { allowedOrigins: [`http://localhost:${port}`, `http://127.0.0.1:${port}`] } },
      agents: { list: [{ id: "main" }] },
      meta: { lastTouchedVersion: this.profile.version, lastTouchedAt: new Date().toISOString() },
    };
  }

  private get configPath(): string {
    return `${this.stateDir}/openclaw.json`;
  }

  /**
   * Every config write. Both releases refuse one that would shrink the config file below half its size (from 512
   * bytes up), a guard against lost configs (seen in their source: io.write; not in the recordings). Deleting one of
   * very few agents can trip it.
   */
  private commitConfig(next: Json): void {
    const bytes = (config: Json) => Buffer.byteLength(`${JSON.stringify(config, null, 2)}\n`);
    const [before, after] = [bytes(this.config), bytes(next)];
    if (before >= 512 && after < Math.floor(before * 0.5)) {
      const rejected = `${this.configPath}.rejected.${new Date().toISOString().replace(/[:.]/g, "-")}`;
      throw new MethodError(`Config write rejected: ${this.configPath} (size-drop:${before}->${after}). Rejected payload saved to ${rejected}.`, { code: "UNAVAILABLE" });
    }
    this.config = next;
    this.rehash();
  }

  /** 2026.9.6: `hmac-sha256:v1:<base64url>` keyed per gateway; 2026.4.29: the SHA-256 hex of the file. */
  private rehash(): void {
    const raw = JSON.stringify(this.config, null, 2);
    this.hash =
      this.profile.agentsShape === "entries"
        ? `hmac-sha256:v1:${createHmac("sha256", this.hashSecret).update(raw).digest("base64url")}`
        : createHash("sha256").update(raw).digest("hex");
    this.syncHeartbeatTurns();
  }

  private setAgentEntry(agentId: string, entry: Json | null): void {
    const next = clone(this.config);
    const agents = next.agents as Json;
    if (this.profile.agentsShape === "entries") {
      const entries = agents.entries as Json;
      if (entry) entries[agentId] = entry;
      else delete entries[agentId];
    } else {
      const list = agents.list as Json[];
      const at = list.findIndex((e) => e.id === agentId);
      if (at >= 0) list.splice(at, 1);
      if (entry) list.splice(at < 0 ? list.length : at, 0, { id: agentId, ...entry });
    }
    this.commitConfig(next);
  }

  /** Not recorded beyond the agents keys: the strict validation 2026.9.6 applies ("Unrecognized key"). */
  private invalidConfig(config: Json): string | null {
    const agents = isObject(config.agents) ? config.agents : {};
    const allowed = this.profile.agentsShape === "entries" ? ["defaults", "ownership", "entries"] : ["defaults", "list"];
    const unknown = Object.keys(agents).find((k) => !allowed.includes(k));
    if (unknown) return `agents: Unrecognized key: "${unknown}"`;
    const entries: [string, unknown][] =
      this.profile.agentsShape === "entries"
        ? Object.entries(isObject(agents.entries) ? agents.entries : {}).map(([id, e]) => [`agents.entries.${id}`, e])
        : (Array.isArray(agents.list) ? agents.list : []).map((e, i) => [`agents.list.${i}`, e]);
    for (const [path, entry] of entries) {
      if (!isObject(entry)) return `${path}: Expected object`;
      const key = Object.keys(entry).find((k) => !AGENT_ENTRY_KEYS.includes(k) || (k === "id" && this.profile.agentsShape === "entries"));
      if (key) return `${path}: Unrecognized key: "${key}"`;
      if (this.profile.agentsShape === "list" && typeof entry.id !== "string") return `${path}.id: Required`;
    }
    return null;
  }

  /** Config writes per device and address in a sliding window; every attempt counts, refused ones too. */
  private spendConfigWrite(conn: Conn): void {
    const key = `${conn.deviceId ?? "anonymous"}@${conn.address}`;
    const limit = this.opts.configPatchLimit ?? this.profile.configPatchLimit;
    const windowMs = this.opts.rateLimitWindowMs;
    const now = Date.now();
    const recent = (this.configWrites.get(key) ?? []).filter((t) => now - t < windowMs);
    if (recent.length >= limit) {
      const retryAfterMs = Math.max(1, recent[0] + windowMs - now);
      throw new MethodError(`rate limit exceeded for config.patch; retry after ${Math.ceil(retryAfterMs / 1000)}s`, {
        code: "UNAVAILABLE",
        details: { method: "config.patch", limit: `${limit} per ${windowMs / 1000}s` },
        retryable: true,
        retryAfterMs,
      });
    }
    recent.push(now);
    this.configWrites.set(key, recent);
  }

  private configPatch(conn: Conn, p: Json): Json {
    this.spendConfigWrite(conn);
    if (typeof p.raw !== "string") throw new MethodError("invalid config.patch params: at root: must have required property 'raw'"); // not recorded
    let patch: unknown;
    try {
      patch = JSON.parse(p.raw);
    } catch {
      throw new MethodError("invalid config.patch params: raw must be JSON5"); // not recorded
    }
    if (!isObject(patch)) throw new MethodError("invalid config.patch params: raw must be an object"); // not recorded
    if (typeof p.baseHash !== "string" || !p.baseHash) {
      const paths = leafPaths(patch);
      throw new MethodError(
        this.profile.agentsShape === "entries" && paths.length > 0
          ? `config base hash required for ${paths.join(", ")}; re-run config.get and retry with baseHash`
          : "config base hash required; re-run config.get and retry",
      );
    }
    if (p.baseHash !== this.hash) throw new MethodError("config changed since last load; re-run config.get and retry");
    const next = mergePatch(this.config, patch) as Json;
    const invalid = this.invalidConfig(next);
    if (invalid) throw new MethodError(`invalid config: ${invalid}`);
    const changed = changedPaths(this.config, next);
    this.commitConfig(next);
    const path = this.configPath;
    const sentinel = { kind: "config-patch", status: "ok", ts: Date.now(), message: null, stats: { mode: "config.patch", root: path } };
    return this.profile.agentsShape === "entries"
      ? { ok: true, path, hash: this.hash, config: clone(this.config), changedPaths: changed, sentinel: { persisted: true, payload: sentinel } }
      : { ok: true, path, config: clone(this.config), sentinel: { path: `${this.stateDir}/restart-sentinel.json`, payload: sentinel } };
  }

  // ---- methods ----------------------------------------------------------------------------------------------------

  private filesFor(agentId: string): Map<string, { content: string; updatedAtMs: number }> {
    let files = this.files.get(agentId);
    if (!files) this.files.set(agentId, (files = new Map()));
    return files;
  }

  private workspaceOf(agentId: string): string {
    return String(this.agentEntry(agentId)?.workspace ?? `${this.stateDir}/workspace-${agentId}`);
  }

  private requireAgent(agentId: string): Json {
    const entry = this.agentEntry(agentId);
    if (!entry) throw new MethodError(`agent "${agentId}" not found`);
    return entry;
  }

  /** The file methods name an unknown agent differently per release. */
  private requireFileAgent(agentId: string): void {
    if (this.agentEntry(agentId)) return;
    throw new MethodError(this.profile.agentsShape === "entries" ? `agent "${agentId}" not found` : "unknown agent id");
  }

  private requireFileName(name: string): void {
    if (!this.profile.files.includes(name)) throw new MethodError(`unsupported file "${name}"`);
  }

  private fileView(agentId: string, name: string): Json {
    const file = this.files.get(agentId)?.get(name);
    const path = `${this.workspaceOf(agentId)}/${name}`;
    if (!file) return { name, path, missing: true };
    const hash = this.profile.agentsShape === "entries" ? { hash: createHash("sha256").update(file.content).digest("hex") } : {};
    return { name, path, missing: false, size: Buffer.byteLength(file.content), updatedAtMs: file.updatedAtMs, ...hash, content: file.content };
  }

  /** The agent a session key routes to (`agent:<agentId>:<key>`), which must still be in the config. */
  private sessionAgent(key: string): string {
    const agentId = /^agent:([^:]+):./.exec(key)?.[1];
    if (!agentId) throw new MethodError(`invalid session key "${key}"`); // not recorded
    if (!this.agentEntry(agentId)) throw new MethodError(`Agent "${agentId}" no longer exists in configuration`);
    return agentId;
  }

  private session(key: string): Session {
    let s = this.sessions.get(key);
    if (!s) this.sessions.set(key, (s = { key, sessionId: randomUUID(), createdAt: Date.now(), updatedAt: Date.now(), messages: [] }));
    return s;
  }

  private sessionEntry(s: Session): Json {
    return { sessionId: s.sessionId, updatedAt: s.updatedAt, createdAt: s.createdAt, systemSent: false, abortedLastRun: false, ...(s.label ? { label: s.label } : {}) };
  }

  private dispatch(conn: Conn, method: string, p: Json, after: (fn: () => void) => void): unknown {
    if (!METHODS.includes(method) || this.opts.missingMethods.includes(method)) throw new MethodError(`unknown method: ${method}`);
    const str = (v: unknown) => (typeof v === "string" ? v : "");
    switch (method) {
      case "health":
        return { ok: true, ts: Date.now(), defaultAgentId: "main" };
      case "config.get": {
        const config = clone(this.config);
        const raw = this.profile.agentsShape === "entries" ? JSON.stringify(config, null, 2) : null;
        const path = this.configPath;
        return { path, exists: true, raw, parsed: config, sourceConfig: config, resolved: config, valid: true, config, hash: this.hash, issues: [], warnings: [], legacyIssues: [] };
      }
      case "config.patch":
        return this.configPatch(conn, p);
      case "config.schema.lookup": {
        const path = str(p.path);
        const known = this.profile.agentsShape === "entries" ? ["agents", "agents.entries", "agents.defaults"] : ["agents", "agents.list", "agents.defaults"];
        if (!known.includes(path)) throw new MethodError(`config schema path not found: ${path}`); // not recorded
        return { path, schema: { type: path === "agents.list" ? "array" : "object" } };
      }
      case "agents.list": {
        const agents = this.config.agents as Json;
        const ids = this.profile.agentsShape === "entries" ? Object.keys(agents.entries as Json) : (agents.list as Json[]).map((e) => String(e.id));
        return { defaultId: "main", agents: ids.map((id) => ({ id, name: this.agentEntry(id)?.name ?? id })) };
      }
      case "agents.create": {
        const name = str(p.name).trim();
        if (!name) throw new MethodError("invalid agents.create params: at root: must have required property 'name'"); // not recorded
        const agentId = name.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").slice(0, 64);
        if (agentId === "main" || this.agentEntry(agentId)) throw new MethodError(`agent "${agentId}" already exists`);
        const workspace = str(p.workspace).trim() || `${this.stateDir}/workspace-${agentId}`;
        this.setAgentEntry(agentId, { name: agentId, workspace, agentDir: `${this.stateDir}/agents/${agentId}/agent`, identity: { name: agentId } });
        this.createdAt.set(agentId, Date.now());
        return { ok: true, agentId, name: agentId, workspace };
      }
      case "agents.update": {
        const agentId = str(p.agentId);
        const entry = this.requireAgent(agentId);
        const window = this.opts.notFoundAfterCreateMs ?? this.profile.notFoundAfterCreateMs;
        if (Date.now() - (this.createdAt.get(agentId) ?? 0) < window) throw new MethodError(`agent "${agentId}" not found`);
        const { id: _id, ...rest } = entry;
        const name = str(p.name) || String(rest.name ?? agentId);
        this.setAgentEntry(agentId, { ...rest, name, identity: { ...(isObject(rest.identity) ? rest.identity : {}), name }, ...(str(p.workspace) ? { workspace: str(p.workspace) } : {}) });
        return { ok: true, agentId };
      }
      case "agents.delete": {
        const agentId = str(p.agentId);
        const entry = this.requireAgent(agentId);
        this.setAgentEntry(agentId, null);
        this.files.delete(agentId);
        this.createdAt.delete(agentId);
        for (const key of [...this.sessions.keys()]) if (key.startsWith(`agent:${agentId}:`)) this.sessions.delete(key);
        if (this.profile.agentsShape === "list") return { ok: true, agentId, removedBindings: 0 };
        const removed = [entry.agentDir, entry.workspace].map((path) => ({ path, method: "trash" }));
        return { ok: true, agentId, removedBindings: 0, removed };
      }
      case "agents.files.list": {
        const agentId = str(p.agentId);
        this.requireFileAgent(agentId);
        return { agentId, workspace: this.workspaceOf(agentId), files: this.profile.files.map((name) => this.fileView(agentId, name)) };
      }
      case "agents.files.get": {
        const agentId = str(p.agentId);
        this.requireFileAgent(agentId);
        this.requireFileName(str(p.name));
        return { agentId, workspace: this.workspaceOf(agentId), file: this.fileView(agentId, str(p.name)) };
      }
      case "agents.files.set": {
        const agentId = str(p.agentId);
        this.requireFileAgent(agentId);
        this.requireFileName(str(p.name));
        if (typeof p.content !== "string") throw new MethodError("invalid agents.files.set params: at /content: must be string"); // not recorded
        this.writeFile(agentId, str(p.name), p.content);
        return { ok: true, agentId, workspace: this.workspaceOf(agentId), file: this.fileView(agentId, str(p.name)) };
      }
      case "sessions.list":
        return { sessions: [...this.sessions.values()].map((s) => ({ key: s.key, ...this.sessionEntry(s) })) };
      case "sessions.reset": {
        const key = str(p.key);
        this.sessionAgent(key);
        const s = this.session(key);
        s.messages = [];
        s.sessionId = randomUUID();
        s.updatedAt = Date.now();
        return { ok: true, key, entry: this.sessionEntry(s) };
      }
      case "sessions.patch": {
        const key = str(p.key);
        const agentId = this.sessionAgent(key);
        const s = this.session(key);
        if (typeof p.label === "string") s.label = p.label;
        s.updatedAt = Date.now();
        return { ok: true, path: `${this.stateDir}/agents/${agentId}/sessions/sessions.json`, key, entry: this.sessionEntry(s), resolved: { modelProvider: "openai" } };
      }
      case "sessions.delete": {
        const key = str(p.key);
        // 2026.9.6 keeps every agent's main session (also once the agent is deleted); 2026.4.29 deletes what it has.
        if (this.profile.agentsShape === "entries" && /^agent:[^:]+:main$/.test(key)) throw new MethodError(`Cannot delete the main session (${key}).`);
        const deleted = this.sessions.delete(key);
        return { ok: true, key, deleted, archived: [] };
      }
      case "chat.send": {
        const sessionKey = str(p.sessionKey);
        const agentId = this.sessionAgent(sessionKey);
        const idempotencyKey = str(p.idempotencyKey);
        if (!idempotencyKey) throw new MethodError("invalid chat.send params: at root: must have required property 'idempotencyKey'"); // not recorded
        if (this.seenIdempotency.has(idempotencyKey)) return { runId: idempotencyKey, status: "in_flight" }; // not recorded
        this.seenIdempotency.add(idempotencyKey);
        this.session(sessionKey).messages.push({ role: "user", content: str(p.message), idempotencyKey });
        after(() => this.startRun(agentId, idempotencyKey, sessionKey));
        return { runId: idempotencyKey, status: "started" };
      }
      case "chat.history": {
        const s = this.sessions.get(str(p.sessionKey));
        return { sessionKey: str(p.sessionKey), messages: s?.messages ?? [] };
      }
      case "device.pair.list":
        return { pending: this.pairingRequests(), paired: [...this.paired.keys()].map((deviceId) => ({ deviceId })) };
      case "device.pair.approve": {
        const requestId = str(p.requestId);
        if (!this.pending.has(requestId)) throw new MethodError(`unknown requestId`); // not recorded
        this.approve(requestId);
        return { ok: true, requestId };
      }
      default:
        throw new MethodError(`unknown method: ${method}`);
    }
  }

  // ---- the agents' runs -------------------------------------------------------------------------------------------

  private behaviourOf(agentId: string): RuntimeBehaviour {
    const { runtime } = this.opts;
    return typeof runtime === "function" ? runtime({ id: agentId, name: String(this.agentEntry(agentId)?.name ?? agentId) }) : runtime;
  }

  /** A run started by chat.send: it checks in and ends, fails as a gateway without a model provider does, or hangs. */
  private startRun(agentId: string, runId: string, sessionKey: string): void {
    const behaviour = this.behaviourOf(agentId);
    this.runs.push({ runId, agentId, behaviour });
    if (behaviour === "silent") return;
    const startedAt = Date.now();
    this.later(this.opts.runDelayMs, () => {
      if (behaviour === "checkin") {
        this.track(
          this.checkIn(agentId).then(() => {
            this.broadcast("agent", { runId, sessionKey, stream: "lifecycle", data: { phase: "end", startedAt, endedAt: Date.now() }, ts: Date.now() });
          }),
        );
        return;
      }
      this.failRun(agentId, runId, sessionKey, startedAt);
    });
  }

  /** The events recorded from real gateways whose agent run could not reach a model. */
  private failRun(agentId: string, runId: string, sessionKey: string, startedAt: number): void {
    const now = Date.now();
    if (this.profile.protocol >= 4) {
      const error = this.opts.runError ?? "No route-compatible authentication source is configured for openai";
      this.broadcast("chat", { runId, sessionKey, agentId, seq: 1, state: "status", phase: "preparing_workspace" });
      this.broadcast("agent", { runId, stream: "run_status", data: { phase: "preparing_workspace" }, sessionKey, agentId, seq: 1, ts: now, isHeartbeat: false });
      this.broadcast("agent", { runId, agentId, sessionKey, lane: "main", stream: "lifecycle", data: { phase: "model", provider: null, model: null }, seq: 2, ts: now, isHeartbeat: false });
      this.broadcast("agent", { runId, sessionKey, stream: "lifecycle", data: { phase: "error", endedAt: now, startedAt, error, executionSettled: true }, agentId, seq: 3, ts: now, isHeartbeat: false });
      this.broadcast("chat", { runId, sessionKey, agentId, seq: 4, state: "error", errorMessage: error });
      return;
    }
    const authStore = `${this.stateDir}/agents/${agentId}/agent`;
    const error =
      this.opts.runError ??
      `No API key found for provider "openai". Auth store: ${authStore}/auth-profiles.json (agentDir: ${authStore}). Configure auth for this agent ` +
        "(openclaw agents add <id>) or copy only portable static auth profiles from the main agentDir.";
    // 2026.4.29 ends the chat turn ("final", with the failure as the reply) before it reports the run's error.
    const reply = { role: "assistant", content: [{ type: "text", text: `⚠️ Agent failed before reply: ${error}\nLogs: openclaw logs --follow` }], timestamp: now, stopReason: "stop" };
    this.broadcast("chat", { runId, sessionKey, seq: 1, state: "final", message: reply });
    this.broadcast("agent", { runId, sessionKey, stream: "lifecycle", data: { phase: "error", endedAt: now, error }, seq: 1, ts: now });
  }

  /** What an agent does to check in: the command and token of its AGENTS.md, followed literally. */
  private async checkIn(agentId: string): Promise<void> {
    const agentsMd = this.files.get(agentId)?.get("AGENTS.md")?.content ?? "";
    const instructions = checkInInstructions(agentsMd);
    if (!instructions) {
      this.heartbeats.push({ agentId, status: 0, url: null, token: null });
      return;
    }
    const answer = await followCheckIn(instructions).catch(() => ({ status: 0 }));
    this.heartbeats.push({ agentId, status: answer.status, url: instructions.url, token: instructions.token });
  }

  /**
   * OpenClaw's own periodic heartbeat turn (`heartbeat.every` of an agent's config entry): an agent that follows its
   * files checks in at every turn, which keeps it online between wakes.
   */
  private syncHeartbeatTurns(): void {
    const wanted = new Map<string, number>();
    const agents = isObject(this.config.agents) ? this.config.agents : {};
    const entries: [string, unknown][] =
      this.profile.agentsShape === "entries"
        ? Object.entries(isObject(agents.entries) ? agents.entries : {})
        : (Array.isArray(agents.list) ? agents.list : []).map((e) => [String((e as Json).id), e]);
    for (const [agentId, entry] of entries) {
      const every = durationMs(isObject(entry) && isObject(entry.heartbeat) ? entry.heartbeat.every : null);
      if (every) wanted.set(agentId, every);
    }
    for (const [agentId, turn] of this.heartbeatTurns) {
      if (wanted.get(agentId) === turn.every) continue;
      clearInterval(turn.timer);
      this.heartbeatTurns.delete(agentId);
    }
    for (const [agentId, every] of wanted) {
      if (this.heartbeatTurns.has(agentId)) continue;
      const timer = setInterval(() => {
        if (this.behaviourOf(agentId) === "checkin") this.track(this.checkIn(agentId));
      }, every);
      this.heartbeatTurns.set(agentId, { every, timer });
    }
  }
}
