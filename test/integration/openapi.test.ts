// The OpenAPI 3.1 documents in docs/openapi/ describe what really goes over the wire: real answers of the agent API
// validate against the agent API document (served at /api/openapi.json), and the requests the HTTP driver really sends
// — and the example gateway's answers — validate against the gateway contract.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { Ajv2020 } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { FakeHttpGateway } from "../support/fake-http-gateway";
import { startHttpGateway } from "../../examples/http-gateway";
import { HttpDriver, signBody } from "../../server/drivers/http/driver";

type Json = Record<string, unknown>;
type Operation = { parameters?: { name: string; in: string; required?: boolean; schema: Json }[]; requestBody?: Json; responses: Record<string, Json> };

const agentDoc = JSON.parse(fs.readFileSync("docs/openapi/agent-api.json", "utf8")) as Json;
const gatewayDoc = JSON.parse(fs.readFileSync("docs/openapi/gateway-http.json", "utf8")) as Json;

/** Validates values against schemas of one document, resolving its `#/components/...` references. */
function validatorFor(doc: Json, id: string) {
  // OpenAPI keywords (openapi, info, paths…) are not JSON Schema: the document is registered as a container of schemas.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...doc, $id: id });
  return (pointer: string, value: unknown): string[] => {
    const validate = ajv.getSchema(`${id}#${pointer}`);
    assert.ok(validate, `no schema at ${pointer}`);
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
  };
}

const escape = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
const paths = (doc: Json) => doc.paths as Record<string, Record<string, Operation>>;

/** The documented response for a status: exact, then 4XX-style ranges, then default. */
function documentedStatus(op: Operation, status: number): string | undefined {
  const key = String(status);
  return [key, `${key[0]}XX`].find((k) => k in op.responses);
}

describe("OpenAPI: agent API", () => {
  let h: Harness;
  let gateway: FakeHttpGateway;
  let agentId: string;
  let token: string;
  const check = validatorFor(agentDoc, "agent-api");
  const seen = new Set<string>();

  /** Sends a request and checks the answer against the document: documented status, headers and body. */
  async function call(path: string, init: RequestInit & { method: string }): Promise<Response> {
    const res = await fetch(`${h.baseUrl}${path}`, init);
    const operations = paths(agentDoc)[path] ?? {};
    // A wrong method is answered with the 405 documented on the path's own operation.
    const documentedMethod = res.status === 405 ? Object.keys(operations)[0] : init.method.toLowerCase();
    const op = operations[documentedMethod];
    assert.ok(op, `${init.method} ${path} is documented`);
    const status = documentedStatus(op, res.status);
    assert.ok(status, `${init.method} ${path} answered ${res.status}, which the document does not list`);
    const response = op.responses[status] as { headers?: Record<string, { required?: boolean; schema: Json }>; content?: Record<string, unknown> };
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      if (header.required) assert.ok(res.headers.get(name), `${res.status} carries ${name}`);
    }
    const text = await res.clone().text();
    if (response.content?.["application/json"]) {
      assert.match(res.headers.get("content-type") ?? "", /application\/json/);
      const pointer = `/paths/${escape(path)}/${documentedMethod}/responses/${status}/content/application~1json/schema`;
      assert.deepEqual(check(pointer, JSON.parse(text)), [], `${init.method} ${path} ${res.status}: ${text}`);
    }
    seen.add(`${init.method} ${path} ${res.status}`);
    return res;
  }

  before(async () => {
    h = await startHarness({ env: { RATE_LIMIT_HEARTBEATS_PER_MINUTE: "8" } });
    gateway = new FakeHttpGateway();
    await gateway.start();
    const gatewayId = await h.gateway({ name: "openapi-gw", driver: "http", url: gateway.url, token: "gw" });
    agentId = (await h.app.lifecycle.createAgent({ gatewayId, name: "documented", kind: "gateway_main" }, "test")).id;
    token = await waitFor(async () => gateway.latest(agentId), 10_000, "the agent's token");
  });
  after(async () => {
    await gateway.stop();
    await h.stop();
  });

  test("/api/openapi.json serves the document in docs/, without authentication", async () => {
    for (const [path, doc] of [
      ["/api/openapi.json", agentDoc],
      ["/api/openapi/gateway-http.json", gatewayDoc],
    ] as const) {
      const res = await fetch(`${h.baseUrl}${path}`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), doc);
      assert.equal(doc.openapi, "3.1.0");
    }
    // The validator does reject what the document does not allow.
    assert.notDeepEqual(check("/components/schemas/HeartbeatAccepted", { status: "online", nextHeartbeatSeconds: 60 }), []);
    assert.notDeepEqual(check("/components/schemas/HeartbeatBody", { status: "sleeping" }), []);
  });

  test("every answer of the agent API that both the code and the contract define validates", async () => {
    const agentHeaders = { "x-agent-token": token };
    const beat = await call("/api/agent/heartbeat", { method: "POST", headers: agentHeaders });
    assert.equal(beat.status, 200);
    assert.equal((await beat.json()).agentId, agentId);
    const withBody = await call("/api/agent/heartbeat", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ status: "busy", note: "indexing" }),
    });
    assert.equal(withBody.status, 200);
    assert.deepEqual(check("/components/schemas/HeartbeatBody", { status: "busy", note: "indexing" }), [], "the body sent is a documented one");
    assert.equal((await call("/api/agent/heartbeat", { method: "POST" })).status, 401);
    const [prefix] = token.split("_").slice(0, 2);
    assert.equal((await call("/api/agent/heartbeat", { method: "POST", headers: { "x-agent-token": `${prefix}_${agentId}_${"x".repeat(43)}` } })).status, 401);
    assert.equal((await call("/api/agent/heartbeat", { method: "GET", headers: agentHeaders })).status, 405);
    assert.equal(
      (await call("/api/agent/heartbeat", { method: "POST", headers: { ...agentHeaders, "content-type": "application/json" }, body: JSON.stringify({ note: "x".repeat(5000) }) })).status,
      413,
    );
    const me = await call("/api/agent/healthz", { method: "GET", headers: agentHeaders });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).id, agentId);
    assert.equal((await call("/api/agent/healthz", { method: "GET" })).status, 401);
    assert.equal((await call("/api/agent/healthz", { method: "POST", headers: agentHeaders })).status, 405);
    assert.equal((await call("/api/healthz", { method: "GET" })).status, 200);
    assert.equal((await call("/api/readyz", { method: "GET" })).status, 200);
    h.app.draining = true;
    assert.equal((await call("/api/readyz", { method: "GET" })).status, 503);
    h.app.draining = false;
    // Past the per-token budget: 429 with Retry-After.
    let limited: Response | undefined;
    for (let i = 0; i < 10 && !limited; i++) {
      const res = await call("/api/agent/heartbeat", { method: "POST", headers: agentHeaders });
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, "rate limited");
    assert.deepEqual([...seen].sort(), [
      "GET /api/agent/healthz 200",
      "GET /api/agent/healthz 401",
      "GET /api/agent/heartbeat 405",
      "GET /api/healthz 200",
      "GET /api/readyz 200",
      "GET /api/readyz 503",
      "POST /api/agent/healthz 405",
      "POST /api/agent/heartbeat 200",
      "POST /api/agent/heartbeat 401",
      "POST /api/agent/heartbeat 413",
      "POST /api/agent/heartbeat 429",
    ]);
  });
});

describe("OpenAPI: HTTP gateway contract", () => {
  const check = validatorFor(gatewayDoc, "gateway-http");
  const templates = Object.keys(paths(gatewayDoc)).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
  }));

  function checkRequest(req: { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string }): string {
    const path = req.path.replace(/^\/base/, "");
    const match = templates.find((t) => t.pattern.test(path));
    assert.ok(match, `${req.method} ${path} is documented`);
    const method = req.method.toLowerCase();
    const op = paths(gatewayDoc)[match.template][method];
    assert.ok(op, `${req.method} ${match.template} is documented`);
    for (const p of op.parameters ?? []) {
      if (p.in === "header") {
        const value = req.headers[p.name.toLowerCase()];
        assert.ok(!p.required || value, `${p.name} sent with ${req.method} ${path}`);
        assert.match(String(value), new RegExp(String(p.schema.pattern)), p.name);
      }
      if (p.in === "path") {
        const index = match.template.split("/").indexOf(`{${p.name}}`);
        const pointer: string = `/paths/${escape(match.template)}/${method}/parameters/${(op.parameters ?? []).indexOf(p)}/schema`;
        assert.deepEqual(check(pointer, decodeURIComponent(path.split("/")[index])), []);
      }
    }
    assert.match(String(req.headers.authorization), /^Bearer \S+/);
    if (op.requestBody) {
      assert.match(String(req.headers["content-type"]), /application\/json/);
      const pointer = `/paths/${escape(match.template)}/${method}/requestBody/content/application~1json/schema`;
      assert.deepEqual(check(pointer, JSON.parse(req.body)), [], `${req.method} ${path}: ${req.body.slice(0, 300)}`);
    } else {
      assert.equal(req.body, "", `${req.method} ${path} has no body`);
    }
    return `${req.method} ${match.template}`;
  }

  test("every request the HTTP driver sends in a full cycle validates (provision, wake, files, delete, probe)", async () => {
    const h = await startHarness();
    const gateway = new FakeHttpGateway();
    await gateway.start();
    try {
      const gatewayId = await h.gateway({ name: "contract-gw", driver: "http", url: `${gateway.url}/`, token: "contract-token" });
      const board = await h.app.db.board.create({ data: { name: "b", gatewayId } });
      const lead = await h.app.lifecycle.createAgent({ gatewayId, boardId: board.id, name: "lead", kind: "board_lead" }, "test");
      await waitFor(async () => gateway.requests.some((r) => r.path.endsWith("/wake")), 10_000, "the wake");
      const connection = { id: gatewayId, name: "contract-gw", driver: "http" as const, url: gateway.url, tokenSecret: "contract-token", allowInsecureTls: false, disableDevicePairing: false };
      const driver = new HttpDriver(connection);
      const driverAgent = { id: lead.id, name: lead.name, kind: lead.kind, boardId: board.id, sessionKey: "s", heartbeatIntervalSeconds: 60 };
      await driver.syncTemplates(driverAgent, { "AGENTS.md": "# hi" });
      await driver.probe();
      await driver.deleteAgent(driverAgent);
      const covered = new Set(gateway.requests.map(checkRequest));
      assert.deepEqual([...covered].sort(), ["DELETE /agents/{agentId}", "GET /health", "POST /agents/{agentId}/files", "POST /agents/{agentId}/provision", "POST /agents/{agentId}/wake"]);
    } finally {
      await gateway.stop();
      await h.stop();
    }
  });

  test("the example gateway's health answer validates", async () => {
    const example = await startHttpGateway({ port: 0, token: "example-token", silent: true });
    try {
      const res = await fetch(`${example.url}/health`, {
        headers: { authorization: "Bearer example-token", "x-mc-signature": signBody("", "example-token") },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(check("/paths/~1health/get/responses/200/content/application~1json/schema", await res.json()), []);
    } finally {
      await example.close();
    }
  });
});
