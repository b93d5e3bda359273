// One WebSocket to an OpenClaw gateway: the `connect` handshake (challenge nonce, Ed25519 device signature, protocol
// 3..4 negotiation), requests with a timeout each, and event listeners (a wake listens for its run's outcome).
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { GatewayCallError } from "../types";
import type { DeviceIdentity } from "./device-identity";
import type { ErrorText } from "./errors";
import {
  BACKEND_CLIENT,
  CLIENT_VERSION,
  OPERATOR_ROLE,
  OPERATOR_SCOPES,
  PROTOCOL_MAX,
  PROTOCOL_MIN,
  deviceAuthPayload,
  parseFrame,
  signPayload,
  type ConnectParams,
  type EventFrame,
  type GatewayErrorShape,
  type ResponseFrame,
} from "./protocol";

const MAX_FRAME_BYTES = 25 * 1024 * 1024;

interface Pending {
  method: string;
  resolve(value: ResponseFrame): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export type EventListener = (frame: EventFrame) => void;

export class GatewaySocket {
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<EventListener>();
  private readonly closeListeners = new Set<(err: GatewayCallError) => void>();
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
      // closeTimeout (ws >= 8.19, not in its types yet): do not keep a socket 30 s for a gateway that never answers a close.
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

  /** Events that arrive before the handshake reads them (the challenge, a health event). */
  private early: EventFrame[] | null = [];
  private earlyWaiter: ((frame: EventFrame) => void) | null = null;

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN && !this.closeError;
  }

  /** The next event frame (buffered ones first), or null after `ms`. */
  nextEvent(ms: number): Promise<EventFrame | null> {
    const buffered = this.early?.shift();
    if (buffered) return Promise.resolve(buffered);
    if (this.closeError) return Promise.reject(this.closeError);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.earlyWaiter = null;
        this.closeListeners.delete(onClose);
      };
      this.earlyWaiter = (frame) => {
        done();
        resolve(frame);
      };
      const onClose = (err: GatewayCallError) => {
        done();
        reject(err);
      };
      const timer = setTimeout(() => {
        done();
        resolve(null);
      }, ms);
      this.closeListeners.add(onClose);
    });
  }

  /** Stops buffering early events: after the handshake only explicit listeners see events. */
  endHandshake(): void {
    this.early = null;
    this.earlyWaiter = null;
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onClosed(listener: (err: GatewayCallError) => void): () => void {
    if (this.closeError) {
      listener(this.closeError);
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
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
    this.finish(this.closeError ?? this.errors.closed(1000, "closed by Mission Control", this.phase));
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
    if (frame.type !== "event") return;
    if (this.earlyWaiter) this.earlyWaiter(frame);
    else if (this.early && this.early.length < 16) this.early.push(frame);
    for (const listener of [...this.listeners]) listener(frame);
  }

  private onClose(code: number, reason: string): void {
    const err = !this.opened && this.lastError ? this.errors.transport(this.lastError) : this.errors.closed(code, reason, this.phase);
    this.finish(err);
  }

  private finish(err: GatewayCallError): void {
    const first = !this.closeError;
    this.closeError ??= err;
    this.onOpenResult?.(this.closeError);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(this.closeError);
    }
    if (!first) return;
    for (const listener of [...this.closeListeners]) listener(this.closeError);
    this.closeListeners.clear();
  }
}

/** What the gateway's hello told us: the negotiated protocol, its version, what it offers and where it keeps state. */
export interface Hello {
  protocol: number;
  version: string | null;
  /** Advertised methods, or null when the hello lists none (then every method is tried). */
  methods: Set<string> | null;
  /** The gateway's state folder (agent workspaces default to `<stateDir>/workspace-<agentId>`). */
  stateDir: string | null;
  /** Issued to a paired device; sent back on later connects so the device keeps working if the shared token changes. */
  deviceToken: string | null;
}

export interface HandshakeOptions {
  identity: DeviceIdentity;
  gatewayToken: string | null;
  deviceToken: string | null;
  platform: string;
  timeoutMs: number;
  challengeWaitMs: number;
  /** Defaults to PROTOCOL_MIN..PROTOCOL_MAX (the contract tests offer narrower ranges). */
  protocolRange?: { min: number; max: number };
}

export type HandshakeResult =
  | { ok: true; hello: Hello; raw: unknown; challenged: boolean }
  | { ok: false; error: GatewayErrorShape; challenged: boolean };

export function parseHello(payload: unknown): Hello {
  const hello = (payload ?? {}) as {
    protocol?: unknown;
    server?: { version?: unknown };
    features?: { methods?: unknown };
    snapshot?: { stateDir?: unknown };
    auth?: { deviceToken?: unknown };
  };
  const methods = Array.isArray(hello.features?.methods) ? hello.features.methods.filter((m): m is string => typeof m === "string") : null;
  return {
    protocol: typeof hello.protocol === "number" ? hello.protocol : PROTOCOL_MIN,
    version: typeof hello.server?.version === "string" ? hello.server.version : null,
    methods: methods && methods.length > 0 ? new Set(methods) : null,
    stateDir: typeof hello.snapshot?.stateDir === "string" ? hello.snapshot.stateDir : null,
    deviceToken: typeof hello.auth?.deviceToken === "string" ? hello.auth.deviceToken : null,
  };
}

/** Sends `connect` (after the optional challenge) and returns the hello, or the gateway's refusal as GatewayErrorShape. */
export async function handshake(socket: GatewaySocket, opts: HandshakeOptions): Promise<HandshakeResult> {
  // Wait (briefly) for the challenge; other events before it (e.g. health) are skipped.
  let nonce: string | undefined;
  const challengeDeadline = Date.now() + opts.challengeWaitMs;
  for (let left = opts.challengeWaitMs; left > 0; left = challengeDeadline - Date.now()) {
    const event = await socket.nextEvent(left);
    if (!event) break;
    if (event.event !== "connect.challenge") continue;
    const value = (event.payload as { nonce?: unknown } | undefined)?.nonce;
    if (typeof value === "string" && value) nonce = value;
    break;
  }
  socket.endHandshake();
  const { identity } = opts;
  const signedAt = Date.now();
  // The signature covers the shared token when there is one, else the device token (as OpenClaw's own client does).
  const signatureToken = opts.gatewayToken ?? opts.deviceToken ?? undefined;
  const payload = deviceAuthPayload({
    deviceId: identity.deviceId,
    clientId: BACKEND_CLIENT.id,
    clientMode: BACKEND_CLIENT.mode,
    role: OPERATOR_ROLE,
    scopes: OPERATOR_SCOPES,
    signedAtMs: signedAt,
    token: signatureToken,
    nonce,
  });
  const params: ConnectParams = {
    minProtocol: opts.protocolRange?.min ?? PROTOCOL_MIN,
    maxProtocol: opts.protocolRange?.max ?? PROTOCOL_MAX,
    role: OPERATOR_ROLE,
    scopes: [...OPERATOR_SCOPES],
    client: { id: BACKEND_CLIENT.id, version: CLIENT_VERSION, platform: opts.platform, mode: BACKEND_CLIENT.mode },
    device: {
      id: identity.deviceId,
      publicKey: identity.publicKey,
      signature: signPayload(identity.privateKeyPem, payload),
      signedAt,
      ...(nonce ? { nonce } : {}),
    },
  };
  const token = opts.gatewayToken ?? opts.deviceToken;
  if (token) params.auth = { token, ...(opts.deviceToken ? { deviceToken: opts.deviceToken } : {}) };
  const res = await socket.request("connect", params, opts.timeoutMs);
  const challenged = nonce !== undefined;
  if (!res.ok) return { ok: false, error: res.error ?? { message: "connect refused" }, challenged };
  return { ok: true, hello: parseHello(res.payload), raw: res.payload, challenged };
}
