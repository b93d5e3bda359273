// agents.rotateToken: a new token is issued and delivered through the gateway (a real HTTP gateway here), the previous
// one stays valid for AGENT_TOKEN_OVERLAP_SECONDS and is rejected with reason "expired" afterwards; a failed delivery
// never evicts the token the running agent uses; agents.revokeToken makes both stop at once (reason "revoked").
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startHarness, type Harness } from "../support/harness";
import { createApiToken, createOperator, ok } from "../support/trpc-http";
import { FakeHttpGateway as FakeGateway } from "../support/fake-http-gateway";

const OVERLAP_SECONDS = 5;

describe("agent token rotation", () => {
  let h: Harness;
  let gw: FakeGateway;
  let operatorToken: string;
  let agentId: string;

  before(async () => {
    gw = new FakeGateway();
    await gw.start();
    h = await startHarness({ worker: false, env: { AGENT_TOKEN_OVERLAP_SECONDS: String(OVERLAP_SECONDS) } });
    const op = await createOperator(h.app, "operator");
    operatorToken = await createApiToken(h.app, op.id, "operator");
    const gatewayId = await h.gateway({ driver: "http", url: gw.url, token: "gateway-secret-token" });
    agentId = (await h.app.lifecycle.createAgent({ gatewayId, name: "rotating", kind: "gateway_main" }, "test")).id;
    await h.app.lifecycle.idle();
  });
  after(async () => {
    await h.stop();
    await gw.stop();
  });

  const beat = (token: string) =>
    fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": token } }).then((r) => r.status);
  const agent = () => ok<{ heartbeatsRejected: number; lastRejectedReason: string | null; status: string }>(h.baseUrl, "agents.get", { id: agentId }, { token: operatorToken });

  test("the old token works inside the overlap window and is rejected as expired after it", async () => {
    const first = gw.latest(agentId);
    assert.ok(first, "provisioning delivered a token through the gateway");
    assert.equal(await beat(first!), 200);

    const rotatedAt = Date.now();
    const result = await ok<Record<string, unknown>>(h.baseUrl, "agents.rotateToken", { id: agentId }, { token: operatorToken });
    assert.ok(!JSON.stringify(result).includes(first!.slice(-43)), "the response carries no token");
    await h.app.lifecycle.idle();
    const second = gw.latest(agentId);
    assert.ok(second && second !== first, "a new token was delivered through the gateway");
    assert.ok(!JSON.stringify(result).includes(second!.slice(-43)), "the response carries no token");

    // The overlap window starts when the new token is issued (at provisioning).
    const { previousTokenExpiresAt } = await h.app.db.agent.findUniqueOrThrow({ where: { id: agentId }, select: { previousTokenExpiresAt: true } });
    const windowEnds = previousTokenExpiresAt!.getTime();
    assert.ok(windowEnds >= rotatedAt + OVERLAP_SECONDS * 1000 && windowEnds <= Date.now() + OVERLAP_SECONDS * 1000, "window = AGENT_TOKEN_OVERLAP_SECONDS");

    // Inside the window both work: the running agent is not locked out while the gateway restarts it.
    assert.equal(await beat(first!), 200);
    assert.equal(await beat(second!), 200);
    assert.ok(Date.now() < windowEnds, "the checks above ran inside the window");

    const before = (await agent()).heartbeatsRejected;
    await new Promise((r) => setTimeout(r, Math.max(0, windowEnds + 200 - Date.now())));
    assert.equal(await beat(first!), 401);
    assert.equal(await beat(second!), 200);
    const after = await agent();
    assert.equal(after.lastRejectedReason, "expired");
    assert.equal(after.heartbeatsRejected, before + 1);
    const rejected = await h.app.db.lifecycleEvent.findFirst({ where: { agentId, event: "agent.heartbeat.rejected" }, orderBy: { id: "desc" } });
    assert.equal((rejected?.data as { reason?: string }).reason, "expired");
    const audit = await h.app.db.lifecycleEvent.findFirst({ where: { agentId, event: "operator.action" }, orderBy: { id: "desc" } });
    assert.match(audit?.message ?? "", /rotated the token/);
  });

  test("a rotation whose delivery fails keeps the running agent's token valid", async () => {
    const running = gw.latest(agentId)!;
    assert.equal(await beat(running), 200);
    gw.failProvision = true;
    try {
      await ok(h.baseUrl, "agents.rotateToken", { id: agentId }, { token: operatorToken });
      await h.app.lifecycle.idle();
    } finally {
      gw.failProvision = false;
    }
    assert.equal(gw.latest(agentId), running, "nothing new reached the gateway");
    assert.equal(await beat(running), 200, "the delivered token still works (overlap slot)");
  });

  test("revocation: both tokens stop at once with reason revoked; a new rotation recovers", async () => {
    const current = gw.latest(agentId)!;
    assert.equal(await beat(current), 200);
    await ok(h.baseUrl, "agents.revokeToken", { id: agentId }, { token: operatorToken });
    assert.equal(await beat(current), 401);
    assert.equal((await agent()).lastRejectedReason, "revoked");
    await ok(h.baseUrl, "agents.rotateToken", { id: agentId }, { token: operatorToken });
    await h.app.lifecycle.idle();
    const fresh = gw.latest(agentId)!;
    assert.notEqual(fresh, current);
    assert.equal(await beat(fresh), 200);
    assert.equal(await beat(current), 401);
    assert.equal((await agent()).lastRejectedReason, "revoked");
  });

  test("token lookup is one primary-key read, whatever the fleet size", async () => {
    // The token embeds its agent id: authentication never scans agents. Count the queries one heartbeat makes.
    const token = gw.latest(agentId)!;
    const seen: string[] = [];
    const original = h.app.db.agent.findUnique.bind(h.app.db.agent);
    let lookups = 0;
    (h.app.db.agent as { findUnique: unknown }).findUnique = (args: { where: Record<string, unknown> }) => {
      lookups += 1;
      seen.push(Object.keys(args.where).join(","));
      return original(args as never);
    };
    try {
      assert.equal((await h.app.agentAuth.authenticate(token)).ok, true);
    } finally {
      (h.app.db.agent as { findUnique: unknown }).findUnique = original;
    }
    assert.equal(lookups, 1);
    assert.deepEqual(seen, ["id"]);
  });
});
