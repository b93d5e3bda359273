// The HTTP gateway driver (docs/architecture.md, Contracts (gateway drivers), docs/gateway-http.md): exact requests against a real HTTP server on 127.0.0.1,
// failures mapped to the right kinds and messages, and full convergence cycles through examples/http-gateway.ts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createHmac } from "node:crypto";
import type { AddressInfo } from "node:net";
import { HttpDriver } from "../../server/drivers/http/driver";
import { GatewayCallError, type DriverAgent, type GatewayConnection } from "../../server/drivers/types";
import { startHttpGateway, type HttpGatewayHandle } from "../../examples/http-gateway";
import { startHarness, waitFor, eventsOf, type Harness } from "../support/harness";

const TOKEN = "gw-token-7Jq2 with spaces and ünïcode";

interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: unknown;
}

type Reply = { status: number; body?: string; delayMs?: number; headers?: Record<string, string> };

/** A gateway that records every request and answers what the test tells it to. */
async function testGateway(): Promise<{ url: string; requests: Recorded[]; reply: (r: (req: Recorded) => Reply | undefined) => void; close: () => Promise<void> }> {
  const requests: Recorded[] = [];
  let replier: (req: Recorded) => Reply | undefined = () => undefined;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const rec: Recorded = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, raw, body: raw ? JSON.parse(raw) : undefined };
    requests.push(rec);
    const r = replier(rec) ?? { status: 200, body: req.url?.endsWith("/health") ? JSON.stringify({ version: "test-gw 1.2.3" }) : '{"ok":true}' };
    if (r.delayMs) await new Promise((resolve) => setTimeout(resolve, r.delayMs));
    if (res.destroyed) return;
    res.writeHead(r.status, { "content-type": "application/json", ...r.headers });
    res.end(r.body ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/base/`,
    requests,
    reply: (r) => {
      replier = r;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function connection(url: string, token: string | null = TOKEN): GatewayConnection {
  return { id: "g1", name: "test-gw", driver: "http", url, tokenSecret: token, allowInsecureTls: false };
}

const agent: DriverAgent = {
  id: "0b5c9a54-1111-4222-8333-444455556666",
  name: "lead one",
  kind: "board_lead",
  boardId: "9e0e5f2a-aaaa-4bbb-8ccc-dddddddddddd",
  sessionKey: "agent:board_lead:0b5c9a54",
  heartbeatIntervalSeconds: 60,
};

function expectSigned(req: Recorded): void {
  assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
  const expected = "sha256=" + createHmac("sha256", TOKEN).update(Buffer.from(req.raw, "utf8")).digest("hex");
  assert.equal(req.headers["x-mc-signature"], expected, `signature of ${req.method} ${req.path}`);
}

async function rejectsWith(work: Promise<unknown>, kind: GatewayCallError["kind"], message: RegExp): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof GatewayCallError, `a GatewayCallError, got ${String(err)}`);
    assert.equal(err.kind, kind, `kind of "${err.message}"`);
    assert.match(err.message, message);
    assert.ok(!err.message.includes(TOKEN), "never shows the token");
    return true;
  });
}

describe("HttpDriver requests", () => {
  let gw: Awaited<ReturnType<typeof testGateway>>;
  before(async () => {
    gw = await testGateway();
  });
  after(async () => {
    await gw.close();
  });

  test("provision: POST {url}/agents/{id}/provision with the agent, token, URLs and files; signed", async () => {
    gw.requests.length = 0;
    const driver = new HttpDriver(connection(gw.url));
    await driver.provision({
      agent: { ...agent, simulatorBehaviour: "healthy" },
      token: "agent-token-xyz",
      baseUrl: "http://mc:3000",
      heartbeatUrl: "http://mc:3000/api/agent/heartbeat",
      files: { "HEARTBEAT.md": "# Heartbeat\n", "AGENTS.md": "# Ağent ✓\n" },
    });
    assert.equal(gw.requests.length, 1, "provisioning resets the session itself: one request");
    const [req] = gw.requests;
    assert.equal(req.method, "POST");
    assert.equal(req.path, `/base/agents/${agent.id}/provision`);
    assert.equal(req.headers["content-type"], "application/json");
    expectSigned(req);
    assert.deepEqual(req.body, {
      agent: { id: agent.id, name: "lead one", kind: "board_lead", boardId: agent.boardId, sessionKey: agent.sessionKey },
      token: "agent-token-xyz",
      baseUrl: "http://mc:3000",
      heartbeatUrl: "http://mc:3000/api/agent/heartbeat",
      files: { "HEARTBEAT.md": "# Heartbeat\n", "AGENTS.md": "# Ağent ✓\n" },
    });
  });

  test("wake: POST {url}/agents/{id}/wake with {attempt, generation, deadlineAt, message}; signed", async () => {
    gw.requests.length = 0;
    const deadlineAt = new Date("2030-01-02T03:04:05.678Z");
    await new HttpDriver(connection(gw.url)).wake({ agent, attempt: 2, generation: 7, deadlineAt, message: "check in now" });
    const [req] = gw.requests;
    assert.equal(req.method, "POST");
    assert.equal(req.path, `/base/agents/${agent.id}/wake`);
    expectSigned(req);
    assert.deepEqual(req.body, { attempt: 2, generation: 7, deadlineAt: "2030-01-02T03:04:05.678Z", message: "check in now" });
  });

  test("syncTemplates: POST {url}/agents/{id}/files with {files}; resetSession sends nothing", async () => {
    gw.requests.length = 0;
    const driver = new HttpDriver(connection(gw.url));
    await driver.syncTemplates(agent, { "TOOLS.md": "tools" });
    await driver.resetSession(agent);
    assert.equal(gw.requests.length, 1);
    const [req] = gw.requests;
    assert.equal(req.method, "POST");
    assert.equal(req.path, `/base/agents/${agent.id}/files`);
    expectSigned(req);
    assert.deepEqual(req.body, { files: { "TOOLS.md": "tools" } });
  });

  test("deleteAgent: DELETE {url}/agents/{id} signed over the empty body; 404 counts as deleted", async () => {
    gw.requests.length = 0;
    const driver = new HttpDriver(connection(gw.url));
    await driver.deleteAgent(agent);
    gw.reply(() => ({ status: 404, body: '{"error":"unknown agent"}' }));
    await driver.deleteAgent(agent);
    gw.reply(() => undefined);
    assert.equal(gw.requests.length, 2);
    for (const req of gw.requests) {
      assert.equal(req.method, "DELETE");
      assert.equal(req.path, `/base/agents/${agent.id}`);
      assert.equal(req.raw, "");
      expectSigned(req);
    }
  });

  test("probe: GET {url}/health returns the version", async () => {
    gw.requests.length = 0;
    assert.deepEqual(await new HttpDriver(connection(gw.url)).probe(), { version: "test-gw 1.2.3" });
    const [req] = gw.requests;
    assert.equal(req.method, "GET");
    assert.equal(req.path, "/base/health");
    expectSigned(req);
  });

  test("agent ids are URL-encoded in paths", async () => {
    gw.requests.length = 0;
    await new HttpDriver(connection(gw.url)).wake({ agent: { ...agent, id: "a/b c" }, attempt: 1, generation: 1, deadlineAt: new Date(), message: "m" });
    assert.equal(gw.requests[0].path, "/base/agents/a%2Fb%20c/wake");
  });
});

describe("HttpDriver failures", () => {
  let gw: Awaited<ReturnType<typeof testGateway>>;
  before(async () => {
    gw = await testGateway();
  });
  after(async () => {
    await gw.close();
  });
  const wake = (driver: HttpDriver) => driver.wake({ agent, attempt: 1, generation: 1, deadlineAt: new Date(), message: "m" });

  test("HTTP 500 is a protocol error with the status and the gateway's text", async () => {
    gw.reply(() => ({ status: 500, body: `runtime crashed; token was ${TOKEN}` }));
    await rejectsWith(wake(new HttpDriver(connection(gw.url))), "protocol", /gateway error HTTP 500 for POST \/agents\/.*\/wake: runtime crashed; token was \[token\]/);
  });

  test("HTTP 401 and 403 are auth errors that name the gateway's token", async () => {
    for (const status of [401, 403]) {
      gw.reply(() => ({ status, body: "{}" }));
      await rejectsWith(wake(new HttpDriver(connection(gw.url))), "auth", new RegExp(`refused the gateway token or signature \\(HTTP ${status}\\).*test-gw`));
    }
  });

  test("HTTP 404 on wake is not_found; on /health the gateway is incompatible", async () => {
    gw.reply(() => ({ status: 404, body: "{}" }));
    await rejectsWith(wake(new HttpDriver(connection(gw.url))), "not_found", /not found \(HTTP 404\)/);
    await rejectsWith(new HttpDriver(connection(gw.url)).probe(), "incompatible", /not a Mission Control HTTP gateway/);
  });

  test("a /health without {version} is incompatible", async () => {
    gw.reply(() => ({ status: 200, body: "<html>hello</html>" }));
    await rejectsWith(new HttpDriver(connection(gw.url)).probe(), "incompatible", /must answer JSON \{"version"/);
  });

  test("a redirect is never followed (it would carry the token elsewhere)", async () => {
    gw.reply((req) => (req.path.startsWith("/base/") ? { status: 307, headers: { location: "http://127.0.0.1:1/elsewhere" } } : undefined));
    await rejectsWith(wake(new HttpDriver(connection(gw.url))), "protocol", /redirected .*HTTP 307.*configure the final URL/);
  });

  test("a timeout (short timeout through the constructor) is a timeout error", async () => {
    gw.reply(() => ({ status: 200, body: "{}", delayMs: 1000 }));
    const started = Date.now();
    await rejectsWith(wake(new HttpDriver(connection(gw.url), 200)), "timeout", /gateway unreachable: POST \/agents\/.*\/wake timed out after 0\.2s/);
    assert.ok(Date.now() - started < 900, `gave up after ${Date.now() - started} ms`);
  });

  test("a response body that stalls also times out", async () => {
    gw.reply(() => undefined);
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"version":'); // never finished
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await rejectsWith(new HttpDriver(connection(url), 200).probe(), "timeout", /GET \/health timed out/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("connection refused is unreachable, with the reason", async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    await rejectsWith(wake(new HttpDriver(connection(`http://127.0.0.1:${port}`))), "unreachable", new RegExp(`gateway unreachable: .*ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
  });

  test("a gateway without a token fails before sending anything", async () => {
    gw.requests.length = 0;
    gw.reply(() => undefined);
    await rejectsWith(wake(new HttpDriver(connection(gw.url, null))), "auth", /has no token/);
    assert.equal(gw.requests.length, 0);
  });
});

describe("full cycles through the HTTP driver and examples/http-gateway.ts", { concurrency: true }, () => {
  const GW_TOKEN = "example-gateway-token";
  let h: Harness;
  let healthy: HttpGatewayHandle;
  let silent: HttpGatewayHandle;
  let healthyGatewayId: string;
  let silentGatewayId: string;
  before(async () => {
    h = await startHarness();
    // The harness's deadline is 1.5 s: the example's agents check in 0.3 s after a wake.
    healthy = await startHttpGateway({ port: 0, token: GW_TOKEN, checkinDelayMs: 300, log: () => undefined });
    silent = await startHttpGateway({ port: 0, token: GW_TOKEN, silent: true, log: () => undefined });
    healthyGatewayId = await h.gateway({ driver: "http", url: healthy.url, token: GW_TOKEN });
    silentGatewayId = await h.gateway({ driver: "http", url: silent.url, token: GW_TOKEN });
  });
  after(async () => {
    await healthy.close();
    await silent.close();
    await h.stop();
  });

  const create = (gatewayId: string, name: string) =>
    h.app.lifecycle.createAgent({ gatewayId, name, kind: "gateway_main" }, "test").then((a) => a.id);
  const row = (id: string) => h.app.db.agent.findUniqueOrThrow({ where: { id } });

  test("agents that heartbeat back go online and stay online", async () => {
    const id = await create(healthyGatewayId, "http-healthy");
    const online = await waitFor(async () => {
      const a = await row(id);
      return a.status === "online" ? a : null;
    }, 8000, "online through the HTTP gateway");
    assert.equal(online.wakeAttempts, 0);
    assert.equal(online.lastProvisionError, null);
    const gwAgent = healthy.agents.get(id);
    assert.ok(gwAgent, "provisioned on the example gateway");
    assert.deepEqual(Object.keys(gwAgent.files).sort(), ["AGENTS.md", "HEARTBEAT.md", "IDENTITY.md", "MEMORY.md", "SOUL.md", "TOOLS.md", "USER.md"]);
    assert.ok(gwAgent.files["HEARTBEAT.md"].includes(`${h.baseUrl}/api/agent/heartbeat`));
    const attempts = await h.app.db.wakeAttempt.findMany({ where: { agentId: id }, orderBy: { attempt: "asc" } });
    assert.equal(attempts.at(-1)?.outcome, "checked_in");
    assert.equal(gwAgent.wakes, attempts.length, "one wake request per attempt");
    // Heartbeats continue at nextHeartbeatSeconds (1 s here): still online well past 3 intervals.
    await new Promise((r) => setTimeout(r, 3500));
    const later = await row(id);
    assert.equal(later.status, "online");
    assert.ok(later.heartbeatsAccepted >= 3, `heartbeats accepted: ${later.heartbeatsAccepted}`);
    const events = await eventsOf(h.app, id);
    assert.ok(events.includes("lifecycle.provision.succeeded"));
    assert.ok(events.includes("lifecycle.wake.sent"));
  });

  test("reprovisioning delivers a new token (new session) and the agent converges again", async () => {
    const id = await create(healthyGatewayId, "http-reprovision");
    await waitFor(async () => (await row(id)).status === "online", 8000, "online");
    const before = healthy.agents.get(id)!;
    await h.app.lifecycle.startCycle(id, "test", "reprovision", "provision");
    await waitFor(async () => {
      const a = await row(id);
      return a.status === "online" && a.lifecycleGeneration === 2;
    }, 8000, "online again in generation 2");
    const now = healthy.agents.get(id)!;
    assert.equal(now.session, before.session + 1);
    assert.notEqual(now.token, before.token);
  });

  test("agents that stay silent end offline after MAX wakes, each wake delivered (expired, not rpc_failed)", async () => {
    const id = await create(silentGatewayId, "http-silent");
    const offline = await waitFor(async () => {
      const a = await row(id);
      return a.status === "offline" ? a : null;
    }, 3 * 1500 + 5000, "offline");
    assert.match(offline.lastProvisionError ?? "", /No check-in after 3 wakes/);
    const attempts = await h.app.db.wakeAttempt.findMany({ where: { agentId: id }, orderBy: { attempt: "asc" } });
    assert.deepEqual(attempts.map((a) => a.outcome), ["expired", "expired", "expired"]);
    assert.equal(silent.agents.get(id)?.wakes, 3);
    assert.equal(silent.agents.get(id)?.heartbeatsSent, 0);
  });

  test("a wrong gateway token: attempts fail with the auth error, then offline", async () => {
    const wrong = await h.gateway({ driver: "http", url: healthy.url, token: "not-the-token" });
    const id = await create(wrong, "http-wrong-token");
    const offline = await waitFor(async () => {
      const a = await row(id);
      return a.status === "offline" ? a : null;
    }, 3 * 1500 + 5000, "offline");
    const attempts = await h.app.db.wakeAttempt.findMany({ where: { agentId: id }, orderBy: { attempt: "asc" } });
    assert.equal(attempts.length, 3);
    // Each attempt is rpc_failed (on a loaded machine a 1.5 s deadline may expire it first: never checked_in).
    assert.equal(attempts[0].outcome, "rpc_failed");
    assert.ok(attempts.every((a) => a.outcome === "rpc_failed" || a.outcome === "expired"));
    assert.match(attempts[0].error ?? "", /refused the gateway token or signature \(HTTP 401\)/);
    assert.match(offline.lastProvisionError ?? "", /No check-in after 3 wakes/);
    assert.equal(healthy.agents.has(id), false, "nothing was provisioned with a wrong token");
  });
});
