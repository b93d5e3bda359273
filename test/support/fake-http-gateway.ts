// The fake plain-HTTP gateway (docs/gateway-http.md) of the tests, the end-to-end tests and the benchmarks: it records
// every request and the agent tokens Mission Control delivers, counts calls in flight, and can be told to fail, answer
// slowly or hang. It never calls back; examples/http-gateway.ts is the complete gateway whose agents check in.
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A minimal HTTP gateway (docs/gateway-http.md) that records the tokens Mission Control delivers. */
export class FakeHttpGateway {
  readonly tokens = new Map<string, string[]>();
  /** Every request: method, path, headers and body, as received. */
  readonly requests: { method: string; path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  failProvision = false;
  /** Delays of the next provision requests, in order (a slow gateway); empty: answer at once. */
  readonly provisionDelaysMs: number[] = [];
  /** Most provision requests of one agent the gateway was handling at the same time. */
  maxConcurrentProvisions = 0;
  /** Every wake takes this long to answer (a slow gateway). */
  wakeDelayMs = 0;
  /** Most wake requests of one agent the gateway was handling at the same time. */
  maxConcurrentWakes = 0;
  private readonly wakesInFlight = new Map<string, number>();
  /** Agent calls (provision, wake, delete) being handled now, over all agents, and the most at once. */
  agentCallsInFlight = 0;
  maxAgentCallsInFlight = 0;
  /** Wakes answered so far. */
  wakesAnswered = 0;
  /** While set, wakes are held unanswered until `releaseWakes()` (a gateway that hangs). */
  holdWakes = false;
  private readonly heldWakes: (() => void)[] = [];
  private readonly inFlight = new Map<string, number>();
  private server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      this.requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
      const provision = /^\/agents\/([^/]+)\/provision$/.exec(req.url ?? "");
      if (req.method === "GET" && req.url === "/health") return this.reply(res, 200, { version: "1.0.0" });
      this.agentCallsInFlight += 1;
      this.maxAgentCallsInFlight = Math.max(this.maxAgentCallsInFlight, this.agentCallsInFlight);
      this.counted.add(res);
      // Counted out when the answer is written (before the caller can send its next call) or the caller hangs up.
      res.once("close", () => this.uncount(res));
      if (provision && req.method === "POST") {
        const agentId = provision[1];
        const running = (this.inFlight.get(agentId) ?? 0) + 1;
        this.inFlight.set(agentId, running);
        this.maxConcurrentProvisions = Math.max(this.maxConcurrentProvisions, running);
        const delay = this.provisionDelaysMs.shift() ?? 0;
        setTimeout(() => {
          this.inFlight.set(agentId, (this.inFlight.get(agentId) ?? 1) - 1);
          if (this.failProvision) return this.reply(res, 500, { error: "disk full" });
          // Applied even when the caller gave up meanwhile, as a real runtime would.
          const payload = JSON.parse(body) as { token: string };
          const list = this.tokens.get(agentId) ?? [];
          list.push(payload.token);
          this.tokens.set(agentId, list);
          this.reply(res, 200, { ok: true });
        }, delay);
        return;
      }
      const wake = /^\/agents\/([^/]+)\/wake$/.exec(req.url ?? "");
      if (wake && req.method === "POST") {
        const running = (this.wakesInFlight.get(wake[1]) ?? 0) + 1;
        this.wakesInFlight.set(wake[1], running);
        this.maxConcurrentWakes = Math.max(this.maxConcurrentWakes, running);
        const answer = () =>
          setTimeout(() => {
            this.wakesInFlight.set(wake[1], (this.wakesInFlight.get(wake[1]) ?? 1) - 1);
            this.wakesAnswered += 1;
            this.reply(res, 200, { ok: true });
          }, this.wakeDelayMs);
        if (this.holdWakes) this.heldWakes.push(answer);
        else answer();
        return;
      }
      return this.reply(res, 200, { ok: true });
    });
  });
  url = "";

  /** `keepAliveTimeoutMs`: how long an idle connection stays open (Node's default is 5 s; a benchmark keeps them). */
  constructor(opts: { keepAliveTimeoutMs?: number } = {}) {
    if (opts.keepAliveTimeoutMs !== undefined) this.server.keepAliveTimeout = opts.keepAliveTimeoutMs;
  }

  /** Wake requests received so far (answered or not). */
  get wakesReceived(): number {
    return this.requests.filter((r) => r.method === "POST" && /^\/agents\/[^/]+\/wake$/.test(r.path)).length;
  }

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
  /** Answers the held wakes and stops holding. */
  releaseWakes(): void {
    this.holdWakes = false;
    for (const answer of this.heldWakes.splice(0)) answer();
  }
  /** Wakes held unanswered now. */
  get wakesHeld(): number {
    return this.heldWakes.length;
  }
  latest(agentId: string): string | undefined {
    return this.tokens.get(agentId)?.at(-1);
  }
  private readonly counted = new WeakSet<http.ServerResponse>();
  private uncount(res: http.ServerResponse) {
    if (this.counted.delete(res)) this.agentCallsInFlight -= 1;
  }
  private reply(res: http.ServerResponse, status: number, body: unknown) {
    this.uncount(res);
    if (res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }
}
