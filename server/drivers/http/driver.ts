// Plain-HTTP gateway driver (docs/architecture.md, Contracts (gateway drivers)): any runtime that implements the endpoints documented in docs/gateway-http.md.
//
//   POST   {url}/agents/{agentId}/provision   create/update the agent, write its files, reset its session
//   POST   {url}/agents/{agentId}/wake        wake the agent; it must POST its heartbeat right away
//   POST   {url}/agents/{agentId}/files       template sync: replace the agent's files, nothing else
//   DELETE {url}/agents/{agentId}             remove the agent (404 counts as done)
//   GET    {url}/health                       probe: {"version": "..."}
//
// Every request carries `Authorization: Bearer <gateway token>` and `X-MC-Signature: sha256=<hex HMAC-SHA256 of the
// exact request body bytes, keyed with the gateway token>` (the empty string for GET and DELETE). Any non-2xx status,
// a timeout (10 s by default) or a connection error is a failed call (GatewayCallError).
import { createHmac } from "node:crypto";
import type { DeleteOptions, DriverAgent, GatewayConnection, GatewayDriver, ProbeResult, ProvisionRequest, WakeRequest } from "../types";
import { GatewayCallError } from "../types";

export const HTTP_TIMEOUT_MS = 10_000;
const SIGNATURE_HEADER = "x-mc-signature";
/** Longest response body the driver reads; a gateway's answers are small. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export function signBody(body: string, token: string): string {
  return "sha256=" + createHmac("sha256", token).update(body, "utf8").digest("hex");
}

export class HttpDriver implements GatewayDriver {
  private readonly base: string;

  constructor(
    private readonly gateway: GatewayConnection,
    private readonly timeoutMs = HTTP_TIMEOUT_MS,
  ) {
    if (!gateway.url) throw new GatewayCallError(`gateway ${gateway.name} has no URL`, "protocol");
    this.base = gateway.url.replace(/\/+$/, "");
  }

  /** Creates or updates the agent, writes its files and resets its session (HTTP has no separate reset call). */
  async provision(req: ProvisionRequest): Promise<void> {
    await this.call("POST", `${agentPath(req.agent.id)}/provision`, {
      agent: { id: req.agent.id, name: req.agent.name, kind: req.agent.kind, boardId: req.agent.boardId, sessionKey: req.agent.sessionKey },
      token: req.token,
      baseUrl: req.baseUrl,
      heartbeatUrl: req.heartbeatUrl,
      files: req.files,
    }, req.signal);
  }

  async wake(req: WakeRequest): Promise<void> {
    await this.call("POST", `${agentPath(req.agent.id)}/wake`, {
      attempt: req.attempt,
      generation: req.generation,
      deadlineAt: req.deadlineAt.toISOString(),
      message: req.message,
    }, req.signal);
  }

  /** Part of `provision` for HTTP gateways (the contract says provisioning resets the session): nothing to send. */
  async resetSession(_agent: DriverAgent): Promise<void> {}

  /** Template sync: replaces the agent's files; the gateway must not restart or wake the agent. */
  async syncTemplates(agent: DriverAgent, files: Record<string, string>): Promise<void> {
    await this.call("POST", `${agentPath(agent.id)}/files`, { files });
  }

  async deleteAgent(agent: DriverAgent, opts: DeleteOptions = {}): Promise<void> {
    try {
      await this.call("DELETE", agentPath(agent.id), undefined, opts.signal);
    } catch (err) {
      // Deleting an agent the gateway does not know is done.
      if (err instanceof GatewayCallError && err.kind === "not_found") return;
      throw err;
    }
  }

  async probe(): Promise<ProbeResult> {
    let body: unknown;
    try {
      body = await this.call("GET", "/health", undefined);
    } catch (err) {
      if (err instanceof GatewayCallError && err.kind === "not_found") {
        throw new GatewayCallError(`GET /health answered 404: ${this.base} is not a Mission Control HTTP gateway`, "incompatible");
      }
      throw err;
    }
    const version = (body as { version?: unknown } | null)?.version;
    if (typeof version !== "string" || version.length === 0) {
      throw new GatewayCallError('GET /health must answer JSON {"version": "<runtime version>"}', "incompatible");
    }
    return { version: version.slice(0, 200) };
  }

  private async call(method: "GET" | "POST" | "DELETE", path: string, payload: unknown, cancel?: AbortSignal): Promise<unknown> {
    if (cancel?.aborted) throw cancelled(cancel, `${method} ${path}`);
    const token = this.gateway.tokenSecret;
    if (!token) throw new GatewayCallError(`gateway ${this.gateway.name} has no token: set one in the gateway settings`, "auth");
    const body = payload === undefined ? "" : JSON.stringify(payload);
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      [SIGNATURE_HEADER]: signBody(body, token),
      accept: "application/json",
      "user-agent": "mission-control",
    };
    if (payload !== undefined) headers["content-type"] = "application/json";
    const what = `${method} ${path}`;
    // A withdrawn request is never sent. One already sent is not aborted: the gateway applies what it received whether
    // or not anyone waits for the answer, so the caller keeps its lease on the agent until the answer (or the timeout)
    // comes, and no newer request can overtake this one (server/lifecycle/gateway-work.ts).
    const signal = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: payload === undefined ? undefined : body,
        // Never follow a redirect: it would carry the token somewhere the operator did not configure.
        redirect: "manual",
        signal,
      });
      text = await readLimited(res);
    } catch (err) {
      throw this.transportError(err, what);
    }
    if (res.status >= 300 && res.status < 400) {
      throw new GatewayCallError(
        `gateway redirected ${what} (HTTP ${res.status}${res.headers.get("location") ? ` to ${res.headers.get("location")}` : ""}): configure the final URL`,
        "protocol",
      );
    }
    if (res.status === 401 || res.status === 403) {
      throw new GatewayCallError(`gateway refused the gateway token or signature (HTTP ${res.status}) for ${what}: check the token configured for ${this.gateway.name}`, "auth");
    }
    if (res.status === 404) throw new GatewayCallError(`gateway says not found (HTTP 404) for ${what}`, "not_found");
    if (!res.ok) {
      const detail = this.redact(text.trim()).slice(0, 200);
      throw new GatewayCallError(`gateway error HTTP ${res.status} for ${what}${detail ? `: ${detail}` : ""}`, "protocol");
    }
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  private transportError(err: unknown, what: string): GatewayCallError {
    if (err instanceof GatewayCallError) return err;
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e?.name === "TimeoutError" || e?.name === "AbortError") {
      return new GatewayCallError(`gateway unreachable: ${what} timed out after ${this.timeoutMs / 1000}s`, "timeout");
    }
    const reason = e?.cause?.message || e?.cause?.code || e?.message || String(err);
    return new GatewayCallError(`gateway unreachable: ${this.redact(reason)} (${what})`, "unreachable");
  }

  /** Error text is shown to operators: never echo the token. */
  private redact(text: string): string {
    const token = this.gateway.tokenSecret;
    return token ? text.split(token).join("[token]") : text;
  }
}

/** The caller withdrew the request (its cycle moved on, or its outer time limit passed). */
function cancelled(signal: AbortSignal, what: string): GatewayCallError {
  const reason = signal.reason instanceof Error ? signal.reason.message : typeof signal.reason === "string" ? signal.reason : "cancelled";
  return new GatewayCallError(`${what} cancelled: ${reason}`, "timeout");
}

function agentPath(agentId: string): string {
  return `/agents/${encodeURIComponent(agentId)}`;
}

async function readLimited(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined);
      break;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
