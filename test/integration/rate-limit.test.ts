// Rate limits: per agent token on the heartbeat API, per client IP only for failed authentications (without locking out
// healthy agents behind the same address), per operator on the console API; 429 with Retry-After; X-Forwarded-For
// believed only from trusted proxies.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startHarness, type Harness } from "../support/harness";
import { issueAgentToken } from "../../server/agent-model/tokens";
import { call, createApiToken, createOperator } from "../support/trpc-http";
import { clientInfo, TrustedProxies } from "../../server/http/client-ip";

async function agentWithToken(h: Harness, gatewayId: string, name: string): Promise<{ id: string; token: string }> {
  const id = await h.agent(gatewayId, "silent", name);
  await h.app.lifecycle.idle();
  const issued = issueAgentToken(id);
  await h.app.db.agent.update({ where: { id }, data: { tokenHash: issued.hash, tokenDelivered: true } });
  return { id, token: issued.token };
}

const heartbeat = (h: Harness, headers: Record<string, string>) => fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers });

describe("heartbeat API: per token", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ worker: false, env: { RATE_LIMIT_HEARTBEATS_PER_MINUTE: "5" } });
  });
  after(async () => {
    await h.stop();
  });

  test("a token over its budget gets 429 with Retry-After; other agents are unaffected", async () => {
    const gatewayId = await h.gateway();
    const noisy = await agentWithToken(h, gatewayId, "noisy");
    const quiet = await agentWithToken(h, gatewayId, "quiet");
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await heartbeat(h, { "x-agent-token": noisy.token })).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    const limited = await heartbeat(h, { "x-agent-token": noisy.token });
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.deepEqual(Object.keys(await limited.json()), ["error"]);
    // Same client address, another token: fine.
    assert.equal((await heartbeat(h, { "x-agent-token": quiet.token })).status, 200);
    const row = await h.app.db.agent.findUniqueOrThrow({ where: { id: noisy.id } });
    assert.equal(row.heartbeatsAccepted, 5, "a refused heartbeat is not stored");
  });
});

describe("heartbeat API: failed authentications per IP", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ worker: false, env: { RATE_LIMIT_AGENT_AUTH_FAILURES_PER_MINUTE: "5", TRUSTED_PROXIES: "127.0.0.1" } });
  });
  after(async () => {
    await h.stop();
  });

  test("after N failures the address gets 429 for failures, but valid tokens behind it keep working", async () => {
    const gatewayId = await h.gateway();
    const healthy = await agentWithToken(h, gatewayId, "healthy-neighbour");
    const newcomer = await agentWithToken(h, gatewayId, "newcomer");
    const client = { "x-forwarded-for": "203.0.113.7" };
    assert.equal((await heartbeat(h, { ...client, "x-agent-token": healthy.token })).status, 200);
    const wrong = issueAgentToken(healthy.id).token; // right agent, wrong secret
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await heartbeat(h, { ...client, "x-agent-token": wrong })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
    const refused = await heartbeat(h, { ...client, "x-agent-token": issueAgentToken(crypto.randomUUID()).token });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    const malformed = await heartbeat(h, { ...client, "x-agent-token": "garbage" });
    assert.equal(malformed.status, 429);
    const missing = await heartbeat(h, client);
    assert.equal(missing.status, 429);
    // The healthy agent behind the same address is not locked out, nor is one that never checked in before.
    assert.equal((await heartbeat(h, { ...client, "x-agent-token": healthy.token })).status, 200);
    assert.equal((await heartbeat(h, { ...client, "x-agent-token": newcomer.token })).status, 200);
    // Another client address (through the trusted proxy) is unaffected.
    assert.equal((await heartbeat(h, { "x-forwarded-for": "198.51.100.9", "x-agent-token": wrong })).status, 401);
    // Rejections while refused are not written to the agent row (no database work for a blocked address).
    const row = await h.app.db.agent.findUniqueOrThrow({ where: { id: healthy.id } });
    assert.equal(row.heartbeatsRejected, 6);
  });
});

describe("X-Forwarded-For without trusted proxies", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ worker: false, env: { RATE_LIMIT_AGENT_AUTH_FAILURES_PER_MINUTE: "3" } });
  });
  after(async () => {
    await h.stop();
  });

  test("is ignored: a client cannot escape its budget by inventing addresses", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await heartbeat(h, { "x-forwarded-for": `192.0.2.${i}`, "x-agent-token": "garbage" })).status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
  });

  test("client address resolution walks X-Forwarded-For from the right, skipping trusted proxies", () => {
    const req = (remote: string, xff?: string, extra: Record<string, string> = {}) =>
      ({ socket: { remoteAddress: remote }, headers: { ...(xff ? { "x-forwarded-for": xff } : {}), host: "mc.local", ...extra } }) as unknown as http.IncomingMessage;
    const none = new TrustedProxies("");
    const proxies = new TrustedProxies("10.0.0.0/8, ::1");
    assert.equal(clientInfo(req("::ffff:10.1.1.1", "1.2.3.4"), none).ip, "10.1.1.1");
    assert.equal(clientInfo(req("10.1.1.1", "6.6.6.6, 1.2.3.4"), proxies).ip, "1.2.3.4");
    assert.equal(clientInfo(req("10.1.1.1", "1.2.3.4, 10.2.2.2"), proxies).ip, "1.2.3.4");
    assert.equal(clientInfo(req("10.1.1.1", "not-an-ip"), proxies).ip, "10.1.1.1");
    assert.equal(clientInfo(req("8.8.8.8", "1.2.3.4"), proxies).ip, "8.8.8.8", "an untrusted peer's header is ignored");
    assert.equal(clientInfo(req("10.1.1.1", "1.2.3.4", { "x-forwarded-proto": "https" }), proxies).https, true);
    assert.equal(clientInfo(req("8.8.8.8", "1.2.3.4", { "x-forwarded-proto": "https" }), proxies).https, false);
    assert.throws(() => new TrustedProxies("nonsense"), /TRUSTED_PROXIES/);
  });
});

describe("console: sign-in failures per IP and requests per operator", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      worker: false,
      env: { RATE_LIMIT_LOGIN_FAILURES: "3", RATE_LIMIT_OPERATOR_REQUESTS_PER_MINUTE: "10", RATE_LIMIT_API_TOKEN_FAILURES_PER_MINUTE: "4" },
    });
  });
  after(async () => {
    await h.stop();
  });

  const login = (email: string, password: string) =>
    fetch(`${h.baseUrl}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });

  test("failed sign-ins: 401 then 429 with Retry-After, even for the right password", async () => {
    const op = await createOperator(h.app, "viewer");
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await login(op.email, "wrong password")).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    const refused = await login(op.email, op.password);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  });

  test("per operator: the console API answers 429 with Retry-After past the budget; other operators are unaffected", async () => {
    const a = await createOperator(h.app, "viewer");
    const b = await createOperator(h.app, "viewer");
    const ta = await createApiToken(h.app, a.id, "viewer");
    const tb = await createApiToken(h.app, b.id, "viewer");
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 11; i++) codes.push((await call(h.baseUrl, "system.me", undefined, { token: ta })).code);
    assert.deepEqual(codes.slice(0, 10), Array(10).fill(undefined));
    const limited = await call(h.baseUrl, "system.me", undefined, { token: ta });
    assert.equal(limited.code, "TOO_MANY_REQUESTS");
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    assert.equal((await call(h.baseUrl, "system.me", undefined, { token: tb })).code, undefined);
  });

  test("invalid API tokens per IP: refused after the budget, valid tokens still pass", async () => {
    const c = await createOperator(h.app, "viewer");
    const valid = await createApiToken(h.app, c.id, "viewer");
    assert.equal((await call(h.baseUrl, "agents.counts", undefined, { token: valid })).code, undefined);
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 6; i++) codes.push((await call(h.baseUrl, "agents.counts", undefined, { token: `mco_guess${i}` })).code);
    assert.deepEqual(codes, ["UNAUTHORIZED", "UNAUTHORIZED", "UNAUTHORIZED", "UNAUTHORIZED", "TOO_MANY_REQUESTS", "TOO_MANY_REQUESTS"]);
    const wellFormed = await call(h.baseUrl, "agents.counts", undefined, { token: `mco_${"A".repeat(43)}` });
    assert.equal(wellFormed.code, "TOO_MANY_REQUESTS");
    assert.ok(Number(wellFormed.headers.get("retry-after")) >= 1);
    assert.equal((await call(h.baseUrl, "agents.counts", undefined, { token: valid })).code, undefined);
    // A token created after the block works at once too.
    const fresh = await createApiToken(h.app, c.id, "viewer");
    assert.equal((await call(h.baseUrl, "agents.counts", undefined, { token: fresh })).code, undefined);
  });
});
