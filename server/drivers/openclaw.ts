// The OpenClaw gateway driver (SPEC §6): protocol v3 over one WebSocket per call sequence (a provisioning run, a wake),
// a `connect` handshake signed with the installation's Ed25519 device identity (or control-UI mode when device pairing
// is disabled), a timeout on every request, and errors classified for operators:
//   "gateway unreachable: …"          transport failures, timeouts (the UI keys on this phrase)
//   "gateway refused authentication: …" / "device not paired: …"   what to fix on the gateway or in Mission Control
//   not_found                           the agent is not on the gateway
//   incompatible                        the gateway's OpenClaw is older than OPENCLAW_MIN_VERSION: nothing is sent.
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import type { DeviceIdentity } from "./device-identity";
import {
  BACKEND_CLIENT,
  CLIENT_VERSION,
  CONTROL_UI_CLIENT,
  OPERATOR_ROLE,
  OPERATOR_SCOPES,
  PROTOCOL_VERSION,
  deviceAuthPayload,
  hostPlatform,
  incompatibility,
  isAlreadyExistsText,
  isAuthText,
  isMissingAgentText,
  isMissingSessionText,
  isPairingText,
  minimumVersion,
  parseCalVer,
  parseFrame,
  signPayload,
  type ConnectParams,
  type EventFrame,
  type ResponseFrame,
} from "./openclaw-protocol";
import type { DriverAgent, GatewayConnection, GatewayDriver, ProbeResult, ProvisionRequest, WakeRequest } from "./types";
import { GatewayCallError } from "./types";

export interface OpenClawDriverOptions {
  /** The installation's device identity (DB-backed, shared by every process). Required unless pairing is disabled. */
  deviceIdentity?: () => Promise<DeviceIdentity>;
  /** Longest wait for any single step: opening the socket, the handshake, each request. */
  callTimeoutMs?: number;
  /** How long to wait for the optional `connect.challenge` before connecting without a nonce. */
  challengeWaitMs?: number;
  /** Defaults to OPENCLAW_MIN_VERSION, else 2026.2.9. */
  minVersion?: string;
  /** Defaults to the host OS (linux | darwin | windows): the gateway pins it at pairing time. */
  platform?: string;
  /** Delays between `agents.update` attempts while the gateway still says "not found" right after a create. */
  updateRetryDelaysMs?: number[];
  /** After a `config.patch` the gateway restarts: reconnect and retry dropped calls for this long. */
  restartWaitMs?: number;
}

export const OPENCLAW_CALL_TIMEOUT_MS = 5_000;
const DEFAULT_UPDATE_RETRY_DELAYS_MS = [150, 300, 600, 1200, 2000];
const DEFAULT_RESTART_WAIT_MS = 6_000;
const MAX_FRAME_BYTES = 25 * 1024 * 1024;
export const TOKEN_MARKER = "<!-- mission-control:agent-token -->";

/** The id Mission Control's agent has on the gateway (`agents.create` derives ids from names). */
export function gatewayAgentId(agent: Pick<DriverAgent, "id">): string {
  return `mc-${agent.id.toLowerCase()}`;
}

/** OpenClaw routes `agent:<agentId>:<key>` to that agent: the agent's main session on the gateway. */
export function gatewaySessionKey(agent: Pick<DriverAgent, "id">): string {
  return `agent:${gatewayAgentId(agent)}:main`;
}

export function workspaceOf(gateway: Pick<GatewayConnection, "workspaceRoot">, agent: Pick<DriverAgent, "id">): string {
  const root = (gateway.workspaceRoot ?? "").trim().replace(/\/+$/, "") || "~/.openclaw";
  return `${root}/workspace-${gatewayAgentId(agent)}`;
}

/** The runtime has no token field: the token travels in TOOLS.md, in a marked section the agent exports. */
export function withTokenSection(files: Record<string, string>, token: string): Record<string, string> {
  const tools = stripTokenSection(files["TOOLS.md"] ?? "# Tools\n");
  const section =
    `${TOKEN_MARKER}\n## Your Mission Control agent token\n\n` +
    `    MC_AGENT_TOKEN=${token}\n\n` +
    "Export it as the environment variable MC_AGENT_TOKEN before the commands in HEARTBEAT.md; it is the\n`X-Agent-Token` header of " +
    "every call to the heartbeat API. Keep it secret: never copy it into other files or messages.\n";
  return { ...files, "TOOLS.md": `${tools.replace(/\s*$/, "")}\n\n${section}` };
}

export function tokenFromTools(content: string): string | null {
  const at = content.indexOf(TOKEN_MARKER);
  if (at < 0) return null;
  const m = /MC_AGENT_TOKEN=(\S+)/.exec(content.slice(at));
  return m ? m[1] : null;
}

function stripTokenSection(content: string): string {
  const at = content.indexOf(TOKEN_MARKER);
  return at < 0 ? content : content.slice(0, at);
}

function heartbeatEvery(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  return s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

function fileContent(result: unknown): string | null {
  if (typeof result === "string") return result;
  const r = result as { content?: unknown; file?: { content?: unknown } } | null;
  if (typeof r?.content === "string") return r.content;
  if (typeof r?.file?.content === "string") return r.file.content;
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- errors -----------------------------------------------------------------------------------------------------

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|HOSTNAME|ALTNAME/i;

/** Turns transport and gateway failures into operator messages; never lets a secret through. */
class ErrorText {
  constructor(
    private readonly gateway: GatewayConnection,
    private readonly host: string,
    private readonly secrets: () => (string | null | undefined)[],
  ) {}

  clean(text: string): string {
    let out = text;
    for (const s of this.secrets()) {
      if (s && s.length >= 4) out = out.split(s).join("[redacted]");
    }
    out = out.replace(/-----BEGIN [^-]*PRIVATE KEY-----[\s\S]*?(-----END [^-]*PRIVATE KEY-----|$)/g, "[redacted]");
    return out.length > 300 ? `${out.slice(0, 300)}…` : out;
  }

  transport(err: unknown): GatewayCallError {
    if (err instanceof GatewayCallError) return err;
    const e = err as Error & { code?: string };
    const code = e?.code ?? "";
    const message = String(e?.message ?? err);
    const status = /Unexpected server response: (\d+)/.exec(message)?.[1];
    if (status === "401" || status === "403") {
      return new GatewayCallError(
        `gateway refused authentication: HTTP ${status} on the WebSocket upgrade to ${this.host}; check the gateway token configured for ${this.gateway.name}`,
        "auth",
      );
    }
    if (status) return new GatewayCallError(`gateway unreachable: HTTP ${status} from ${this.host} instead of a WebSocket`, "unreachable");
    if (TLS_CODES.test(code) || /certificate/i.test(message)) {
      return new GatewayCallError(
        `gateway unreachable: the TLS certificate of ${this.host} is not trusted (${this.clean(code || message)}); install a ` +
          `trusted certificate, or enable "allow self-signed certificate" (allowInsecureTls) for ${this.gateway.name}`,
        "unreachable",
      );
    }
    return new GatewayCallError(`gateway unreachable: cannot reach ${this.host} (${this.clean(code || message)})`, "unreachable");
  }

  closed(code: number, reason: string, during: string): GatewayCallError {
    const why = this.clean(reason);
    if (code === 1008 && why && (isPairingText(why) || isAuthText(why))) return this.connectRejected(why);
    const restart = code === 1012 ? ", the gateway is restarting" : "";
    return new GatewayCallError(
      `gateway unreachable: connection to ${this.host} closed during ${during} (code ${code}${why ? `: ${why}` : ""}${restart})`,
      "unreachable",
    );
  }

  timeout(what: string, ms: number): GatewayCallError {
    return new GatewayCallError(`gateway unreachable: ${what} on ${this.host} timed out after ${ms / 1000}s`, "timeout");
  }

  connectRejected(raw: string, ctx: { deviceId?: string; controlUi?: boolean; platform?: string } = {}): GatewayCallError {
    const msg = this.clean(raw);
    const name = this.gateway.name;
    if (isPairingText(msg)) {
      const device = ctx.deviceId ? ` ${ctx.deviceId.slice(0, 16)}…` : "";
      return new GatewayCallError(
        `device not paired: gateway ${name} has not approved Mission Control's device${device} (${msg}). Approve the pending ` +
          `device on the gateway (openclaw devices list, then openclaw devices approve), or enable "disable device pairing" ` +
          `for ${name} to connect as the control UI`,
        "auth",
      );
    }
    const scope = /missing scope:?\s*([\w.]+)/i.exec(msg)?.[1];
    if (scope) {
      return new GatewayCallError(
        `gateway refused authentication: the gateway token of ${name} lacks the scope ${scope} (${msg}); use an operator ` +
          `token with the scopes ${OPERATOR_SCOPES.join(", ")}`,
        "auth",
      );
    }
    if (/platform/i.test(msg)) {
      return new GatewayCallError(
        `gateway refused authentication: ${msg}. The device was paired from another platform than this process ` +
          `(${ctx.platform ?? "unknown"}); run every Mission Control process on the same OS, or remove and re-approve the device`,
        "auth",
      );
    }
    if (isAuthText(msg)) {
      const hint = ctx.controlUi
        ? "; device pairing is disabled for this gateway, so the gateway must allow control-UI access without a device " +
          "(gateway.controlUi.allowInsecureAuth or dangerouslyDisableDeviceAuth) and accept this origin"
        : "";
      return new GatewayCallError(`gateway refused authentication: ${msg}. Check the gateway token configured for ${name}${hint}`, "auth");
    }
    return new GatewayCallError(`gateway rejected the connection: ${msg}`, "protocol");
  }

  methodRejected(method: string, raw: string): GatewayCallError {
    const msg = this.clean(raw);
    if (/missing scope|unauthori[sz]ed|forbidden/i.test(msg)) return this.connectRejected(msg);
    if (isMissingAgentText(msg)) return new GatewayCallError(`agent not found on gateway ${this.gateway.name}: ${method}: ${msg}`, "not_found");
    return new GatewayCallError(`gateway rejected ${method}: ${msg}`, "protocol");
  }
}

// ---- one WebSocket ----------------------------------------------------------------------------------------------

interface Pending {
  method: string;
  resolve(value: ResponseFrame): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

class GatewaySocket {
  private readonly pending = new Map<string, Pending>();
  private eventWaiter: ((frame: EventFrame | null) => void) | null = null;
  private readonly earlyEvents: EventFrame[] = [];
  private lastError: Error | null = null;
  private closeError: GatewayCallError | null = null;
  private opened = false;
  private phase = "connect";
  private onOpenResult: ((err: GatewayCallError | null) => void) | null = null;

  private constructor(
    private readonly ws: WebSocket,
    private readonly errors: ErrorText,
  ) {
    ws.on("error", (err) => {
      this.lastError = err;
    });
    ws.on("open", () => {
      this.opened = true;
      this.onOpenResult?.(null);
    });
    ws.on("message", (data, isBinary) => {
      if (!isBinary) this.onMessage(data.toString());
    });
    ws.on("close", (code, reason) => this.onClose(code, reason.toString()));
  }

  static open(url: string, options: WebSocket.ClientOptions, timeoutMs: number, errors: ErrorText): Promise<GatewaySocket> {
    let ws: WebSocket;
    try {
      // closeTimeout (ws ≥ 8.19, not in its types yet): do not keep a socket 30 s for a gateway that never answers a close.
      const all = { ...options, handshakeTimeout: timeoutMs, closeTimeout: 2000, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false };
      ws = new WebSocket(url, all as WebSocket.ClientOptions);
    } catch (err) {
      return Promise.reject(new GatewayCallError(`gateway URL is not a valid WebSocket URL: ${errors.clean(String((err as Error).message))}`, "protocol"));
    }
    const socket = new GatewaySocket(ws, errors);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.onOpenResult = null;
        ws.terminate();
        reject(errors.timeout("opening the connection", timeoutMs));
      }, timeoutMs);
      socket.onOpenResult = (err) => {
        clearTimeout(timer);
        socket.onOpenResult = null;
        if (err) reject(err);
        else resolve(socket);
      };
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN && !this.closeError;
  }

  /** The first event frame (e.g. `connect.challenge`), or null after `ms`. */
  nextEvent(ms: number): Promise<EventFrame | null> {
    const early = this.earlyEvents.shift();
    if (early) return Promise.resolve(early);
    if (this.closeError) return Promise.reject(this.closeError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.eventWaiter = null;
        resolve(null);
      }, ms);
      this.eventWaiter = (frame) => {
        clearTimeout(timer);
        this.eventWaiter = null;
        if (frame) resolve(frame);
        else reject(this.closeError ?? this.errors.closed(1006, "", this.phase));
      };
    });
  }

  request(method: string, params: unknown, timeoutMs: number): Promise<ResponseFrame> {
    if (this.closeError) return Promise.reject(this.closeError);
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.reject(this.errors.closed(1006, "", method));
    const id = randomUUID();
    this.phase = method;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(this.errors.timeout(method, timeoutMs));
        // The answer may still come, or never: this connection's state is unknown now.
        this.close();
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      this.ws.send(JSON.stringify({ type: "req", id, method, params: params ?? {} }), (err) => {
        if (!err) return;
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.reject(this.errors.transport(err));
      });
    });
  }

  close(): void {
    const state = this.ws.readyState;
    if (state === WebSocket.CONNECTING) this.ws.terminate();
    else if (state === WebSocket.OPEN) this.ws.close(1000, "done");
    this.failAll(this.closeError ?? this.errors.closed(1000, "closed by Mission Control", this.phase));
  }

  private onMessage(text: string): void {
    const frame = parseFrame(text);
    if (!frame) return;
    if (frame.type === "res") {
      const p = this.pending.get(frame.id);
      if (!p) return;
      this.pending.delete(frame.id);
      clearTimeout(p.timer);
      p.resolve(frame);
      return;
    }
    if (frame.type === "event") {
      // Events are only read during the handshake; afterwards they are ignored (no subscriptions).
      if (this.eventWaiter) this.eventWaiter(frame);
      else if (this.earlyEvents.length < 8 && this.pending.size === 0) this.earlyEvents.push(frame);
    }
  }

  private onClose(code: number, reason: string): void {
    const err = !this.opened && this.lastError ? this.errors.transport(this.lastError) : this.errors.closed(code, reason, this.phase);
    this.closeError ??= err;
    this.onOpenResult?.(this.closeError);
    this.eventWaiter?.(null);
    this.failAll(this.closeError);
  }

  private failAll(err: GatewayCallError): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(err);
    }
  }
}

// ---- the driver -------------------------------------------------------------------------------------------------

interface Session {
  socket: GatewaySocket;
  version: string | null;
}

export class OpenClawDriver implements GatewayDriver {
  private readonly url: string;
  private readonly host: string;
  private readonly errors: ErrorText;
  private readonly callTimeoutMs: number;
  private readonly challengeWaitMs: number;
  private readonly minVersion: string;
  private readonly platform: string;
  private readonly updateRetryDelaysMs: number[];
  private readonly restartWaitMs: number;
  private session: Promise<Session> | null = null;
  private runs = 0;
  /** Until then a dropped connection is the gateway restarting after our `config.patch`: reconnect and retry. */
  private restartUntil = 0;
  private privateKeyPem: string | null = null;

  constructor(
    private readonly gateway: GatewayConnection,
    private readonly options: OpenClawDriverOptions = {},
  ) {
    if (!gateway.url) throw new GatewayCallError(`gateway ${gateway.name} has no URL`, "protocol");
    this.url = gateway.url;
    let parsed: URL;
    try {
      parsed = new URL(gateway.url);
    } catch {
      throw new GatewayCallError(`gateway ${gateway.name} has an invalid URL`, "protocol");
    }
    if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
      throw new GatewayCallError(`gateway ${gateway.name}: the OpenClaw URL must start with ws:// or wss://`, "protocol");
    }
    this.host = parsed.host;
    this.errors = new ErrorText(gateway, this.host, () => [gateway.tokenSecret, this.privateKeyPem]);
    this.callTimeoutMs = options.callTimeoutMs ?? OPENCLAW_CALL_TIMEOUT_MS;
    this.challengeWaitMs = options.challengeWaitMs ?? 2000;
    this.minVersion = options.minVersion ?? minimumVersion();
    this.platform = options.platform ?? hostPlatform();
    this.updateRetryDelaysMs = options.updateRetryDelaysMs ?? DEFAULT_UPDATE_RETRY_DELAYS_MS;
    this.restartWaitMs = options.restartWaitMs ?? DEFAULT_RESTART_WAIT_MS;
  }

  // ---- GatewayDriver --------------------------------------------------------------------------------------------

  async provision(req: ProvisionRequest): Promise<void> {
    await this.run(async () => {
      const agentId = gatewayAgentId(req.agent);
      await this.upsertAgent(req.agent);
      await this.ensureConfigEntry(req.agent);
      const files = withTokenSection(req.files, req.token);
      for (const [name, content] of Object.entries(files)) {
        await this.call("agents.files.set", { agentId, name, content });
      }
      await this.resetSessionIn(req.agent);
    });
  }

  async wake(req: WakeRequest): Promise<void> {
    await this.run(async () => {
      const key = gatewaySessionKey(req.agent);
      await this.call("sessions.patch", { key, label: req.agent.name });
      await this.call("chat.send", {
        sessionKey: key,
        message: req.message,
        deliver: true,
        // The gateway de-duplicates on this key: a retried send of the same attempt is one wake.
        idempotencyKey: `mc-wake-${req.agent.id}-${req.generation}-${req.attempt}`,
      });
    });
  }

  async resetSession(agent: DriverAgent): Promise<void> {
    await this.run(() => this.resetSessionIn(agent));
  }

  async syncTemplates(agent: DriverAgent, files: Record<string, string>): Promise<void> {
    await this.run(async () => {
      const agentId = gatewayAgentId(agent);
      // The token is not known here: keep the one delivered at provisioning (a new token needs a re-provision).
      const current = fileContent(
        await this.call("agents.files.get", { agentId, name: "TOOLS.md" }).catch((err) => {
          // A file the gateway cannot read is only "no token to keep"; a missing agent or a dead gateway is an error.
          if (err instanceof GatewayCallError && err.kind === "protocol") return null;
          throw err;
        }),
      );
      const token = current ? tokenFromTools(current) : null;
      const next = token ? withTokenSection(files, token) : files;
      for (const [name, content] of Object.entries(next)) {
        await this.call("agents.files.set", { agentId, name, content });
      }
    });
  }

  async deleteAgent(agent: DriverAgent): Promise<void> {
    await this.run(async () => {
      await this.call("agents.delete", { agentId: gatewayAgentId(agent), deleteFiles: true }).catch((err) => {
        if (!(err instanceof GatewayCallError && err.kind === "not_found")) throw err;
      });
      await this.call("sessions.delete", { key: gatewaySessionKey(agent) }).catch((err) => {
        if (!(err instanceof GatewayCallError && (err.kind === "not_found" || isMissingSessionText(err.message)))) throw err;
      });
    });
  }

  async probe(): Promise<ProbeResult> {
    return this.run(async () => {
      const session = await this.connection();
      return { version: session.version };
    });
  }

  // ---- provisioning steps ---------------------------------------------------------------------------------------

  private async upsertAgent(agent: DriverAgent): Promise<void> {
    const agentId = gatewayAgentId(agent);
    const workspace = workspaceOf(this.gateway, agent);
    let created = true;
    try {
      await this.call("agents.create", { name: agentId, workspace });
    } catch (err) {
      if (!(err instanceof GatewayCallError && err.kind === "protocol" && isAlreadyExistsText(err.message))) throw err;
      created = false;
    }
    // Right after a create the gateway may still say "not found" (its config reload is asynchronous): retry then.
    const delays = created ? this.updateRetryDelaysMs : [];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.call("agents.update", { agentId, name: agent.name, workspace });
        return;
      } catch (err) {
        const retry = err instanceof GatewayCallError && err.kind === "not_found" && attempt < delays.length;
        if (!retry) throw err;
        await sleep(delays[attempt]);
      }
    }
  }

  /** `config.get` → `config.patch` only when our entry changed: a patch restarts the gateway. */
  private async ensureConfigEntry(agent: DriverAgent): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const snapshot = (await this.call("config.get", {})) as Record<string, unknown> | null;
      const config = (isObject(snapshot?.config) ? snapshot.config : isObject(snapshot?.parsed) ? snapshot.parsed : {}) as Record<string, unknown>;
      const hash = typeof snapshot?.hash === "string" ? snapshot.hash : undefined;
      const patch = configPatchFor(config, gatewayAgentId(agent), agent.heartbeatIntervalSeconds);
      if (!patch) return;
      try {
        await this.call("config.patch", { raw: JSON.stringify(patch), ...(hash ? { baseHash: hash } : {}) });
      } catch (err) {
        // Someone else changed the config between our get and patch: read it again once.
        if (attempt === 0 && err instanceof GatewayCallError && err.kind === "protocol" && /hash|stale|changed since|conflict/i.test(err.message)) continue;
        throw err;
      }
      // The gateway restarts now: do not reuse this connection, and ride out the restart.
      this.dropSession();
      this.restartUntil = Date.now() + this.restartWaitMs;
      return;
    }
  }

  private async resetSessionIn(agent: DriverAgent): Promise<void> {
    await this.call("sessions.reset", { key: gatewaySessionKey(agent) }).catch((err) => {
      if (!(err instanceof GatewayCallError && (err.kind === "not_found" || (err.kind === "protocol" && isMissingSessionText(err.message))))) throw err;
    });
  }

  // ---- connection management ------------------------------------------------------------------------------------

  /** One connection per call sequence: opened lazily, reused, closed when the outermost run ends. */
  private async run<T>(work: () => Promise<T>): Promise<T> {
    this.runs += 1;
    try {
      return await work();
    } finally {
      this.runs -= 1;
      if (this.runs === 0) {
        this.dropSession();
        this.restartUntil = 0;
      }
    }
  }

  private dropSession(): void {
    const current = this.session;
    this.session = null;
    current?.then((s) => s.socket.close(), () => undefined);
  }

  private async call(method: string, params: unknown): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        const session = await this.connection();
        const res = await session.socket.request(method, params, this.callTimeoutMs);
        if (!res.ok) throw this.errors.methodRejected(method, res.error?.message ?? res.error?.code ?? "unknown error");
        return res.payload ?? null;
      } catch (err) {
        const transient = err instanceof GatewayCallError && err.kind === "unreachable";
        if (transient) this.dropSession();
        if (!transient || Date.now() >= this.restartUntil) throw err;
        await sleep(Math.min(100 * 2 ** attempt, 1000));
      }
    }
  }

  private connection(): Promise<Session> {
    if (this.session) {
      const current = this.session;
      return current.then((s) => {
        if (s.socket.isOpen) return s;
        if (this.session === current) this.session = null;
        return this.connection();
      });
    }
    const opening = this.open();
    this.session = opening;
    opening.catch(() => {
      if (this.session === opening) this.session = null;
    });
    return opening;
  }

  private async open(): Promise<Session> {
    const controlUi = this.gateway.disableDevicePairing;
    let identity: DeviceIdentity | null = null;
    if (!controlUi) {
      if (!this.options.deviceIdentity) {
        throw new GatewayCallError("this process has no device identity store: cannot sign the OpenClaw handshake", "protocol");
      }
      try {
        identity = await this.options.deviceIdentity();
      } catch (err) {
        if (err instanceof GatewayCallError) throw err;
        throw new GatewayCallError(`device identity unavailable: ${this.errors.clean(String((err as Error)?.message ?? err))}`, "protocol");
      }
      this.privateKeyPem = identity.privateKeyPem;
    }
    const parsed = new URL(this.url);
    const headers: Record<string, string> = {};
    if (controlUi) headers.Origin = `${parsed.protocol === "wss:" ? "https:" : "http:"}//${parsed.host}`;
    // allowInsecureTls: accept a self-signed certificate (no chain or hostname verification); otherwise default TLS.
    const tls: WebSocket.ClientOptions = this.gateway.allowInsecureTls ? { rejectUnauthorized: false } : {};
    const socket = await GatewaySocket.open(this.url, { headers, ...tls }, this.callTimeoutMs, this.errors);
    try {
      // Wait (briefly) for the optional challenge; other events before it are ignored.
      let nonce: string | undefined;
      const challengeDeadline = Date.now() + this.challengeWaitMs;
      for (let left = this.challengeWaitMs; left > 0; left = challengeDeadline - Date.now()) {
        const event = await socket.nextEvent(left);
        if (!event) break;
        if (event.event !== "connect.challenge") continue;
        const value = (event.payload as { nonce?: unknown } | undefined)?.nonce;
        if (typeof value === "string" && value) nonce = value;
        break;
      }
      const client = controlUi ? CONTROL_UI_CLIENT : BACKEND_CLIENT;
      const token = this.gateway.tokenSecret ?? undefined;
      const params: ConnectParams = {
        minProtocol: PROTOCOL_VERSION,
        maxProtocol: PROTOCOL_VERSION,
        role: OPERATOR_ROLE,
        scopes: [...OPERATOR_SCOPES],
        client: { id: client.id, version: CLIENT_VERSION, platform: this.platform, mode: client.mode },
      };
      if (identity) {
        const signedAt = Date.now();
        const payload = deviceAuthPayload({
          deviceId: identity.deviceId,
          clientId: client.id,
          clientMode: client.mode,
          role: OPERATOR_ROLE,
          scopes: OPERATOR_SCOPES,
          signedAtMs: signedAt,
          token,
          nonce,
        });
        params.device = {
          id: identity.deviceId,
          publicKey: identity.publicKey,
          signature: signPayload(identity.privateKeyPem, payload),
          signedAt,
          ...(nonce ? { nonce } : {}),
        };
      }
      if (token) params.auth = { token };
      const res = await socket.request("connect", params, this.callTimeoutMs);
      if (!res.ok) {
        throw this.errors.connectRejected(res.error?.message ?? res.error?.code ?? "connect refused", {
          deviceId: identity?.deviceId,
          controlUi,
          platform: this.platform,
        });
      }
      const hello = res.payload as { server?: { version?: unknown } } | undefined;
      let version = typeof hello?.server?.version === "string" ? hello.server.version : null;
      if (!parseCalVer(version)) {
        // Older gateways: the version that last wrote the config.
        const snapshot = await socket.request("config.get", {}, this.callTimeoutMs).catch(() => null);
        const config = snapshot?.ok ? (snapshot.payload as { config?: { meta?: { lastTouchedVersion?: unknown } } } | null) : null;
        const touched = config?.config?.meta?.lastTouchedVersion;
        if (typeof touched === "string" && parseCalVer(touched)) version = touched;
      }
      const problem = incompatibility(version, this.minVersion);
      if (problem) throw new GatewayCallError(`incompatible gateway: ${problem}`, "incompatible");
      return { socket, version };
    } catch (err) {
      socket.close();
      throw err;
    }
  }
}

/** The partial config to patch in, or null when the agent's entry and the defaults are already in place. */
export function configPatchFor(config: Record<string, unknown>, agentId: string, heartbeatSeconds: number): Record<string, unknown> | null {
  const agents = isObject(config.agents) ? config.agents : {};
  const list = Array.isArray(agents.list) ? [...(agents.list as unknown[])] : [];
  const index = list.findIndex((e) => isObject(e) && e.id === agentId);
  const existing = index >= 0 && isObject(list[index]) ? (list[index] as Record<string, unknown>) : { id: agentId };
  const existingHeartbeat = isObject(existing.heartbeat) ? existing.heartbeat : {};
  const heartbeat = { ...existingHeartbeat, every: heartbeatEvery(heartbeatSeconds) };
  const patch: Record<string, unknown> = {};
  if (index < 0 || !sameJson(existing.heartbeat, heartbeat)) {
    const entry = { ...existing, heartbeat };
    if (index >= 0) list[index] = entry;
    else list.push(entry);
    // A merge patch replaces arrays: send the whole list.
    patch.agents = { list };
  }
  // Heartbeat visibility defaults and the exec host, for missing keys only.
  const channels = isObject(config.channels) ? config.channels : {};
  const defaults = isObject(channels.defaults) ? channels.defaults : {};
  const visibility = isObject(defaults.heartbeat) ? defaults.heartbeat : {};
  const missing = Object.fromEntries(
    Object.entries({ showOk: false, showAlerts: true, useIndicator: true }).filter(([k]) => !(k in visibility)),
  );
  if (Object.keys(missing).length > 0) patch.channels = { defaults: { heartbeat: missing } };
  const tools = isObject(config.tools) ? config.tools : {};
  const exec = isObject(tools.exec) ? tools.exec : {};
  if (!exec.host) patch.tools = { exec: { host: "gateway" } };
  return Object.keys(patch).length > 0 ? patch : null;
}
