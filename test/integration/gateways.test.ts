// Gateway procedures (docs/architecture.md, Contracts): update (write-only token), delete (a queued operation through the lifecycle), probe; roles and audit.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { appRouter } from "../../server/trpc/root";
import type { Principal, Role } from "../../server/auth/principal";
import { openSecret } from "../../server/secrets/crypto";
import { TEMPLATE_REVISION } from "../../server/templates/render";

function caller(h: Harness, role: Role = "admin") {
  const principal: Principal = { operatorId: null, email: `${role}@test`, role, via: "api_token" };
  return appRouter.createCaller({ app: h.app, principal });
}

const storedToken = async (h: Harness, id: string) => openSecret((await h.app.db.gateway.findUniqueOrThrow({ where: { id } })).tokenSecret);

function assertNoSecret(value: unknown): void {
  const text = JSON.stringify(value);
  assert.doesNotMatch(text, /tokenSecret|enc:v1:|s3cret/, "no token in a read API");
}

describe("gateway procedures", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  test("update: partial fields, write-only token (set, keep, clear), URL validated, audited", async () => {
    const admin = caller(h);
    const created = await admin.gateways.create({ name: "edit-me", driver: "http", url: "http://127.0.0.1:9/", token: "s3cret-one" });
    assertNoSecret(created);
    assert.equal(created.hasToken, true);
    assert.equal(created.currentTemplateRevision, TEMPLATE_REVISION);

    const renamed = await admin.gateways.update({ id: created.id, name: "edited", maxWakeAttempts: 5 });
    assert.equal(renamed.name, "edited");
    assert.equal(renamed.maxWakeAttempts, 5);
    assert.equal(renamed.url, "http://127.0.0.1:9/");
    assert.equal(await storedToken(h, created.id), "s3cret-one", "absent token: kept");
    assertNoSecret(renamed);

    const retokened = await admin.gateways.update({ id: created.id, token: "s3cret-two" });
    assert.equal(retokened.hasToken, true);
    assert.equal(await storedToken(h, created.id), "s3cret-two");
    const stored = await h.app.db.gateway.findUniqueOrThrow({ where: { id: created.id } });
    assert.ok(stored.tokenSecret?.startsWith("enc:v1:"), "sealed at rest");

    const cleared = await admin.gateways.update({ id: created.id, token: null, maxWakeAttempts: null });
    assert.equal(cleared.hasToken, false);
    assert.equal(cleared.maxWakeAttempts, null);
    assert.equal(await storedToken(h, created.id), null);

    await assert.rejects(admin.gateways.update({ id: created.id, url: "ftp://example.com" }), /http, https, ws or wss/);
    await assert.rejects(admin.gateways.update({ id: created.id, url: "http://user:pw@example.com" }), /not in the URL/);
    await assert.rejects(admin.gateways.update({ id: created.id, url: null }), /needs a url/);
    await admin.gateways.create({ name: "taken", driver: "simulator" });
    await assert.rejects(admin.gateways.update({ id: created.id, name: "taken" }), /already exists/);
    await assert.rejects(admin.gateways.update({ id: crypto.randomUUID(), name: "x" }), /Gateway not found/);
    await assert.rejects(admin.gateways.update({ id: created.id, driver: "simulator" } as never), /Unrecognized key/);

    const listed = (await caller(h, "viewer").gateways.list()).find((g) => g.id === created.id)!;
    assert.equal(listed.hasToken, false);
    assertNoSecret(await caller(h, "viewer").gateways.list());
    assertNoSecret(await caller(h, "viewer").gateways.get({ id: created.id }));

    const audits = await h.app.db.lifecycleEvent.findMany({ where: { event: "operator.action", gatewayId: created.id }, orderBy: { id: "asc" } });
    const messages = audits.map((a) => a.message);
    assert.ok(messages.some((m) => /admin@test updated gateway \(name, maxWakeAttempts\)/.test(m)), messages.join("\n"));
    assert.ok(messages.some((m) => /updated gateway \(token\)/.test(m)));
    assert.ok(messages.some((m) => /updated gateway \(maxWakeAttempts, token cleared\)/.test(m)));
    assertNoSecret(audits.map((a) => [a.message, a.data]));
  });

  test("update, delete and create need the admin role; probe and syncTemplates the operator role", async () => {
    const gw = await caller(h).gateways.create({ name: "roles", driver: "simulator" });
    await assert.rejects(caller(h, "operator").gateways.update({ id: gw.id, name: "nope" }), /Requires the admin role/);
    await assert.rejects(caller(h, "operator").gateways.delete({ id: gw.id }), /Requires the admin role/);
    await assert.rejects(caller(h, "viewer").gateways.probe({ id: gw.id }), /Requires the operator role/);
    const probed = await caller(h, "operator").gateways.probe({ id: gw.id });
    assert.equal(probed.status, "reachable");
    assertNoSecret(probed);
    const audit = await h.app.db.lifecycleEvent.findFirst({ where: { event: "operator.action", gatewayId: gw.id }, orderBy: { id: "desc" } });
    assert.match(audit?.message ?? "", /operator@test probed gateway \(reachable\)/);
  });

  test("create: the gateway comes with its main agent; racing creates of one name give one gateway and a conflict, never a 500", async () => {
    const created = await caller(h).gateways.create({ name: "born-with-main", driver: "simulator" });
    const agents = await h.app.db.agent.findMany({ where: { gatewayId: created.id }, select: { name: true, kind: true } });
    assert.deepEqual(agents, [{ name: "main", kind: "gateway_main" }]);

    // Both pass the name check before either writes: the unique constraint decides, and the loser is a CONFLICT.
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => caller(h).gateways.create({ name: "raced", driver: "simulator" })));
    const failures = outcomes.filter((o) => o.status === "rejected").map((o) => (o as PromiseRejectedResult).reason as { code?: string; message: string });
    assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 1);
    for (const f of failures) {
      assert.equal(f.code, "CONFLICT", f.message);
      assert.match(f.message, /A gateway named raced already exists/);
    }
    const raced = await h.app.db.gateway.findMany({ where: { name: "raced" }, select: { id: true } });
    assert.equal(raced.length, 1);
    assert.equal(await h.app.db.agent.count({ where: { gatewayId: raced[0].id } }), 1, "one main agent, no orphan from a loser");
  });

  /** Waits (bounded) for a fleet operation to end; it must end done. */
  async function finished(operationId: string) {
    const op = await waitFor(async () => {
      const o = await caller(h, "viewer").fleet.operation({ id: operationId });
      return o.status === "done" || o.status === "failed" ? o : null;
    }, 15_000, "the gateway delete to finish");
    assert.equal(op.status, "done", op.error ?? "");
    return op;
  }

  test("delete: answers at once with an operation, which removes every agent through the lifecycle, then the gateway, its boards and sync runs", async () => {
    const admin = caller(h);
    const gw = await admin.gateways.create({ name: "doomed", driver: "simulator" });
    const board = await admin.boards.create({ name: "doomed-board", gatewayId: gw.id });
    const worker = await h.agent(gw.id, "healthy", "extra");
    const agents = await h.app.db.agent.findMany({ where: { gatewayId: gw.id }, select: { id: true } });
    assert.equal(agents.length, 3, "main, board lead, extra");
    await waitFor(async () => h.app.simulator.has(worker), 3000, "provisioned on the simulator");
    const { runId } = await admin.gateways.syncTemplates({ id: gw.id });
    await waitFor(async () => (await h.app.db.templateSyncRun.findUniqueOrThrow({ where: { id: runId } })).status !== "running", 5000, "sync done");

    const result = await admin.gateways.delete({ id: gw.id });
    assert.deepEqual(Object.keys(result).sort(), ["deletedAgents", "id", "operationId"]);
    assert.equal(result.id, gw.id);
    assert.equal(result.deletedAgents, 3);
    const op = await finished(result.operationId);
    assert.deepEqual([op.kind, op.gatewayId, op.total, op.done, op.failed], ["gateway_delete", gw.id, 3, 3, 0]);
    assert.equal(await h.app.db.gateway.count({ where: { id: gw.id } }), 0);
    assert.equal(await h.app.db.board.count({ where: { id: board.id } }), 0);
    assert.equal(await h.app.db.agent.count({ where: { gatewayId: gw.id } }), 0);
    assert.equal(await h.app.db.templateSyncRun.count({ where: { gatewayId: gw.id } }), 0);
    for (const a of agents) assert.equal(await h.app.simulator.has(a.id), false, "removed from the runtime");
    const audit = await h.app.db.lifecycleEvent.findFirst({ where: { event: "operator.action", gatewayId: gw.id }, orderBy: { id: "desc" } });
    assert.match(audit?.message ?? "", /admin@test deleted gateway \(3 agents\) doomed/);
    assert.equal((audit?.data as { operationId?: string }).operationId, result.operationId);
    const progress = await h.app.db.lifecycleEvent.findMany({ where: { event: "fleet.operation.progress", gatewayId: gw.id }, orderBy: { id: "asc" } });
    assert.match(progress.at(-1)?.message ?? "", /Gateway delete finished: 3\/3/);
    assert.ok(!(await caller(h, "viewer").gateways.list()).some((g) => g.id === gw.id), "gone from the list");
    await assert.rejects(admin.gateways.delete({ id: gw.id }), /Gateway not found/);
  });

  test("a gateway being deleted refuses new agents, boards, syncs and wakes; a second delete is the same operation; a crash midway resumes", async () => {
    const admin = caller(h);
    const gw = await admin.gateways.create({ name: "going", driver: "simulator" });
    await admin.boards.create({ name: "going-board", gatewayId: gw.id });
    const agents = await h.app.db.agent.findMany({ where: { gatewayId: gw.id }, select: { id: true }, orderBy: { id: "asc" } });
    // No worker: the operation waits in the queue, so the gateway stays in the middle of its delete.
    await h.app.stopWorker();
    let operationId: string;
    try {
      const first = await admin.gateways.delete({ id: gw.id });
      assert.equal(first.deletedAgents, 2);
      operationId = first.operationId;
      const view = await admin.gateways.get({ id: gw.id });
      assert.ok(view.deletingAt, "shown as being deleted");

      const deleting = /Gateway going is being deleted/;
      const conflict = (err: unknown) => (err as { code?: string }).code === "CONFLICT" && deleting.test((err as Error).message);
      await assert.rejects(admin.agents.create({ gatewayId: gw.id, name: "late", kind: "gateway_main" }), conflict);
      await assert.rejects(admin.boards.create({ name: "late-board", gatewayId: gw.id }), conflict);
      await assert.rejects(admin.gateways.syncTemplates({ id: gw.id }), conflict);
      await assert.rejects(admin.gateways.wakeAll({ id: gw.id }), conflict);
      assert.equal(await h.app.db.agent.count({ where: { gatewayId: gw.id } }), 2, "nothing was created");

      const second = await admin.gateways.delete({ id: gw.id });
      assert.deepEqual(second, first, "the delete under way");
      assert.equal(await h.app.db.fleetOperation.count({ where: { gatewayId: gw.id, kind: "gateway_delete" } }), 1);

      // As if a first try of the job had deleted the first agent and then died: the retry carries on.
      await h.app.lifecycle.deleteAgent(agents[0].id, "test");
    } finally {
      await h.app.startWorker();
    }
    const done = await finished(operationId);
    assert.deepEqual([done.done, done.failed], [2, 0]);
    assert.equal(await h.app.db.gateway.count({ where: { id: gw.id } }), 0);
    assert.equal(await h.app.db.agent.count({ where: { gatewayId: gw.id } }), 0);
    assert.equal(await h.app.db.board.count({ where: { gatewayId: gw.id } }), 0);
  });
});
