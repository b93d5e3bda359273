// The OpenClaw gateway driver. Every operation runs over one WebSocket (opened lazily, closed when the operation ends),
// signed with the installation's Ed25519 device identity, and adapts to what the gateway says rather than to its
// version number: the protocol its hello chose, the methods it advertises, the config shape it shows, the files it
// accepts. See docs/openclaw.md for the exchange and what real gateways answer.
import type { DriverAgent, GatewayConnection, GatewayDriver, ProbeResult, ProvisionRequest, RunOutcome, WakeReceipt, WakeRequest } from "../types";
import { GatewayCallError } from "../types";
import type { DeviceIdentity } from "./device-identity";
import { agentSettingsPatch, agentSettingsRemovalPatch, agentsShapeOf, heartbeatEvery, snapshotOf, type AgentSettings, type AgentsShape } from "./config";
import { GatewaySocket, handshake, type Hello } from "./connection";
import { ErrorText, isAlreadyExistsText, isConfigConflictText, isConfigSizeGuardText, isUndeletableSessionText, isUnsupportedFileText } from "./errors";
import { DEFAULT_MIN_VERSION, REQUIRED_METHODS, hostPlatform, incompatibility, parseCalVer, type EventFrame } from "./protocol";
import { TOKEN_FILE, fileContent, tokenFromFile, withTokenSection } from "./token-file";

/** Where a gateway keeps the device token it issued to Mission Control's paired device. */
export interface DeviceTokenStore {
  load(): Promise<string | null>;
  save(token: string): Promise<void>;
}

export interface OpenClawDriverOptions {
  /** The installation's device identity (DB-backed, shared by every process). */
  deviceIdentity?: () => Promise<DeviceIdentity>;
  deviceTokens?: DeviceTokenStore;
  /** Longest wait for any single step: opening the socket, the handshake, each request. */
  callTimeoutMs?: number;
  /** How long to wait for the `connect.challenge` before connecting without a nonce (a busy gateway sends it late). */
  challengeWaitMs?: number;
  /** Defaults to OPENCLAW_MIN_VERSION, else the oldest release the interop suite tests. */
  minVersion?: string;
  /** Defaults to the host OS (linux | darwin | windows): the gateway pins it at pairing time. */
  platform?: string;
  /** Delays between `agents.update` attempts while the gateway still says "not found" right after a create. */
  updateRetryDelaysMs?: number[];
  /** A "retry later" answer is waited out inside an operation only up to this long; longer ones surface as rate_limited. */
  maxInlineRetryWaitMs?: number;
  /**
   * Longest a wake keeps its connection open to hear how the run it started ends. Real gateways report a run that
   * cannot start within a second (2026.9) to about 31 s (2026.4, which retries its model first).
   */
  runWatchMs?: number;
}

/** Per step. Gateways run agents in the same process and can stall for seconds under load (2026.4 was seen at 10 s). */
export const OPENCLAW_CALL_TIMEOUT_MS = 15_000;
const DEFAULT_UPDATE_RETRY_DELAYS_MS = [150, 300, 600, 1200, 2000];
const DEFAULT_MAX_INLINE_RETRY_WAIT_MS = 2_000;
const DEFAULT_RUN_WATCH_MS = 45_000;
const CONFIG_CONFLICT_RETRIES = 5;

/** The id Mission Control's agent has on the gateway (`agents.create` derives ids from names). */
export function gatewayAgentId(agent: Pick<DriverAgent, "id">): string {
  return `mc-${agent.id.toLowerCase()}`;
}

/** OpenClaw routes `agent:<agentId>:<key>` to that agent: the agent's main session on the gateway. */
export function gatewaySessionKey(agent: Pick<DriverAgent, "id">): string {
  return `agent:${gatewayAgentId(agent)}:main`;
}

/** The prompt of OpenClaw's own periodic heartbeat turn for Mission Control's agents. */
export const HEARTBEAT_PROMPT =
  "Mission Control heartbeat: check in now, exactly as the section \"Check in with Mission Control\" of AGENTS.md says, " +
  "before any other work. If nothing else needs attention, reply NO_REPLY.";

export function agentSettingsOf(agent: Pick<DriverAgent, "id" | "heartbeatIntervalSeconds">): AgentSettings {
  return { agentId: gatewayAgentId(agent), heartbeatEvery: heartbeatEvery(agent.heartbeatIntervalSeconds), heartbeatPrompt: HEARTBEAT_PROMPT };
}

/** Per gateway and release, shared by the driver instances of this process: file names the gateway refused. */
const refusedFiles = new Map<string, Set<string>>();

/** Per gateway, shared by the driver instances of this process: the tail of the queue of config-changing calls. */
const configQueues = new Map<string, Promise<unknown>>();

async function serialized<T>(gatewayId: string, work: () => Promise<T>): Promise<T> {
  const before = configQueues.get(gatewayId) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(work);
  const tail = mine.catch(() => undefined);
  configQueues.set(gatewayId, tail);
  try {
    return await mine;
  } finally {
    if (configQueues.get(gatewayId) === tail) configQueues.delete(gatewayId);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Session {
  socket: GatewaySocket;
  hello: Hello;
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
  private readonly maxInlineRetryWaitMs: number;
  private readonly runWatchMs: number;
  private session: Promise<Session> | null = null;
  private runs = 0;
  private privateKeyPem: string | null = null;
  private deviceToken: string | null = null;

  constructor(
    private readonly gateway: GatewayConnection,
    private readonly options: OpenClawDriverOptions = {},
  ) {
    if (!gateway.url) throw new GatewayCallError(`gateway ${gateway.name} has no URL`, "protocol");
    let parsed: URL;
    try {
      parsed = new URL(gateway.url);
    } catch {
      throw new GatewayCallError(`gateway ${gateway.name} has an invalid URL`, "protocol");
    }
    if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
      throw new GatewayCallError(`gateway ${gateway.name}: the OpenClaw URL must start with ws:// or wss://`, "protocol");
    }
    this.url = parsed.toString();
    this.host = parsed.host;
    this.errors = new ErrorText(gateway.name, this.host, () => [gateway.tokenSecret, this.privateKeyPem, this.deviceToken]);
    this.callTimeoutMs = options.callTimeoutMs ?? OPENCLAW_CALL_TIMEOUT_MS;
    this.challengeWaitMs = options.challengeWaitMs ?? this.callTimeoutMs;
    this.minVersion = options.minVersion ?? DEFAULT_MIN_VERSION;
    this.platform = options.platform ?? hostPlatform();
    this.updateRetryDelaysMs = options.updateRetryDelaysMs ?? DEFAULT_UPDATE_RETRY_DELAYS_MS;
    this.maxInlineRetryWaitMs = options.maxInlineRetryWaitMs ?? DEFAULT_MAX_INLINE_RETRY_WAIT_MS;
    this.runWatchMs = options.runWatchMs ?? DEFAULT_RUN_WATCH_MS;
  }

  // ---- GatewayDriver --------------------------------------------------------------------------------------------

  async provision(req: ProvisionRequest): Promise<void> {
    await this.run(req.signal, async () => {
      const files = withTokenSection(req.files, req.token);
      await this.upsertAgent(req.agent, req.signal);
      try {
        await this.writeFiles(req.agent, files, req.signal);
      } catch (err) {
        // Another client's config write raced ours and the gateway lost the agent it had just created (seen with
        // OpenClaw 2026.4 under concurrent creates): create it again, once.
        if (!(err instanceof GatewayCallError && err.kind === "not_found")) throw err;
        await this.upsertAgent(req.agent, req.signal);
        await this.writeFiles(req.agent, files, req.signal);
      }
      await this.resetSessionIn(req.agent, req.signal);
    });
  }

  async wake(req: WakeRequest): Promise<WakeReceipt> {
    this.runs += 1; // the connection outlives this call while the run is watched
    let watching = false;
    try {
      const session = await this.connection();
      const key = gatewaySessionKey(req.agent);
      await this.call("sessions.patch", { key, label: req.agent.name }, req.signal);
      // The gateway de-duplicates on this key: a retried send of the same attempt is one wake.
      const idempotencyKey = `mc-wake-${req.agent.id}-${req.generation}-${req.attempt}`;
      const sent = (await this.call("chat.send", { sessionKey: key, message: req.message, deliver: true, idempotencyKey }, req.signal)) as {
        runId?: unknown;
      } | null;
      const runId = typeof sent?.runId === "string" ? sent.runId : idempotencyKey;
      const runOutcome = this.watchRun(session.socket, runId, this.runWatchMs);
      watching = true;
      void runOutcome.finally(() => this.release());
      return { runOutcome };
    } finally {
      if (!watching) this.release();
    }
  }

  async resetSession(agent: DriverAgent): Promise<void> {
    await this.run(undefined, () => this.resetSessionIn(agent));
  }

  async syncTemplates(agent: DriverAgent, files: Record<string, string>, opts: { token?: string } = {}): Promise<void> {
    await this.run(undefined, async () => {
      // Without a new token, keep the one the agent already has (its hash is checked by the caller beforehand).
      const token = opts.token ?? tokenFromFile(await this.readFile(agent, TOKEN_FILE));
      await this.writeFiles(agent, token ? withTokenSection(files, token) : files);
    });
  }

  async deliveredToken(agent: DriverAgent): Promise<string | null> {
    return this.run(undefined, async () => tokenFromFile(await this.readFile(agent, TOKEN_FILE)));
  }

  async deleteAgent(agent: DriverAgent): Promise<void> {
    await this.run(undefined, async () => {
      await serialized(this.gateway.id, () => this.removeAgent(agent));
      // Older gateways keep the session; current ones refuse to delete a main session (it went with the agent).
      await this.call("sessions.delete", { key: gatewaySessionKey(agent) }).catch((err) => {
        if (!(err instanceof GatewayCallError && (err.kind === "not_found" || isUndeletableSessionText(err.message)))) throw err;
      });
    });
  }

  async probe(): Promise<ProbeResult> {
    return this.run(undefined, async () => {
      const { hello } = await this.connection();
      return { version: hello.version, protocol: hello.protocol };
    });
  }

  /**
   * One `config.patch` that gives every listed agent its heartbeat settings (nothing is sent when they all have
   * them). A concurrent change of the config (stale baseHash) is re-read and retried; a rate limit surfaces as
   * `rate_limited` with the gateway's retry hint for the caller to schedule.
   */
  async applyAgentSettings(agents: Pick<DriverAgent, "id" | "heartbeatIntervalSeconds">[]): Promise<{ patched: boolean }> {
    return this.run(undefined, () => serialized(this.gateway.id, () => this.patchAgentSettings(agents.map(agentSettingsOf))));
  }

  private async patchAgentSettings(wanted: AgentSettings[]): Promise<{ patched: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const { config, hash } = snapshotOf(await this.call("config.get", {}));
      const shape = agentsShapeOf(config) ?? (await this.schemaShape());
      const patch = agentSettingsPatch(config, shape, wanted);
      if (!patch) return { patched: false };
      try {
        await this.call("config.patch", { raw: JSON.stringify(patch), ...(hash ? { baseHash: hash } : {}) });
        return { patched: true };
      } catch (err) {
        const conflict = err instanceof GatewayCallError && err.kind === "protocol" && isConfigConflictText(err.message);
        if (!conflict || attempt >= CONFIG_CONFLICT_RETRIES) throw err;
      }
    }
  }

  // ---- steps ----------------------------------------------------------------------------------------------------

  /**
   * `agents.delete`. A gateway refuses a config write that would halve its config, which deleting one of very few
   * agents can do: then Mission Control's own settings go first (a smaller write) and the delete is tried again.
   */
  private async removeAgent(agent: DriverAgent): Promise<void> {
    const agentId = gatewayAgentId(agent);
    const remove = () =>
      this.call("agents.delete", { agentId, deleteFiles: true }).then(
        () => true,
        (err) => {
          if (err instanceof GatewayCallError && err.kind === "not_found") return true;
          if (err instanceof GatewayCallError && isConfigSizeGuardText(err.message)) return false;
          throw err;
        },
      );
    if (await remove()) return;
    const { config, hash } = snapshotOf(await this.call("config.get", {}));
    const patch = agentSettingsRemovalPatch(config, agentsShapeOf(config) ?? (await this.schemaShape()), agentId);
    if (patch) await this.call("config.patch", { raw: JSON.stringify(patch), ...(hash ? { baseHash: hash } : {}) });
    if (await remove()) return;
    throw new GatewayCallError(
      `gateway ${this.gateway.name} refused to remove agent ${agentId}: its config would shrink below half its size, which ` +
        `OpenClaw rejects as a possible accident. Remove the agent on the gateway host: openclaw agents delete ${agentId}`,
      "protocol",
    );
  }

  private async workspaceFor(agent: DriverAgent): Promise<string> {
    const root = (this.gateway.workspaceRoot ?? "").trim().replace(/\/+$/, "");
    if (root) return `${root}/workspace-${gatewayAgentId(agent)}`;
    const { hello } = await this.connection();
    return `${hello.stateDir ?? "~/.openclaw"}/workspace-${gatewayAgentId(agent)}`;
  }

  /** Config-changing calls of one gateway run one at a time in this process: gateways rewrite their whole config. */
  private async upsertAgent(agent: DriverAgent, signal?: AbortSignal): Promise<void> {
    await serialized(this.gateway.id, () => this.createOrUpdate(agent, signal));
  }

  private async createOrUpdate(agent: DriverAgent, signal?: AbortSignal): Promise<void> {
    const agentId = gatewayAgentId(agent);
    const workspace = await this.workspaceFor(agent);
    let created = true;
    try {
      await this.call("agents.create", { name: agentId, workspace }, signal);
    } catch (err) {
      if (!(err instanceof GatewayCallError && err.kind === "protocol" && isAlreadyExistsText(err.message))) throw err;
      created = false;
    }
    // Right after a create the gateway may still say "not found" (its config reload is asynchronous): retry then.
    const delays = created ? this.updateRetryDelaysMs : [];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.call("agents.update", { agentId, name: agent.name, workspace }, signal);
        return;
      } catch (err) {
        const retry = err instanceof GatewayCallError && err.kind === "not_found" && attempt < delays.length;
        if (!retry) throw err;
        await sleep(delays[attempt]);
      }
    }
  }

  /** Writes every file the gateway accepts; AGENTS.md (check-in instructions and token) must be accepted. */
  private async writeFiles(agent: DriverAgent, files: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const agentId = gatewayAgentId(agent);
    const refused = await this.refusedFiles();
    for (const [name, content] of Object.entries(files)) {
      if (refused.has(name)) continue;
      try {
        await this.call("agents.files.set", { agentId, name, content }, signal);
      } catch (err) {
        if (!(err instanceof GatewayCallError && err.kind === "protocol" && isUnsupportedFileText(err.message))) throw err;
        if (name === TOKEN_FILE) {
          throw new GatewayCallError(`incompatible gateway: ${this.gateway.name} does not accept ${TOKEN_FILE} (${err.message})`, "incompatible");
        }
        refused.add(name);
      }
    }
  }

  private async readFile(agent: DriverAgent, name: string): Promise<string | null> {
    const result = await this.call("agents.files.get", { agentId: gatewayAgentId(agent), name }).catch((err) => {
      // A file that is not there is "nothing to keep"; a missing agent or a dead gateway is an error.
      if (err instanceof GatewayCallError && err.kind === "protocol") return null;
      throw err;
    });
    return fileContent(result);
  }

  private async resetSessionIn(agent: DriverAgent, signal?: AbortSignal): Promise<void> {
    await this.call("sessions.reset", { key: gatewaySessionKey(agent) }, signal);
  }

  private async refusedFiles(): Promise<Set<string>> {
    const { hello } = await this.connection();
    const key = `${this.gateway.id}:${hello.version ?? "?"}:${hello.protocol}`;
    let set = refusedFiles.get(key);
    if (!set) refusedFiles.set(key, (set = new Set()));
    return set;
  }

  /** The config shape from the schema, for a config that shows no agents yet. */
  private async schemaShape(): Promise<AgentsShape> {
    const entries = await this.call("config.schema.lookup", { path: "agents.entries" }).then(
      () => true,
      () => false,
    );
    return entries ? "entries" : "list";
  }

  /**
   * Listens on the wake's connection for the run's outcome: OpenClaw reports an agent run's end as an `agent` event
   * (stream `lifecycle`, phase `end` or `error`) and a failed chat turn as a `chat` event in state `error`.
   */
  private watchRun(socket: GatewaySocket, runId: string, ms: number): Promise<RunOutcome> {
    return new Promise<RunOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: RunOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stopEvents();
        stopClose();
        resolve(outcome.status === "error" ? { status: "error", error: this.errors.clean(outcome.error) } : outcome);
      };
      const timer = setTimeout(() => finish({ status: "unknown" }), ms);
      const stopEvents = socket.onEvent((frame: EventFrame) => {
        const outcome = runOutcomeOf(frame, runId);
        if (outcome) finish(outcome);
      });
      const stopClose = socket.onClosed(() => finish({ status: "unknown" }));
    });
  }

  // ---- connection management ------------------------------------------------------------------------------------

  /** One connection per operation: opened lazily, reused within it, closed when the outermost operation ends. */
  private async run<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    signal?.throwIfAborted();
    this.runs += 1;
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private release(): void {
    this.runs -= 1;
    if (this.runs > 0) return;
    const current = this.session;
    this.session = null;
    current?.then((s) => s.socket.close(), () => undefined);
  }

  /** One request; a short "retry later" (gateway starting, a brief rate limit) is waited out, a long one surfaces. */
  private async call(method: string, params: unknown, signal?: AbortSignal): Promise<unknown> {
    let waited = 0;
    for (;;) {
      // Cancelled (the cycle moved on, or the caller gave up): nothing more is written to the gateway.
      if (signal?.aborted) throw new GatewayCallError(`cancelled before ${method}: ${String(signal.reason ?? "no longer current")}`, "protocol");
      const { socket } = await this.connection();
      const res = await socket.request(method, params, this.callTimeoutMs);
      if (res.ok) return res.payload ?? null;
      const err = this.errors.methodRejected(method, res.error ?? {});
      const wait = err.kind === "rate_limited" ? (err.details.retryAfterMs ?? 1000) : 0;
      if (err.kind !== "rate_limited" || waited + wait > this.maxInlineRetryWaitMs) throw err;
      waited += wait;
      await sleep(wait);
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
    if (!this.options.deviceIdentity) {
      throw new GatewayCallError("this process has no device identity store: cannot sign the OpenClaw handshake", "protocol");
    }
    let identity: DeviceIdentity;
    try {
      identity = await this.options.deviceIdentity();
    } catch (err) {
      if (err instanceof GatewayCallError) throw err;
      throw new GatewayCallError(`device identity unavailable: ${this.errors.clean(String((err as Error)?.message ?? err))}`, "protocol");
    }
    this.privateKeyPem = identity.privateKeyPem;
    this.deviceToken ??= (await this.options.deviceTokens?.load().catch(() => null)) ?? null;
    // allowInsecureTls: accept a self-signed certificate (no chain or hostname verification); otherwise default TLS.
    const tls = this.gateway.allowInsecureTls ? { rejectUnauthorized: false } : {};
    const socket = await GatewaySocket.open(this.url, tls, this.callTimeoutMs, this.errors);
    try {
      const answer = await handshake(socket, {
        identity,
        gatewayToken: this.gateway.tokenSecret,
        deviceToken: this.deviceToken,
        platform: this.platform,
        timeoutMs: this.callTimeoutMs,
        challengeWaitMs: this.challengeWaitMs,
      });
      if (!answer.ok) throw this.errors.connectRejected(answer.error, { deviceId: identity.deviceId, platform: this.platform });
      const { hello } = answer;
      if (hello.deviceToken && hello.deviceToken !== this.deviceToken) {
        this.deviceToken = hello.deviceToken;
        await this.options.deviceTokens?.save(hello.deviceToken).catch(() => undefined);
      }
      let version = hello.version;
      if (!parseCalVer(version)) {
        // Gateways that do not report a version in the hello: the version that last wrote the config.
        const snapshot = await socket.request("config.get", {}, this.callTimeoutMs).catch(() => null);
        const touched = snapshot?.ok ? (snapshot.payload as { config?: { meta?: { lastTouchedVersion?: unknown } } } | null)?.config?.meta?.lastTouchedVersion : null;
        if (typeof touched === "string" && parseCalVer(touched)) version = touched;
      }
      const problem = incompatibility(version, this.minVersion);
      if (problem) throw new GatewayCallError(`incompatible gateway: ${problem}`, "incompatible");
      const missing = hello.methods ? REQUIRED_METHODS.filter((m) => !hello.methods!.has(m)) : [];
      if (missing.length > 0) {
        throw new GatewayCallError(`incompatible gateway: ${this.gateway.name} (OpenClaw ${version}) does not offer ${missing.join(", ")}`, "incompatible");
      }
      return { socket, hello: { ...hello, version } };
    } catch (err) {
      socket.close();
      throw err;
    }
  }
}

/** The outcome an event reports for `runId`, or null when the event is about something else or the run goes on. */
export function runOutcomeOf(frame: EventFrame, runId: string): RunOutcome | null {
  const p = (frame.payload ?? {}) as { runId?: unknown; stream?: unknown; state?: unknown; errorMessage?: unknown; data?: { phase?: unknown; error?: unknown } };
  if (p.runId !== runId) return null;
  if (frame.event === "agent" && p.stream === "lifecycle") {
    if (p.data?.phase === "error") return { status: "error", error: typeof p.data.error === "string" ? p.data.error : "the agent's run failed" };
    if (p.data?.phase === "end") return { status: "ok" };
  }
  if (frame.event === "chat" && p.state === "error") {
    return { status: "error", error: typeof p.errorMessage === "string" ? p.errorMessage : "the agent's run failed" };
  }
  return null;
}
