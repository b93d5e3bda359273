// Secrets never leave: gateway tokens, agent tokens, operator API tokens, session cookies and passwords (and their
// hashes and ciphertexts) appear in no read procedure, no service endpoint, no Socket.IO payload, no log line and no
// error. The only exceptions are the one-time answers that exist to hand a secret over (tokens.create,
// operators.create / resetPassword), which must contain their own secret and no other.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { randomUUID } from "node:crypto";
import { io as connect, type Socket } from "socket.io-client";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { FakeHttpGateway } from "../support/fake-http-gateway";
import { allProcedures, call, createApiToken, createOperator, ok, signIn } from "../support/trpc-http";
import { createLogger } from "../../server/platform/logger";
import { sha256 } from "../../server/auth/principal";
import { hashSecret, issueAgentToken } from "../../server/agent-model/tokens";

describe("secrets never appear in reads, pushes, logs or errors", () => {
  let h: Harness;
  let gw: FakeHttpGateway;
  let socket: Socket;
  const logLines: string[] = [];
  const pushes: string[] = [];
  const responses: { what: string; body: string }[] = [];
  const secrets = new Map<string, string>();
  const gatewayToken1 = `gw-secret-${randomUUID()}`;
  const gatewayToken2 = `gw-secret-${randomUUID()}`;
  let adminToken: string;
  const ids: Record<string, string> = {};

  function secret(name: string, value: string) {
    secrets.set(name, value);
  }

  before(async () => {
    gw = new FakeHttpGateway();
    await gw.start();
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    });
    h = await startHarness({ logger: createLogger(sink, "trace"), env: { RATE_LIMIT_OPERATOR_REQUESTS_PER_MINUTE: "100000" } });
    const admin = await createOperator(h.app, "admin");
    adminToken = await createApiToken(h.app, admin.id, "admin");
    secret("admin API token", adminToken);
    secret("admin API token hash", sha256(adminToken));
    secret("admin password", admin.password);
    secret("admin password hash", (await h.app.db.operator.findUniqueOrThrow({ where: { id: admin.id } })).passwordHash!);
    secret("gateway token", gatewayToken1);
    secret("gateway token (updated)", gatewayToken2);

    socket = connect(h.baseUrl, { path: "/socket.io", transports: ["websocket"], auth: { token: adminToken }, reconnection: false });
    socket.onAny((event, ...args) => pushes.push(`${event} ${JSON.stringify(args)}`));
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    await socket.emitWithAck("subscribe", { rooms: ["fleet"] });
  });
  after(async () => {
    socket?.close();
    await h.stop();
    await gw.stop();
  });

  test("exercise the product with real secrets", async () => {
    // A gateway with a token (admin), whose main agent is provisioned with an agent token through the gateway.
    const created = await ok<{ id: string; hasToken: boolean }>(
      h.baseUrl,
      "gateways.create",
      { name: "secret-gw", driver: "http", url: gw.url, token: gatewayToken1 },
      { token: adminToken },
    );
    responses.push({ what: "gateways.create", body: JSON.stringify(created) });
    assert.equal(created.hasToken, true);
    ids.gatewayId = created.id;
    const stored = await h.app.db.gateway.findUniqueOrThrow({ where: { id: created.id } });
    assert.ok(stored.tokenSecret?.startsWith("enc:v1:"), "the gateway token is encrypted at rest");
    assert.ok(!stored.tokenSecret!.includes(gatewayToken1));
    secret("gateway token ciphertext", stored.tokenSecret!);

    const agent = await h.app.db.agent.findFirstOrThrow({ where: { gatewayId: created.id } });
    ids.agentId = agent.id;
    const first = await waitFor(async () => gw.latest(agent.id), 10_000, "the agent token delivered");
    assert.equal(gw.requests.find((r) => r.path.endsWith("/provision"))?.headers.authorization, `Bearer ${gatewayToken1}`, "the gateway receives its token");
    secret("agent token", first);
    secret("agent token secret part", first.slice(-43));
    secret("agent token hash", hashSecret(first.slice(-43)));
    const beat = await fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": first } });
    responses.push({ what: "heartbeat", body: await beat.text() });
    assert.equal(beat.status, 200);
    const healthz = await fetch(`${h.baseUrl}/api/agent/healthz`, { headers: { authorization: `Bearer ${first}` } });
    responses.push({ what: "agent healthz", body: await healthz.text() });

    // A wrong secret for a real agent: rejected, logged and pushed as an event — without the presented token.
    const wrong = issueAgentToken(agent.id).token;
    secret("wrong agent token", wrong);
    const rejected = await fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": wrong } });
    responses.push({ what: "rejected heartbeat", body: await rejected.text() });
    assert.equal(rejected.status, 401);

    // Rotation delivers a second token; both are secrets.
    responses.push({ what: "agents.rotateToken", body: JSON.stringify(await ok(h.baseUrl, "agents.rotateToken", { id: agent.id }, { token: adminToken })) });
    await h.app.lifecycle.idle();
    const second = await waitFor(async () => (gw.latest(agent.id) !== first ? gw.latest(agent.id) : undefined), 10_000, "the rotated token delivered");
    secret("rotated agent token", second);
    secret("rotated agent token hash", hashSecret(second.slice(-43)));
    await fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": second } });

    // The gateway token is changed (write-only field).
    const updated = await ok(h.baseUrl, "gateways.update", { id: created.id, token: gatewayToken2 }, { token: adminToken });
    responses.push({ what: "gateways.update", body: JSON.stringify(updated) });
    secret("updated gateway token ciphertext", (await h.app.db.gateway.findUniqueOrThrow({ where: { id: created.id } })).tokenSecret!);

    // A board and a simulator gateway so that every read has something to show.
    const sim = await ok<{ id: string }>(h.baseUrl, "gateways.create", { name: "sim-gw", driver: "simulator", token: `sim-${gatewayToken1}` }, { token: adminToken });
    secret("simulator gateway token", `sim-${gatewayToken1}`);
    const board = await ok<{ id: string }>(h.baseUrl, "boards.create", { name: "alpha", gatewayId: sim.id }, { token: adminToken });
    ids.boardId = board.id;
    // A fleet operation (a bulk reprovision runs as one), so that its reads are covered too.
    const bulk = await ok<{ operationId: string }>(h.baseUrl, "agents.bulkReprovision", { ids: [ids.agentId] }, { token: adminToken });
    ids.operationId = bulk.operationId;

    // Operators: invitation with a generated password (shown once), a chosen password, a session, an API token.
    const invited = await ok<{ id: string; initialPassword: string }>(h.baseUrl, "operators.create", { email: `inv-${randomUUID().slice(0, 6)}@example.com`, role: "operator" }, { token: adminToken });
    secret("invitation password", invited.initialPassword);
    ids.operatorId = invited.id;
    const chosen = `chosen-password-${randomUUID()}`;
    const withPassword = await ok<{ email: string; initialPassword?: string }>(
      h.baseUrl,
      "operators.create",
      { email: `pw-${randomUUID().slice(0, 6)}@example.com`, role: "viewer", password: chosen },
      { token: adminToken },
    );
    assert.equal(withPassword.initialPassword, undefined, "a chosen password is never echoed");
    responses.push({ what: "operators.create (chosen password)", body: JSON.stringify(withPassword) });
    secret("chosen password", chosen);
    const cookie = await signIn(h.baseUrl, withPassword.email, chosen);
    secret("session token", decodeURIComponent(cookie.split("=")[1]));
    secret("session token hash", sha256(decodeURIComponent(cookie.split("=")[1])));
    const apiToken = await ok<{ id: string; token: string }>(h.baseUrl, "tokens.create", { name: "ci", role: "operator", operatorId: invited.id }, { token: adminToken });
    secret("operator API token", apiToken.token);
    secret("operator API token hash", sha256(apiToken.token));
    ids.tokenId = apiToken.id;
    const reset = await ok<{ password: string }>(h.baseUrl, "operators.resetPassword", { id: invited.id }, { token: adminToken });
    secret("reset password", reset.password);

    // Failures that carry secrets in their input must not echo them.
    for (const [path, input] of [
      ["gateways.create", { name: "bad", driver: "http", url: `https://user:${gatewayToken1}@example.com/`, token: gatewayToken1 }],
      ["gateways.create", { name: "bad2", driver: "http", url: "ftp://example.com", token: gatewayToken1 }],
      ["gateways.update", { id: created.id, token: 12345, url: `https://admin:${gatewayToken2}@h.example/` }],
      ["tokens.create", { name: adminToken, role: "admin" }],
      ["operators.create", { email: "not-an-email", role: "viewer", password: chosen }],
      ["operators.changePassword", { current: "wrong-current", next: chosen }],
    ] as const) {
      const r = await call(h.baseUrl, path, input, { token: adminToken });
      assert.ok(r.code, `${path} should have failed`);
      responses.push({ what: `${path} error`, body: r.raw });
    }
    const badLogin = await fetch(`${h.baseUrl}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: withPassword.email, password: gatewayToken1 }),
    });
    responses.push({ what: "failed sign-in", body: await badLogin.text() });
    const badBearer = await call(h.baseUrl, "system.me", undefined, { token: `${apiToken.token}x` });
    responses.push({ what: "bad bearer", body: badBearer.raw });
    const wrongAgentHealthz = await fetch(`${h.baseUrl}/api/agent/healthz`, { headers: { "x-agent-token": wrong } });
    responses.push({ what: "agent healthz with a wrong token", body: await wrongAgentHealthz.text() });
    await waitFor(async () => pushes.some((p) => p.includes("agent.heartbeat.rejected")) || null, 5000, "the rejection pushed");
  });

  test("every read procedure, with every id it accepts, shows no secret", async () => {
    const candidates: unknown[] = [
      undefined,
      {},
      { id: ids.agentId },
      { id: ids.gatewayId },
      { id: ids.boardId },
      { id: ids.operatorId },
      { id: ids.operationId },
      { agentId: ids.agentId },
      { gatewayId: ids.gatewayId },
      { operatorId: ids.operatorId },
      { limit: 100 },
    ];
    const unanswered: string[] = [];
    for (const { path, type } of allProcedures()) {
      if (type !== "query") continue;
      let answered = 0;
      for (const input of candidates) {
        const r = await call(h.baseUrl, path, input, { token: adminToken });
        assert.ok(r.status < 500, `${path} ${JSON.stringify(input)}: ${r.status} ${r.message}`);
        if (!r.code) answered += 1;
        responses.push({ what: `${path} ${JSON.stringify(input)}`, body: r.raw });
      }
      if (answered === 0) unanswered.push(path);
    }
    assert.deepEqual(unanswered, [], "read procedures that answered no candidate input (extend the candidates)");
    for (const path of ["/api/readyz", "/api/healthz", "/api/metrics"]) {
      const res = await fetch(`${h.baseUrl}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
      responses.push({ what: path, body: await res.text() });
    }
  });

  test("grep: responses, socket payloads and log lines", async () => {
    await h.app.lifecycle.idle();
    assert.ok(logLines.length > 20, `only ${logLines.length} log lines captured`);
    assert.ok(pushes.length > 5, `only ${pushes.length} socket payloads captured`);
    const leaks: string[] = [];
    for (const [name, value] of secrets) {
      assert.ok(value.length >= 12, `${name} is too short to grep for`);
      for (const r of responses) if (r.body.includes(value)) leaks.push(`${name} in response to ${r.what}`);
      for (const p of pushes) if (p.includes(value)) leaks.push(`${name} in socket payload ${p.slice(0, 120)}`);
      for (const l of logLines) if (l.includes(value)) leaks.push(`${name} in log line ${l.slice(0, 200)}`);
    }
    assert.deepEqual(leaks, []);
    // And nothing that looks like a token hash column or a raw credential slipped through under another name.
    for (const r of responses) {
      assert.ok(!/tokenHash|passwordHash|tokenSecret|previousTokenHash/.test(r.body), `secret column named in ${r.what}`);
      assert.ok(!/mca_[0-9a-f-]{36}_[A-Za-z0-9_-]{43}/.test(r.body), `an agent token in ${r.what}`);
      assert.ok(!/mco_[A-Za-z0-9_-]{43}/.test(r.body), `an operator token in ${r.what}`);
    }
    for (const p of pushes) assert.ok(!/tokenHash|passwordHash|tokenSecret|mca_[0-9a-f-]{36}_/.test(p), `secret in push ${p.slice(0, 200)}`);
    for (const l of logLines) assert.ok(!/mca_[0-9a-f-]{36}_[A-Za-z0-9_-]{43}|mco_[A-Za-z0-9_-]{43}|mcs_[A-Za-z0-9_-]{43}/.test(l), `credential in log ${l.slice(0, 200)}`);
  });

  test("the one-time answers contain their own secret and nothing else", async () => {
    const admin = await createOperator(h.app, "viewer");
    const once = await call(h.baseUrl, "tokens.create", { name: "once", role: "viewer", operatorId: admin.id }, { token: adminToken });
    const token = (once.data as { token: string }).token;
    for (const [name, value] of secrets) assert.ok(!once.raw.includes(value), `${name} in tokens.create`);
    assert.ok(once.raw.includes(token));
    // Listing afterwards never shows it again.
    const list = await call(h.baseUrl, "tokens.list", undefined, { token: adminToken });
    assert.ok(!list.raw.includes(token));
  });
});
