// Plain-HTTP gateway driver (SPEC §6): any runtime that implements four endpoints.
// Every request carries the gateway token as a bearer token and an HMAC-SHA256 signature of the raw body.
import { createHmac } from "node:crypto";
import type { DriverAgent, GatewayConnection, GatewayDriver, ProbeResult, ProvisionRequest, WakeRequest } from "./types";
import { GatewayCallError } from "./types";

export const HTTP_TIMEOUT_MS = 10_000;

export function signBody(body: string, token: string): string {
  return "sha256=" + createHmac("sha256", token).update(body).digest("hex");
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

  async provision(req: ProvisionRequest): Promise<void> {
    await this.call("POST", `/agents/${encodeURIComponent(req.agent.id)}/provision`, {
      agent: { id: req.agent.id, name: req.agent.name, kind: req.agent.kind, boardId: req.agent.boardId, sessionKey: req.agent.sessionKey },
      token: req.token,
      baseUrl: req.baseUrl,
      heartbeatUrl: req.heartbeatUrl,
      files: req.files,
    });
  }

  async wake(req: WakeRequest): Promise<void> {
    await this.call("POST", `/agents/${encodeURIComponent(req.agent.id)}/wake`, {
      attempt: req.attempt,
      generation: req.generation,
      deadlineAt: req.deadlineAt.toISOString(),
      message: req.message,
    });
  }

  async resetSession(agent: DriverAgent): Promise<void> {
    await this.call("POST", `/agents/${encodeURIComponent(agent.id)}/reset`, {});
  }

  async syncTemplates(agent: DriverAgent, files: Record<string, string>): Promise<void> {
    await this.call("POST", `/agents/${encodeURIComponent(agent.id)}/files`, { files });
  }

  async deleteAgent(agent: DriverAgent): Promise<void> {
    await this.call("DELETE", `/agents/${encodeURIComponent(agent.id)}`, undefined);
  }

  async probe(): Promise<ProbeResult> {
    const body = (await this.call("GET", "/health", undefined)) as { version?: unknown } | null;
    return { version: typeof body?.version === "string" ? body.version : null };
  }

  private async call(method: string, path: string, payload: unknown): Promise<unknown> {
    const body = payload === undefined ? "" : JSON.stringify(payload);
    const token = this.gateway.tokenSecret ?? "";
    const headers: Record<string, string> = { "x-mc-signature": signBody(body, token) };
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: payload === undefined ? undefined : body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === "TimeoutError") throw new GatewayCallError(`gateway unreachable: ${method} ${path} timed out after ${this.timeoutMs / 1000}s`, "timeout");
      throw new GatewayCallError(`gateway unreachable: ${e.cause?.code ?? e.message}`, "unreachable");
    }
    const text = await res.text().catch(() => "");
    if (res.status === 401 || res.status === 403) {
      throw new GatewayCallError(`gateway refused the gateway token (HTTP ${res.status}): check the token configured for ${this.gateway.name}`, "auth");
    }
    if (res.status === 404) throw new GatewayCallError(`gateway says not found (HTTP 404) for ${method} ${path}`, "not_found");
    if (!res.ok) throw new GatewayCallError(`gateway error HTTP ${res.status} for ${method} ${path}: ${text.slice(0, 200)}`, "protocol");
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }
}
