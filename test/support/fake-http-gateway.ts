// A minimal plain-HTTP gateway (docs/gateway-http.md) for security tests: it records every request and the agent
// tokens Mission Control delivers, and can be told to fail provisioning.
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A minimal HTTP gateway (docs/gateway-http.md) that records the tokens Mission Control delivers. */
export class FakeHttpGateway {
  readonly tokens = new Map<string, string[]>();
  /** Every request: method, path, headers and body, as received. */
  readonly requests: { method: string; path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  failProvision = false;
  private server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      this.requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
      const provision = /^\/agents\/([^/]+)\/provision$/.exec(req.url ?? "");
      if (req.method === "GET" && req.url === "/health") return this.reply(res, 200, { version: "1.0.0" });
      if (provision && req.method === "POST") {
        if (this.failProvision) return this.reply(res, 500, { error: "disk full" });
        const payload = JSON.parse(body) as { token: string };
        const list = this.tokens.get(provision[1]) ?? [];
        list.push(payload.token);
        this.tokens.set(provision[1], list);
        return this.reply(res, 200, { ok: true });
      }
      return this.reply(res, 200, { ok: true });
    });
  });
  url = "";

  /** Listens on `port` (a free one by default; the previous one to come back after `stop`). */
  async start(port = 0): Promise<void> {
    await new Promise<void>((r) => this.server.listen(port, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  get port(): number {
    return Number(new URL(this.url).port);
  }
  /** Stops answering at once: open keep-alive connections are closed too (the gateway went down). */
  stop(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    return closed;
  }
  latest(agentId: string): string | undefined {
    return this.tokens.get(agentId)?.at(-1);
  }
  private reply(res: http.ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }
}
