// Notifications end to end (docs/ops/README.md, Notifications): real lifecycle events, real pg-boss delivery jobs, and a real
// HTTP receiver. Grouping (one message per gateway outage, not one per agent), resolution, retries with backoff,
// mute, acknowledge, Slack payloads, "no worker" delivered without a lifecycle worker, and write-only channel secrets.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import net from "node:net";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { FakeHttpGateway } from "../support/fake-http-gateway";
import { startWebhookReceiver, type Received, type WebhookReceiver } from "../support/webhook-receiver";
import { appRouter } from "../../server/trpc/root";
import type { Principal, Role } from "../../server/auth/principal";

const ENV = {
  NOTIFY_GROUP_SECONDS: "2",
  NOTIFY_RETRY_DELAY_SECONDS: "1",
  NOTIFY_CHECK_SECONDS: "1",
  NOTIFY_RETRY_LIMIT: "2",
  // Probes are triggered by the tests (gateways.probe), so the order of events is the test's.
  GATEWAY_PROBE_SECONDS: "3600",
};

function caller(h: Harness, role: Role = "admin") {
  const principal: Principal = { operatorId: null, email: `${role}@test`, role, via: "api_token" };
  return appRouter.createCaller({ app: h.app, principal });
}

const firing = (r: WebhookReceiver) => r.received.filter((m) => m.body.type === "notification.firing");
const resolved = (r: WebhookReceiver) => r.received.filter((m) => m.body.type === "notification.resolved");

/** Every evaluation has run and no delivery is waiting: nothing more will arrive unless something new happens. */
async function settled(h: Harness): Promise<void> {
  await waitFor(
    async () => {
      await h.app.notifications.idle();
      const pending = await h.app.db.notificationDelivery.count({ where: { status: "pending" } });
      return pending === 0;
    },
    20_000,
    "no pending deliveries",
  );
}

function verifySignature(m: Received, secret: string): void {
  const expected = "sha256=" + createHmac("sha256", secret).update(m.raw, "utf8").digest("hex");
  assert.equal(m.headers["x-mc-signature"], expected, "signed with the channel's secret over the exact body");
}

/** Agents on an HTTP gateway that heartbeat with the tokens the gateway received, while `beating`. */
function heartbeater(h: Harness, gateway: FakeHttpGateway, agentIds: string[]) {
  let beating = true;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      if (beating) {
        await Promise.all(
          agentIds.map(async (id) => {
            const token = gateway.latest(id);
            if (!token) return;
            await fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": token } }).then((r) => r.body?.cancel());
          }),
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    set beating(v: boolean) {
      beating = v;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** A test's rules go with it: the agents it leaves behind must not notify during the next test. */
async function removeRules(h: Harness): Promise<void> {
  for (const r of await caller(h).notifications.listRules()) await caller(h).notifications.deleteRule({ id: r.id });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function statuses(h: Harness, ids: string[]): Promise<string[]> {
  const rows = await h.app.db.agent.findMany({ where: { id: { in: ids } }, select: { status: true } });
  return rows.map((r) => r.status);
}

describe("notifications", () => {
  let h: Harness;
  let receiver: WebhookReceiver;

  before(async () => {
    h = await startHarness({ env: ENV });
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await receiver.close();
    await h.stop();
  });

  test("a gateway with several agents going down is one grouped notification, and its recovery one resolved", async () => {
    const admin = caller(h);
    const gateway = new FakeHttpGateway();
    await gateway.start();
    const gatewayId = await h.gateway({ name: "outage-gw", driver: "http", url: gateway.url, token: "gw-secret" });
    const agents: string[] = [];
    for (let i = 0; i < 5; i++) {
      agents.push((await h.app.lifecycle.createAgent({ gatewayId, name: `outage-${i}`, kind: "gateway_main" }, "test")).id);
    }
    const channel = await admin.notifications.createChannel({ name: "ops-webhook", kind: "webhook", url: receiver.url });
    assert.ok(channel.signingSecret, "a generated signing secret is returned once");
    await admin.notifications.createRule({ name: "gateways down", trigger: "gateway_unreachable", channelIds: [channel.id] });
    // An agent rule on the same gateway: its agents going offline during the outage must not notify on their own.
    await admin.notifications.createRule({ name: "outage agents", trigger: "agent_offline", scope: "gateway", gatewayId, channelIds: [channel.id] });

    const beats = heartbeater(h, gateway, agents);
    try {
      await waitFor(async () => (await statuses(h, agents)).every((s) => s === "online"), 15_000, "every agent online");
      assert.equal((await admin.gateways.probe({ id: gatewayId })).status, "reachable");

      await gateway.stop();
      beats.beating = false;
      assert.equal((await admin.gateways.probe({ id: gatewayId })).status, "unreachable");
      // The agents stop checking in too: 3 missed heartbeats later they are offline (heartbeat_lost).
      await waitFor(async () => (await statuses(h, agents)).every((s) => s === "offline"), 15_000, "every agent offline");
      await waitFor(async () => firing(receiver).length > 0, 10_000, "the firing notification");
      await settled(h);

      assert.equal(firing(receiver).length, 1, `one notification for the outage, got: ${receiver.received.map((m) => m.body.title).join(" | ")}`);
      const [message] = firing(receiver);
      verifySignature(message, channel.signingSecret!);
      assert.equal(message.headers["x-mc-event"], "notification.firing");
      assert.equal(message.body.title, "Gateway outage-gw unreachable, 5 agents affected");
      assert.equal(message.body.affectedAgents, 5);
      assert.deepEqual(message.body.gateway, { id: gatewayId, name: "outage-gw" });
      assert.equal(message.body.url, `${h.baseUrl}/gateways/${gatewayId}`);
      assert.match(String(message.body.summary), /Last error: .*(ECONNREFUSED|connect|unreachable)/i);
      assert.doesNotMatch(message.raw, /gw-secret/, "no gateway token in a notification");

      await gateway.start(gateway.port);
      beats.beating = true;
      assert.equal((await admin.gateways.probe({ id: gatewayId })).status, "reachable");
      await waitFor(async () => resolved(receiver).length > 0, 10_000, "the resolved notification");
      await waitFor(async () => (await statuses(h, agents)).every((s) => s === "online"), 15_000, "every agent back online");
      await settled(h);

      assert.equal(firing(receiver).length, 1);
      assert.equal(resolved(receiver).length, 1, "one resolved notification");
      assert.equal(resolved(receiver)[0].body.id, message.body.id, "it resolves the same notification");
      assert.equal(receiver.received.length, 2, "nothing else was sent");
      const log = await h.app.db.notification.findMany({ where: { gatewayId }, orderBy: { openedAt: "asc" } });
      assert.deepEqual(
        log.map((n) => [n.trigger, n.state]),
        [["gateway_unreachable", "resolved"]],
        "no separate agent notification was opened",
      );
      await removeRules(h);
    } finally {
      await beats.stop();
      await gateway.stop().catch(() => undefined);
    }
  });

  test("agents that go offline on a reachable gateway are one notification per gateway, with their errors and Diagnose verdict", async () => {
    const admin = caller(h);
    const gateway = new FakeHttpGateway();
    await gateway.start();
    const gatewayId = await h.gateway({ name: "silent-gw", driver: "http", url: gateway.url, token: "gw-secret-2" });
    const channel = await admin.notifications.createChannel({ name: "silent-hook", kind: "webhook", url: `${receiver.url}/silent` });
    await admin.notifications.createRule({ name: "silent agents", trigger: "agent_offline", scope: "gateway", gatewayId, channelIds: [channel.id] });
    const before = receiver.received.length;
    const agents: string[] = [];
    for (let i = 0; i < 3; i++) agents.push((await h.app.lifecycle.createAgent({ gatewayId, name: `mute-${i}`, kind: "gateway_main" }, "test")).id);
    // Nobody checks in: after 3 wakes each agent is offline.
    await waitFor(async () => (await statuses(h, agents)).every((s) => s === "offline"), 20_000, "every agent offline");
    await waitFor(async () => receiver.received.length > before, 10_000, "the notification");
    await settled(h);
    const sent = receiver.received.slice(before);
    assert.equal(sent.length, 1, sent.map((m) => m.body.title).join(" | "));
    const body = sent[0].body as { title: string; affectedAgents: number; agents: { name: string; error: string }[]; diagnosis: string; url: string; rule: { name: string } };
    assert.equal(body.title, "3 agents offline on gateway silent-gw");
    assert.equal(body.affectedAgents, 3);
    assert.deepEqual(body.agents.map((a) => a.name).sort(), ["mute-0", "mute-1", "mute-2"]);
    for (const a of body.agents) assert.match(a.error, /No check-in after 3 wakes/);
    assert.match(body.diagnosis, /never called the heartbeat API/, "the Diagnose verdict of the agent page");
    assert.equal(body.url, `${h.baseUrl}/gateways/${gatewayId}`);
    assert.equal(body.rule.name, "silent agents");

    // They check in after all: the notification resolves once every one of them is back.
    const beats = heartbeater(h, gateway, agents);
    try {
      await waitFor(async () => receiver.received.length > before + 1, 15_000, "the resolved notification");
      await settled(h);
      assert.equal((await statuses(h, agents)).filter((s) => s === "online").length, 3);
      const after = receiver.received.slice(before);
      assert.deepEqual(after.map((m) => m.body.type), ["notification.firing", "notification.resolved"]);
      await removeRules(h);
    } finally {
      await beats.stop();
      await gateway.stop();
    }
  });

  test("a gateway that comes back within the grouping window is never announced", async () => {
    const admin = caller(h);
    const gateway = new FakeHttpGateway();
    await gateway.start();
    const gatewayId = await h.gateway({ name: "flappy-gw", driver: "http", url: gateway.url, token: "t" });
    const channel = await admin.notifications.createChannel({ name: "flap-hook", kind: "webhook", url: `${receiver.url}/flap` });
    await admin.notifications.createRule({ name: "flappy", trigger: "gateway_unreachable", scope: "gateway", gatewayId, channelIds: [channel.id] });
    const before = receiver.received.length;
    await gateway.stop();
    assert.equal((await admin.gateways.probe({ id: gatewayId })).status, "unreachable");
    await gateway.start(gateway.port);
    assert.equal((await admin.gateways.probe({ id: gatewayId })).status, "reachable");
    await settled(h);
    assert.equal(receiver.received.length, before, "nothing sent");
    const [n] = await h.app.db.notification.findMany({ where: { gatewayId }, include: { deliveries: true } });
    assert.equal(n.state, "resolved");
    assert.deepEqual(
      n.deliveries.map((d) => [d.kind, d.status, d.lastError]),
      [["firing", "skipped", "resolved before it was sent"]],
    );
    await gateway.stop();
    await removeRules(h);
  });

  test("a failing receiver is retried with backoff until it answers; a channel that never answers ends failed", async () => {
    const admin = caller(h);
    const channel = await admin.notifications.createChannel({ name: "flaky-receiver", kind: "webhook", url: `${receiver.url}/flaky` });
    receiver.failNext(503, 500);
    const before = receiver.received.length;
    const { notificationId } = await admin.notifications.testChannel({ id: channel.id });
    const delivered = await waitFor(
      async () => {
        const d = await h.app.db.notificationDelivery.findFirst({ where: { notificationId } });
        return d?.status === "delivered" ? d : null;
      },
      30_000,
      "the delivery after two failures",
    );
    assert.equal(delivered.attempts, 3, "two failed attempts, then the delivered one");
    assert.equal(delivered.responseStatus, 200);
    const attempts = receiver.received.slice(before);
    assert.equal(attempts.length, 3);
    assert.equal(new Set(attempts.map((a) => a.headers["x-mc-delivery"])).size, 1, "the same delivery id on every retry");
    assert.equal(attempts[0].body.type, "notification.test");

    const closedPort = await freePort();
    const dead = await admin.notifications.createChannel({ name: "dead-receiver", kind: "webhook", url: `http://127.0.0.1:${closedPort}/nothing-listens` });
    const sent = await admin.notifications.testChannel({ id: dead.id });
    const failed = await waitFor(
      async () => {
        const d = await h.app.db.notificationDelivery.findFirst({ where: { notificationId: sent.notificationId } });
        return d?.status === "failed" ? d : null;
      },
      120_000,
      "the delivery to give up",
    );
    assert.equal(failed.attempts, h.app.config.NOTIFY_RETRY_LIMIT + 1);
    assert.equal(failed.lastError, `could not reach http://127.0.0.1:${closedPort}: ECONNREFUSED`);
    assert.doesNotMatch(failed.lastError ?? "", /nothing-listens/, "the URL's path (a credential for Slack) is never shown");
  });

  test("a muted rule records its notifications without sending them; acknowledge says who is on it", async () => {
    const admin = caller(h);
    const operator = caller(h, "operator");
    const gateway = new FakeHttpGateway();
    await gateway.start();
    const gatewayId = await h.gateway({ name: "muted-gw", driver: "http", url: gateway.url, token: "t" });
    const channel = await admin.notifications.createChannel({ name: "muted-hook", kind: "webhook", url: `${receiver.url}/muted` });
    const rule = await admin.notifications.createRule({ name: "muted", trigger: "gateway_unreachable", scope: "gateway", gatewayId, channelIds: [channel.id] });
    await assert.rejects(caller(h, "viewer").notifications.muteRule({ id: rule.id, minutes: 30 }), /Requires the operator role/);
    const muted = await operator.notifications.muteRule({ id: rule.id, minutes: 30 });
    assert.equal(muted.muted, true);
    assert.equal(muted.mutedBy, "operator@test");
    const before = receiver.received.length;
    await gateway.stop();
    await admin.gateways.probe({ id: gatewayId });
    await settled(h);
    assert.equal(receiver.received.length, before, "nothing sent while muted");
    const [n] = await admin.notifications.list({ state: "firing" }).then((l) => l.filter((x) => x.gatewayId === gatewayId));
    assert.equal(n.title, "Gateway muted-gw unreachable, 0 agents affected");
    assert.match(n.deliveries[0].lastError ?? "", /rule muted until/);
    assert.equal(n.deliveries[0].status, "skipped");

    await assert.rejects(caller(h, "viewer").notifications.acknowledge({ id: n.id }), /Requires the operator role/);
    assert.deepEqual(await operator.notifications.acknowledge({ id: n.id }), { id: n.id, acknowledgedBy: "operator@test" });
    await assert.rejects(admin.notifications.acknowledge({ id: n.id }), /Already acknowledged by operator@test/);
    const audit = await h.app.db.operatorAudit.findFirst({ where: { actor: "operator@test" }, orderBy: { id: "desc" } });
    assert.match(audit?.message ?? "", /acknowledged notification Gateway muted-gw unreachable/);
    await gateway.start(gateway.port);
    await admin.gateways.probe({ id: gatewayId });
    await gateway.stop();
    await removeRules(h);
  });

  test("Slack-compatible channels receive mrkdwn text with a link; test notifications go out at once", async () => {
    const admin = caller(h);
    const slack = await admin.notifications.createChannel({ name: "team-slack", kind: "slack", url: `${receiver.url}/services/T000/B000/XXXX` });
    assert.equal(slack.signingSecret, undefined, "Slack webhooks are not signed");
    const rule = await admin.notifications.createRule({ name: "slack offline", trigger: "agent_offline", channelIds: [slack.id] });
    const before = receiver.received.length;
    await admin.notifications.testRule({ id: rule.id });
    await waitFor(async () => receiver.received.length > before, 10_000, "the Slack message");
    const [m] = receiver.received.slice(before);
    assert.equal(m.path, "/hooks/mission-control/services/T000/B000/XXXX");
    assert.deepEqual(Object.keys(m.body), ["text"]);
    assert.match(String(m.body.text), /^:information_source: \*Test notification from Mission Control \(rule slack offline\)\*/);
    assert.match(String(m.body.text), new RegExp(`<${h.baseUrl}/notifications\\|Open in Mission Control>`));
    assert.equal(m.headers["x-mc-signature"], undefined);
    await admin.notifications.deleteRule({ id: rule.id });
  });

  test("channel URLs and signing secrets are write-only; rules are validated; only admins manage them", async () => {
    const admin = caller(h);
    const created = await admin.notifications.createChannel({
      name: "secretive",
      kind: "webhook",
      url: `${receiver.url}/path-with-token-abc123`,
      signingSecret: "my-own-signing-secret-42",
    });
    assert.equal(created.signingSecret, undefined, "a given secret is not echoed");
    const everything = JSON.stringify([await admin.notifications.listChannels(), await admin.notifications.listRules(), await admin.notifications.list()]);
    assert.doesNotMatch(everything, /path-with-token-abc123|my-own-signing-secret-42|enc:v1:/);
    assert.equal((await admin.notifications.listChannels()).find((c) => c.id === created.id)?.urlHint, new URL(receiver.url).origin);
    const stored = await h.app.db.notificationChannel.findUniqueOrThrow({ where: { id: created.id } });
    assert.ok(stored.urlSecret.startsWith("enc:v1:") && stored.signingSecretSealed?.startsWith("enc:v1:"), "sealed at rest");

    await assert.rejects(caller(h, "operator").notifications.createChannel({ name: "x", kind: "webhook", url: receiver.url }), /Requires the admin role/);
    await assert.rejects(admin.notifications.createChannel({ name: "bad", kind: "webhook", url: "ftp://example.com/x" }), /http or https/);
    await assert.rejects(admin.notifications.createChannel({ name: "bad", kind: "webhook", url: "https://user:pw@example.com/x" }), /No credentials/);
    await assert.rejects(admin.notifications.createChannel({ name: "secretive", kind: "slack", url: receiver.url }), /already exists/);
    await assert.rejects(admin.notifications.createRule({ name: "lag", trigger: "reconcile_lag", scope: "gateway", gatewayId: crypto.randomUUID(), channelIds: [created.id] }), /whole installation/);
    await assert.rejects(admin.notifications.createRule({ name: "gw", trigger: "agent_offline", scope: "gateway", channelIds: [created.id] }), /needs a gateway/);
    await assert.rejects(admin.notifications.createRule({ name: "none", trigger: "agent_offline", channelIds: [] }), /at least one channel/);
    await assert.rejects(admin.notifications.createRule({ name: "ghost", trigger: "agent_offline", channelIds: [crypto.randomUUID()] }), /Channel not found/);
    const lag = await admin.notifications.createRule({ name: "lag", trigger: "reconcile_lag", channelIds: [created.id] });
    assert.equal(lag.thresholdSeconds, 10, "a default threshold");
    await admin.notifications.deleteRule({ id: lag.id });
    await admin.notifications.deleteChannel({ id: created.id });
    assert.equal(await h.app.db.notificationChannel.count({ where: { id: created.id } }), 0);
  });
});

describe("notifications without a queue worker", () => {
  let h: Harness;
  let receiver: WebhookReceiver;
  before(async () => {
    h = await startHarness({ env: ENV, worker: false });
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await receiver.close();
    await h.stop();
  });

  test("'no worker alive' reaches the channel although no lifecycle worker runs, and resolves when one starts", async () => {
    const admin = caller(h);
    const channel = await admin.notifications.createChannel({ name: "pager", kind: "webhook", url: receiver.url });
    await admin.notifications.createRule({ name: "worker down", trigger: "no_worker", forSeconds: 1, channelIds: [channel.id] });
    await waitFor(async () => firing(receiver).length > 0, 20_000, "the no-worker notification");
    assert.equal(firing(receiver)[0].body.title, "No queue worker alive: the lifecycle is paused");
    assert.equal(firing(receiver)[0].body.url, `${h.baseUrl}/system`);
    await h.app.startWorker();
    await waitFor(async () => resolved(receiver).length > 0, 20_000, "the resolved notification");
    await settled(h);
    assert.equal(firing(receiver).length, 1);
    assert.equal(resolved(receiver).length, 1);
    await removeRules(h);
  });

  test("a reconcile lag above its threshold is one notification, resolved once a worker catches up", async () => {
    await h.app.stopWorker();
    const admin = caller(h);
    const channel = await admin.notifications.createChannel({ name: "lag-hook", kind: "webhook", url: `${receiver.url}/lag` });
    await admin.notifications.createRule({ name: "lagging", trigger: "reconcile_lag", thresholdSeconds: 1, channelIds: [channel.id] });
    const before = receiver.received.length;
    const sent = () => receiver.received.slice(before);
    // A silent agent's deadline job comes due with nobody to run it.
    await h.agent(await h.gateway({ name: "lag-gw" }), "silent");
    await waitFor(async () => sent().some((m) => m.body.type === "notification.firing"), 20_000, "the lag notification");
    assert.match(String(sent()[0].body.title), /^Reconcile lag \d+s \(threshold 1s\)$/);
    await h.app.startWorker();
    await waitFor(async () => sent().some((m) => m.body.type === "notification.resolved"), 20_000, "the resolved notification");
    await settled(h);
    assert.deepEqual(sent().map((m) => m.body.type), ["notification.firing", "notification.resolved"]);
  });
});
