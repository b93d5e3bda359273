// The pure part of notifications (server/notifications/triggers.ts): which events are signals, which rules cover
// them, what an operator reads, and when a periodic condition has held long enough.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { agentsOfflineContent, gatewayDownContent, inScope, signalsOf, sustained, type RuleScope } from "../../server/notifications/triggers";
import { slackBody, webhookBody, urlHint, type NotificationMessage } from "../../server/notifications/channels";

const ids = { agentId: "a1", gatewayId: "g1", boardId: "b1" };

describe("notification triggers", () => {
  test("only status changes, gateway status changes and the final event of a sync run are signals", () => {
    assert.deepEqual(signalsOf({ ...ids, event: "agent.status.changed", data: { from: "waking", to: "offline", reason: "max_wake_attempts" } }), [
      { kind: "agent_offline", agentId: "a1", gatewayId: "g1", boardId: "b1", reason: "max_wake_attempts" },
    ]);
    assert.deepEqual(signalsOf({ ...ids, event: "agent.status.changed", data: { from: "offline", to: "online" } }), [{ kind: "agent_online", agentId: "a1", gatewayId: "g1" }]);
    assert.deepEqual(signalsOf({ ...ids, event: "agent.status.changed", data: { from: "online", to: "updating" } }), []);
    assert.deepEqual(signalsOf({ ...ids, agentId: null, event: "gateway.status.changed", data: { from: "reachable", to: "incompatible", error: "too old" } }), [
      { kind: "gateway_down", gatewayId: "g1", status: "incompatible", error: "too old" },
    ]);
    assert.deepEqual(signalsOf({ ...ids, event: "gateway.status.changed", data: { from: "unknown", to: "reachable" } }), [{ kind: "gateway_up", gatewayId: "g1" }]);
    assert.deepEqual(signalsOf({ ...ids, event: "gateway.templates.sync.failed", data: { runId: "r", done: 1, total: 3, error: "x" } }), [], "one agent's failure is not the run's");
    assert.deepEqual(signalsOf({ ...ids, agentId: null, event: "gateway.templates.sync.failed", data: { runId: "r", final: true, succeeded: 2, failed: 1 } }), [
      { kind: "sync_failed", gatewayId: "g1", runId: "r", succeeded: 2, failed: 1, error: null },
    ]);
    assert.deepEqual(signalsOf({ ...ids, event: "agent.heartbeat", data: {} }), []);
    assert.deepEqual(signalsOf({ ...ids, agentId: null, event: "agent.status.changed", data: { to: "offline" } }), [], "no agent, no signal");
  });

  test("scope: fleet covers all; a gateway its own; a board its agents and its gateway's outages", () => {
    const rule = (r: Partial<RuleScope>): RuleScope => ({ scope: "fleet", gatewayId: null, boardId: null, boardGatewayId: null, ...r });
    assert.equal(inScope(rule({}), "g1", "b1"), true);
    assert.equal(inScope(rule({ scope: "gateway", gatewayId: "g1" }), "g1", "b9"), true);
    assert.equal(inScope(rule({ scope: "gateway", gatewayId: "g2" }), "g1", null), false);
    const board = rule({ scope: "board", boardId: "b1", boardGatewayId: "g1" });
    assert.equal(inScope(board, "g1", "b1"), true);
    assert.equal(inScope(board, "g1", "b2"), false, "another board's agent");
    assert.equal(inScope(board, "g1", null), true, "its gateway going down concerns the board");
    assert.equal(inScope(board, "g2", null), false);
  });

  test("the words: one agent or many, the gateway's state, at most ten lines", () => {
    assert.equal(agentsOfflineContent("gw", [{ name: "scout", error: "No check-in after 3 wakes" }], "reachable").title, "Agent scout offline on gateway gw");
    const many = agentsOfflineContent("gw", Array.from({ length: 12 }, (_, i) => ({ name: `a${i}`, error: null })), "unreachable");
    assert.equal(many.title, "12 agents offline on gateway gw (gateway unreachable)");
    assert.equal(many.summary.split("\n").length, 11);
    assert.match(many.summary, /… and 2 more$/);
    const down = gatewayDownContent("gw", "unreachable", "gateway unreachable: ECONNREFUSED", 240, []);
    assert.equal(down.title, "Gateway gw unreachable, 240 agents affected");
    assert.match(down.summary, /^Last error: gateway unreachable: ECONNREFUSED/);
  });

  test("a periodic condition fires once it has held for the given time, and forgets when it stops", () => {
    assert.deepEqual(sustained(true, null, 1000, 10), { since: 1000, fire: false });
    assert.deepEqual(sustained(true, 1000, 9000, 10), { since: 1000, fire: false });
    assert.deepEqual(sustained(true, 1000, 11_000, 10), { since: 1000, fire: true });
    assert.deepEqual(sustained(false, 1000, 12_000, 10), { since: null, fire: false });
    assert.deepEqual(sustained(true, null, 5, 0), { since: 5, fire: true }, "no duration: at once");
  });

  test("payloads: webhook JSON with every field, Slack text escaped, URLs shown by host only", () => {
    const m: NotificationMessage = {
      id: "n1",
      deliveryId: "d1",
      kind: "firing",
      rule: { id: "r1", name: "down", trigger: "gateway_unreachable" },
      title: "Gateway <gw> & co unreachable, 2 agents affected",
      summary: "Last error: x",
      affectedAgents: 2,
      gateway: { id: "g1", name: "<gw>" },
      agent: null,
      agents: [],
      diagnosis: null,
      url: "https://mc.example/gateways/g1",
      openedAt: new Date("2030-01-01T00:00:00Z"),
      resolvedAt: null,
      acknowledgedAt: null,
      acknowledgedBy: null,
    };
    const json = JSON.parse(webhookBody(m, new Date("2030-01-01T00:00:05Z")));
    assert.equal(json.type, "notification.firing");
    assert.equal(json.sentAt, "2030-01-01T00:00:05.000Z");
    assert.equal(json.openedAt, "2030-01-01T00:00:00.000Z");
    const slack = JSON.parse(slackBody(m)).text as string;
    assert.match(slack, /^:red_circle: \*Gateway &lt;gw&gt; &amp; co unreachable, 2 agents affected\*/);
    assert.match(slack, /<https:\/\/mc\.example\/gateways\/g1\|Open in Mission Control> · rule down$/);
    assert.match(JSON.parse(slackBody({ ...m, kind: "resolved" })).text, /^:large_green_circle: \*Resolved: /);
    assert.equal(urlHint("https://hooks.slack.com/services/T0/B0/secret?x=1"), "https://hooks.slack.com");
  });
});
