// Retention (server/system/retention.ts): old history goes in batches, what is still in use stays, and the operators' audit
// trail keeps its own, longer retention. The job is scheduled in pg-boss when a worker starts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startHarness, type Harness } from "../support/harness";
import { pruneHistory } from "../../server/system/retention";
import { QUEUES } from "../../server/queue/queues";

const DAY = 24 * 3600 * 1000;

describe("retention", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ worker: false, env: { RETENTION_SCHEDULE: "*/20 * * * *" } });
  });
  after(async () => {
    await h.stop();
  });

  test("prunes old history in batches, keeps pending attempts, running syncs, open notifications and the audit trail", async () => {
    const now = new Date();
    const old = new Date(now.getTime() - 40 * DAY);
    const recent = new Date(now.getTime() - 2 * DAY);
    const { db } = h.app;
    const gatewayId = await h.gateway({ name: "retention-gw" });
    const agent = await db.agent.create({ data: { name: "a", kind: "gateway_main", gatewayId, sessionKey: "s", status: "online" } });

    await db.lifecycleEvent.createMany({ data: Array.from({ length: 2500 }, (_, i) => ({ at: old, event: "agent.heartbeat", message: `old ${i}`, agentId: agent.id })) });
    await db.lifecycleEvent.createMany({ data: [1, 2, 3].map((i) => ({ at: recent, event: "agent.heartbeat", message: `recent ${i}` })) });
    const attempt = (generation: number, sentAt: Date, outcome: "expired" | "pending" | "checked_in") => ({
      agentId: agent.id,
      generation,
      attempt: 1,
      sentAt,
      deadlineAt: sentAt,
      outcome,
    });
    await db.wakeAttempt.createMany({ data: [attempt(1, old, "expired"), attempt(2, old, "checked_in"), attempt(3, old, "pending"), attempt(4, recent, "expired")] });
    const oldRun = await db.templateSyncRun.create({
      data: { gatewayId, revision: "r1", status: "succeeded", startedBy: "t", startedAt: old, results: { create: Array.from({ length: 30 }, () => ({ agentId: agent.id, ok: true })) } },
    });
    const runningRun = await db.templateSyncRun.create({ data: { gatewayId, revision: "r2", status: "running", startedBy: "t", startedAt: old } });
    const recentRun = await db.templateSyncRun.create({ data: { gatewayId, revision: "r3", status: "failed", startedBy: "t", startedAt: recent } });
    const notification = (state: "firing" | "resolved", openedAt: Date, openKey: string | null) =>
      db.notification.create({ data: { ruleName: "r", groupKey: "fleet", state, title: "t", summary: "s", openedAt, openKey, deliveries: { create: [{ channelName: "c", kind: "firing" }] } } });
    const oldClosed = await notification("resolved", old, null);
    const oldOpen = await notification("firing", old, "rule:fleet");
    const recentClosed = await notification("resolved", recent, null);
    await db.operatorAudit.createMany({
      data: [
        { at: old, actor: "a@x", message: "40 days old: within the audit retention" },
        { at: new Date(now.getTime() - 400 * DAY), actor: "a@x", message: "400 days old" },
      ],
    });

    const deleted = await pruneHistory(db, { historyDays: 30, auditDays: 365, batchSize: 1000 }, now, 0);
    assert.deepEqual(deleted, { LifecycleEvent: 2500, WakeAttempt: 2, TemplateSyncResult: 30, TemplateSyncRun: 1, Notification: 1, OperatorAudit: 1 });

    assert.equal(await db.lifecycleEvent.count(), 3);
    assert.deepEqual((await db.wakeAttempt.findMany({ orderBy: { generation: "asc" } })).map((a) => a.generation), [3, 4], "the pending attempt and the recent one stay");
    assert.deepEqual((await db.templateSyncRun.findMany({ orderBy: { revision: "asc" } })).map((r) => r.id), [runningRun.id, recentRun.id]);
    assert.equal(await db.templateSyncRun.count({ where: { id: oldRun.id } }), 0);
    assert.deepEqual((await db.notification.findMany({ orderBy: { openedAt: "asc" } })).map((n) => n.id).sort(), [oldOpen.id, recentClosed.id].sort());
    assert.equal(await db.notificationDelivery.count({ where: { notificationId: oldClosed.id } }), 0, "deliveries go with their notification");
    assert.deepEqual((await db.operatorAudit.findMany()).map((a) => a.message), ["40 days old: within the audit retention"]);

    assert.deepEqual(await pruneHistory(db, { historyDays: 30, auditDays: 365, batchSize: 1000 }, now, 0), {
      LifecycleEvent: 0,
      WakeAttempt: 0,
      TemplateSyncResult: 0,
      TemplateSyncRun: 0,
      Notification: 0,
      OperatorAudit: 0,
    });
  });

  test("operator actions go to the audit trail, which outlives the lifecycle history", async () => {
    const { db } = h.app;
    await h.app.events.emit({ event: "operator.action", actor: "admin@x", message: "admin@x reprovisioned agent-7", data: { action: "reprovisioned", result: "ok" } });
    const [entry] = await db.operatorAudit.findMany({ where: { actor: "admin@x" } });
    assert.equal(entry.message, "admin@x reprovisioned agent-7");
    assert.deepEqual(entry.data, { action: "reprovisioned", result: "ok" });
    // 60 days later: the timeline copy is gone, the audit entry is not.
    await pruneHistory(db, { historyDays: 30, auditDays: 365, batchSize: 100 }, new Date(Date.now() + 60 * DAY), 0);
    assert.equal(await db.lifecycleEvent.count({ where: { event: "operator.action", actor: "admin@x" } }), 0);
    assert.equal(await db.operatorAudit.count({ where: { actor: "admin@x" } }), 1);
  });

  test("a started worker schedules the retention job", async () => {
    await h.app.startWorker();
    const schedules = await h.app.boss.getSchedules(QUEUES.retention);
    assert.equal(schedules.length, 1);
    assert.equal(schedules[0].cron, "*/20 * * * *");
  });
});
