// The operator and API-token rules at the service level (server/auth/operators.ts, server/auth/api-tokens.ts), without
// HTTP: test/integration/roles.test.ts checks the same procedures through the whole stack (roles, CSRF, live sockets).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startHarness, type Harness } from "../support/harness";
import { createOperator } from "../support/trpc-http";
import { ServiceError, type ServiceErrorKind } from "../../server/platform/service-error";
import type { Revocation } from "../../server/auth/principal";

/** Rejects with a ServiceError of this kind, and a message matching `message`. */
async function refused(promise: Promise<unknown>, kind: ServiceErrorKind, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ServiceError, `not a ServiceError: ${String(err)}`);
    assert.equal(err.kind, kind);
    assert.match(err.message, message);
    return true;
  });
}

describe("OperatorsService and ApiTokensService", () => {
  let h: Harness;
  const revocations: Revocation[] = [];
  before(async () => {
    h = await startHarness({ worker: false, simulatorHost: false });
    h.app.auth.revocations.on("revoked", (what: Revocation) => revocations.push(what));
  });
  after(async () => {
    await h.stop();
  });

  test("an email is taken once (emails are compared as stored, lower case)", async () => {
    const created = await h.app.operators.create({ email: "twice@example.com", role: "viewer" });
    assert.ok(created.initialPassword && created.initialPassword.length >= 20, "a generated password, returned once");
    await refused(h.app.operators.create({ email: "twice@example.com", role: "admin", password: "long-enough-password" }), "conflict", /already exists/);
    const given = await h.app.operators.create({ email: "given@example.com", role: "viewer", password: "long-enough-password" });
    assert.equal(given.initialPassword, undefined, "a chosen password is not echoed");
  });

  test("racing invitations of one email make one operator; the others get the email conflict, never a 500", async () => {
    const results = await Promise.allSettled([1, 2, 3].map(() => h.app.operators.create({ email: "raced@example.com", role: "viewer", password: "long-enough-password" })));
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) if (r.status === "rejected") await refused(Promise.reject(r.reason), "conflict", /An operator with the email raced@example.com already exists/);
    assert.equal(await h.app.db.operator.count({ where: { email: "raced@example.com" } }), 1);
  });

  test("the last enabled admin stays: two admins demoting each other at once leave one admin", async () => {
    const a = await h.app.operators.create({ email: `a-${randomUUID()}@example.com`, role: "admin" });
    const b = await h.app.operators.create({ email: `b-${randomUUID()}@example.com`, role: "admin" });
    // Every other admin of this database is disabled first, so that a and b are the only enabled ones.
    await h.app.db.operator.updateMany({ where: { role: "admin", id: { notIn: [a.id, b.id] } }, data: { disabled: true } });
    const results = await Promise.allSettled([h.app.operators.update({ id: a.id, role: "viewer" }), h.app.operators.update({ id: b.id, disabled: true })]);
    assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    const failure = results.find((r) => r.status === "rejected")!.reason as unknown;
    assert.ok(failure instanceof ServiceError && failure.kind === "precondition", String(failure));
    assert.equal(await h.app.db.operator.count({ where: { role: "admin", disabled: false } }), 1);
    const [last] = await h.app.db.operator.findMany({ where: { role: "admin", disabled: false } });
    await refused(h.app.operators.update({ id: last.id, role: "operator" }), "precondition", /last enabled admin/);
    // A disabled admin can be demoted: it is not the one keeping the installation administrable.
    const disabled = last.id === a.id ? b : a;
    const { after: demoted } = await h.app.operators.update({ id: disabled.id, role: "viewer" });
    assert.equal(demoted.role, "viewer");
    await refused(h.app.operators.update({ id: randomUUID(), name: "ghost" }), "not_found", /^Operator not found$/);
  });

  test("disabling ends the sessions; a password change keeps only the asking session", async () => {
    const op = await createOperator(h.app, "operator");
    const mine = await h.app.auth.createSession(op.id);
    const other = await h.app.auth.createSession(op.id);
    const mySession = (await h.app.auth.fromSession(mine.token))!.sessionId;
    await refused(h.app.operators.changePassword(op.id, "not my password", "a-new-long-password", mySession), "forbidden", /current password is wrong/);
    assert.ok(await h.app.auth.fromSession(other.token), "a refused change ends nothing");
    revocations.length = 0;
    await h.app.operators.changePassword(op.id, op.password, "a-new-long-password", mySession);
    assert.ok(await h.app.auth.fromSession(mine.token), "the asking session stays");
    assert.equal(await h.app.auth.fromSession(other.token), null, "every other session ends");
    assert.deepEqual(revocations, [{ operatorId: op.id }], "live connections are told");

    const reset = await h.app.operators.resetPassword(op.id);
    assert.equal(await h.app.auth.fromSession(mine.token), null, "a reset ends every session");
    assert.notEqual(reset.password, "a-new-long-password");
    const again = await h.app.auth.createSession(op.id);
    await h.app.operators.update({ id: op.id, disabled: true });
    assert.equal(await h.app.db.operatorSession.count({ where: { operatorId: op.id } }), 0);
    assert.equal(await h.app.auth.fromSession(again.token), null);
  });

  test("a token has an owner who is enabled and holds at least its role", async () => {
    const viewer = await createOperator(h.app, "viewer");
    await refused(h.app.apiTokens.create({ name: "cli", role: "viewer", operatorId: null }), "invalid", /Choose the operator/);
    await refused(h.app.apiTokens.create({ name: "cli", role: "viewer", operatorId: randomUUID() }), "not_found", /^Operator not found$/);
    await refused(h.app.apiTokens.create({ name: "cli", role: "operator", operatorId: viewer.id }), "invalid", /cannot have more rights than its owner/);
    const disabled = await createOperator(h.app, "admin", { disabled: true });
    await refused(h.app.apiTokens.create({ name: "cli", role: "viewer", operatorId: disabled.id }), "precondition", /is disabled/);
    const created = await h.app.apiTokens.create({ name: "cli", role: "viewer", operatorId: viewer.id, expiresInDays: 1 });
    assert.match(created.token, /^mco_/);
    assert.equal(created.state, "active");
    const stored = await h.app.db.operatorApiToken.findUniqueOrThrow({ where: { id: created.id } });
    assert.notEqual(stored.tokenHash, created.token, "only a hash is stored");
    assert.ok(stored.expiresAt && stored.expiresAt.getTime() - Date.now() > 23 * 3600_000);
  });

  test("a revoked API token stops working at once; revoking again changes nothing", async () => {
    const op = await createOperator(h.app, "operator");
    const created = await h.app.apiTokens.create({ name: "script", role: "operator", operatorId: op.id });
    assert.equal((await h.app.auth.fromApiToken(created.token))?.role, "operator");
    revocations.length = 0;
    const revoked = await h.app.apiTokens.revoke(created.id);
    assert.equal(revoked.state, "revoked");
    assert.deepEqual(revocations, [{ tokenId: created.id }], "live connections using it are re-checked");
    assert.equal(await h.app.auth.fromApiToken(created.token), null);
    const twice = await h.app.apiTokens.revoke(created.id);
    assert.deepEqual(twice.revokedAt, revoked.revokedAt, "the first revocation time stays");
    await refused(h.app.apiTokens.revoke(randomUUID()), "not_found", /^Token not found$/);
    const active = await h.app.apiTokens.list({ operatorId: op.id, includeInactive: false });
    assert.deepEqual(active, []);
    assert.equal((await h.app.apiTokens.list({ operatorId: op.id })).length, 1);
  });
});
