// The role matrix: every tRPC procedure × every role (plus anonymous), over real HTTP. A viewer sees and cannot act,
// an operator acts on agents, an admin manages gateways, operators and tokens. Also: Socket.IO subscriptions, CSRF on
// cookie sessions, API-token roles capped by their owner, and sessions that expire and end on sign-out.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { io as connect, type Socket } from "socket.io-client";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { allProcedures, call, createApiToken, createOperator, ok, signIn, type TestOperator } from "../support/trpc-http";
import type { Role } from "../../server/auth/principal";
import { decodePush } from "../../lib/push";

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** The least role each procedure requires. Exact: more is a usability bug, less is a security bug. */
const REQUIRED: Record<string, Role> = {
  "agents.list": "viewer",
  "agents.counts": "viewer",
  "agents.get": "viewer",
  "agents.timeline": "viewer",
  "agents.create": "operator",
  "agents.reprovision": "operator",
  "agents.wake": "operator",
  "agents.rotateToken": "operator",
  "agents.revokeToken": "operator",
  "agents.delete": "operator",
  "agents.bulkReprovision": "operator",
  "gateways.list": "viewer",
  "gateways.get": "viewer",
  "gateways.syncRuns": "viewer",
  // Only admins make the server connect to a new URL or hold a new gateway secret.
  "gateways.create": "admin",
  "gateways.update": "admin",
  "gateways.delete": "admin",
  "gateways.syncTemplates": "operator",
  "gateways.probe": "operator",
  "boards.list": "viewer",
  "boards.create": "operator",
  "events.list": "viewer",
  "fleet.timeline": "viewer",
  "system.health": "viewer",
  "system.me": "viewer",
  "system.failedJobs": "viewer",
  "system.retryJob": "operator",
  "operators.list": "admin",
  "operators.create": "admin",
  "operators.update": "admin",
  "operators.resetPassword": "admin",
  "operators.endSessions": "admin",
  "operators.audit": "admin",
  "operators.signOutEverywhere": "viewer",
  "operators.changePassword": "viewer",
  "tokens.list": "admin",
  "tokens.create": "admin",
  "tokens.revoke": "admin",
};

/** Procedures not in the table (added later) must at least keep anonymous out, and viewers from acting. */
function minimumFor(path: string, type: string): { role: Role; exact: boolean } {
  if (REQUIRED[path]) return { role: REQUIRED[path], exact: true };
  if (path.startsWith("operators.") || path.startsWith("tokens.")) return { role: "admin", exact: false };
  return { role: type === "query" ? "viewer" : "operator", exact: false };
}

describe("role matrix", () => {
  let h: Harness;
  const people = {} as Record<Role, TestOperator>;
  const tokens = {} as Record<Role, string>;

  before(async () => {
    h = await startHarness({ worker: false, env: { RATE_LIMIT_OPERATOR_REQUESTS_PER_MINUTE: "100000" } });
    for (const role of ["viewer", "operator", "admin"] as const) {
      people[role] = await createOperator(h.app, role);
      tokens[role] = await createApiToken(h.app, people[role].id, role);
    }
  });
  after(async () => {
    await h.stop();
  });

  test("every procedure × anonymous, viewer, operator, admin", async () => {
    const procedures = allProcedures();
    assert.ok(procedures.length >= 30, `only ${procedures.length} procedures found`);
    const failures: string[] = [];
    const unlisted: string[] = [];
    for (const { path, type } of procedures) {
      if (type === "subscription") continue;
      const need = minimumFor(path, type);
      if (!need.exact) unlisted.push(path);
      // Any input: the role check runs before input validation, and a random id never names a real record.
      const input = { id: randomUUID() };
      const anonymous = await call(h.baseUrl, path, input);
      if (anonymous.code !== "UNAUTHORIZED" || anonymous.status !== 401) failures.push(`${path}: anonymous got ${anonymous.status} ${anonymous.code}`);
      for (const role of ["viewer", "operator", "admin"] as const) {
        const r = await call(h.baseUrl, path, input, { token: tokens[role] });
        if (r.status >= 500) failures.push(`${path}: ${role} got ${r.status} ${r.message}`);
        const denied = r.code === "FORBIDDEN" || r.code === "UNAUTHORIZED";
        const shouldBeAllowed = RANK[role] >= RANK[need.role];
        if (shouldBeAllowed && denied && need.exact) failures.push(`${path}: ${role} was denied (${r.code}) but needs only ${need.role}`);
        if (!shouldBeAllowed && !denied) failures.push(`${path}: ${role} was allowed (${r.status} ${r.code ?? "ok"}) but it needs ${need.role}`);
        if (denied && r.code === "FORBIDDEN" && r.status !== 403) failures.push(`${path}: FORBIDDEN with HTTP ${r.status}`);
      }
    }
    if (unlisted.length) console.log(`procedures checked with default minimums (add them to REQUIRED): ${unlisted.join(", ")}`);
    assert.deepEqual(failures, []);
    // Spec procedures that must exist.
    const paths = new Set(procedures.map((p) => p.path));
    for (const p of ["agents.rotateToken", "operators.list", "operators.create", "operators.update", "tokens.create", "tokens.revoke", "tokens.list"]) {
      assert.ok(paths.has(p), `${p} is missing`);
    }
  });

  test("a denied action is audited as operator.action with result failed", async () => {
    const r = await call(h.baseUrl, "tokens.revoke", { id: randomUUID() }, { token: tokens.viewer });
    assert.equal(r.code, "FORBIDDEN");
    const rows = await h.app.db.lifecycleEvent.findMany({ where: { event: "operator.action", actor: people.viewer.email }, orderBy: { id: "desc" }, take: 5 });
    const denied = rows.find((e) => (e.data as { action?: string }).action === "tokens.revoke");
    assert.ok(denied, "no audit row for the denied call");
    assert.equal((denied!.data as { result: string }).result, "failed");
    assert.equal((denied!.data as { code: string }).code, "FORBIDDEN");
    // The audit log filters by who and result, and pages the way the console's infinite query asks.
    const page = await ok<{ id: string; actor: string; data: { result: string } }[]>(
      h.baseUrl,
      "operators.audit",
      { actor: people.viewer.email, result: "failed", limit: 1, cursor: null, direction: "forward" },
      { token: tokens.admin },
    );
    assert.equal(page.length, 1);
    assert.equal(page[0].actor, people.viewer.email);
    assert.equal(page[0].data.result, "failed");
    const older = await ok<unknown[]>(h.baseUrl, "operators.audit", { actor: people.viewer.email, cursor: page[0].id, direction: "forward" }, { token: tokens.admin });
    assert.ok(older.every((e) => BigInt((e as { id: string }).id) < BigInt(page[0].id)));
  });

  test("an API token never has more rights than its owner has now", async () => {
    const owner = await createOperator(h.app, "viewer");
    const inflated = await createApiToken(h.app, owner.id, "admin");
    const me = await ok<{ role: string }>(h.baseUrl, "system.me", undefined, { token: inflated });
    assert.equal(me.role, "viewer");
    assert.equal((await call(h.baseUrl, "agents.wake", { id: randomUUID() }, { token: inflated })).code, "FORBIDDEN");
    // tokens.create refuses to mint one above the owner's role in the first place.
    const refused = await call(h.baseUrl, "tokens.create", { name: "too much", role: "admin", operatorId: owner.id }, { token: tokens.admin });
    assert.equal(refused.code, "BAD_REQUEST");
    // Promote the owner: the same token now acts with the new role (no new token needed).
    await ok(h.baseUrl, "operators.update", { id: owner.id, role: "operator" }, { token: tokens.admin });
    assert.equal((await ok<{ role: string }>(h.baseUrl, "system.me", undefined, { token: inflated })).role, "operator");
  });

  test("revoked, expired and disabled-owner tokens are refused", async () => {
    const op = await createOperator(h.app, "operator");
    const revoked = await createApiToken(h.app, op.id, "operator", { revokedAt: new Date() });
    const expired = await createApiToken(h.app, op.id, "operator", { expiresAt: new Date(Date.now() - 1000) });
    const fine = await createApiToken(h.app, op.id, "operator");
    assert.equal((await call(h.baseUrl, "system.me", undefined, { token: revoked })).code, "UNAUTHORIZED");
    assert.equal((await call(h.baseUrl, "system.me", undefined, { token: expired })).code, "UNAUTHORIZED");
    assert.equal((await ok<{ email: string }>(h.baseUrl, "system.me", undefined, { token: fine })).email, op.email);
    // Revocation through the API takes effect at once.
    const created = await ok<{ id: string; token: string }>(h.baseUrl, "tokens.create", { name: "cli", role: "viewer", operatorId: op.id }, { token: tokens.admin });
    assert.match(created.token, /^mco_/);
    assert.equal((await ok<{ role: string }>(h.baseUrl, "system.me", undefined, { token: created.token })).role, "viewer");
    const listed = await ok<{ id: string }[]>(h.baseUrl, "tokens.list", undefined, { token: tokens.admin });
    assert.ok(!JSON.stringify(listed).includes(created.token), "tokens.list shows a token");
    assert.ok(!JSON.stringify(listed).includes("tokenHash"), "tokens.list shows a hash");
    await ok(h.baseUrl, "tokens.revoke", { id: created.id }, { token: tokens.admin });
    assert.equal((await call(h.baseUrl, "system.me", undefined, { token: created.token })).code, "UNAUTHORIZED");
    // Disabling the owner stops every token of theirs.
    await ok(h.baseUrl, "operators.update", { id: op.id, disabled: true }, { token: tokens.admin });
    assert.equal((await call(h.baseUrl, "system.me", undefined, { token: fine })).code, "UNAUTHORIZED");
  });

  test("the last enabled admin can be neither demoted nor disabled", async () => {
    // Disable every other admin first, so that one remains.
    const admins = await h.app.db.operator.findMany({ where: { role: "admin", disabled: false } });
    for (const a of admins) if (a.id !== people.admin.id) await h.app.db.operator.update({ where: { id: a.id }, data: { disabled: true } });
    const demote = await call(h.baseUrl, "operators.update", { id: people.admin.id, role: "viewer" }, { token: tokens.admin });
    assert.equal(demote.code, "PRECONDITION_FAILED");
    const disable = await call(h.baseUrl, "operators.update", { id: people.admin.id, disabled: true }, { token: tokens.admin });
    assert.equal(disable.code, "PRECONDITION_FAILED");
  });

  test("operators.create invites with a one-time password that works; a disabled account cannot sign in", async () => {
    const invited = await ok<{ id: string; email: string; initialPassword: string }>(
      h.baseUrl,
      "operators.create",
      { email: `Invitee-${randomUUID().slice(0, 6)}@Example.com`, role: "viewer" },
      { token: tokens.admin },
    );
    assert.equal(invited.email, invited.email.toLowerCase());
    assert.ok(invited.initialPassword.length >= 20);
    const cookie = await signIn(h.baseUrl, invited.email, invited.initialPassword);
    assert.equal((await ok<{ role: string }>(h.baseUrl, "system.me", undefined, { cookie })).role, "viewer");
    const list = await ok<unknown[]>(h.baseUrl, "operators.list", undefined, { token: tokens.admin });
    assert.ok(!JSON.stringify(list).includes("passwordHash"));
    assert.ok(!JSON.stringify(list).includes(invited.initialPassword));
    // Disabling ends the session at once and blocks new sign-ins.
    await ok(h.baseUrl, "operators.update", { id: invited.id, disabled: true }, { token: tokens.admin });
    assert.equal((await call(h.baseUrl, "system.me", undefined, { cookie })).code, "UNAUTHORIZED");
    const res = await fetch(`${h.baseUrl}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: invited.email, password: invited.initialPassword }),
    });
    assert.equal(res.status, 401);
  });
});

describe("sessions: CSRF, expiry, sign-out", () => {
  let h: Harness;
  let viewer: TestOperator;

  before(async () => {
    h = await startHarness({ worker: false });
    viewer = await createOperator(h.app, "operator");
  });
  after(async () => {
    await h.stop();
  });

  test("cookie-authenticated mutations must be same-origin; bearer tokens are exempt", async () => {
    const cookie = await signIn(h.baseUrl, viewer.email, viewer.password);
    const host = new URL(h.baseUrl).host;
    const input = { id: randomUUID() };
    const crossOrigin = await call(h.baseUrl, "agents.wake", input, { cookie, headers: { origin: "https://evil.example" } });
    assert.equal(crossOrigin.status, 403);
    assert.match(crossOrigin.message ?? "", /cross-site/i);
    const crossSite = await call(h.baseUrl, "agents.wake", input, { cookie, headers: { "sec-fetch-site": "cross-site" } });
    assert.equal(crossSite.status, 403);
    const sameSite = await call(h.baseUrl, "agents.wake", input, { cookie, headers: { "sec-fetch-site": "same-site" } });
    assert.equal(sameSite.status, 403);
    const nullOrigin = await call(h.baseUrl, "agents.wake", input, { cookie, headers: { origin: "null" } });
    assert.equal(nullOrigin.status, 403);
    // Same origin: allowed through to the procedure (which says the agent does not exist).
    const same = await call(h.baseUrl, "agents.wake", input, { cookie, headers: { origin: `http://${host}`, "sec-fetch-site": "same-origin" } });
    assert.equal(same.code, "NOT_FOUND");
    // Sign-in and sign-out are protected the same way.
    const login = await fetch(`${h.baseUrl}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://evil.example" },
      body: JSON.stringify({ email: viewer.email, password: viewer.password }),
    });
    assert.equal(login.status, 403);
    const logout = await fetch(`${h.baseUrl}/api/auth/logout`, { method: "POST", headers: { cookie, "sec-fetch-site": "cross-site" } });
    assert.equal(logout.status, 403);
    assert.equal((await ok<{ email: string }>(h.baseUrl, "system.me", undefined, { cookie })).email, viewer.email);
  });

  test("security headers on API answers", async () => {
    const res = await fetch(`${h.baseUrl}/api/healthz`);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    assert.match(res.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.equal(res.headers.get("referrer-policy"), "same-origin");
  });

  test("sign-out ends the session; sign-out everywhere ends all of them", async () => {
    const a = await signIn(h.baseUrl, viewer.email, viewer.password);
    const b = await signIn(h.baseUrl, viewer.email, viewer.password);
    const out = await fetch(`${h.baseUrl}/api/auth/logout`, { method: "POST", headers: { cookie: a } });
    assert.equal(out.status, 200);
    assert.match(out.headers.get("set-cookie") ?? "", /Max-Age=0/);
    assert.equal((await call(h.baseUrl, "system.me", undefined, { cookie: a })).code, "UNAUTHORIZED");
    assert.equal((await ok<{ email: string }>(h.baseUrl, "system.me", undefined, { cookie: b })).email, viewer.email);
    const c = await signIn(h.baseUrl, viewer.email, viewer.password);
    await ok(h.baseUrl, "operators.signOutEverywhere", undefined, { cookie: c });
    assert.equal((await call(h.baseUrl, "system.me", undefined, { cookie: b })).code, "UNAUTHORIZED");
    assert.equal((await call(h.baseUrl, "system.me", undefined, { cookie: c })).code, "UNAUTHORIZED");
    const audit = await h.app.db.lifecycleEvent.findMany({ where: { event: "operator.action", actor: viewer.email } });
    assert.ok(audit.some((e) => e.message.includes("signed out")));
    assert.ok(audit.some((e) => e.message.includes("signed in")));
  });

  test("sessions expire: absolutely and when idle", async () => {
    await h.app.db.operatorSession.deleteMany({ where: { operatorId: viewer.id } });
    const absolute = await signIn(h.baseUrl, viewer.email, viewer.password);
    const idle = await signIn(h.baseUrl, viewer.email, viewer.password);
    const sessions = await h.app.db.operatorSession.findMany({ where: { operatorId: viewer.id }, orderBy: { createdAt: "asc" } });
    assert.equal(sessions.length, 2);
    await h.app.db.operatorSession.update({ where: { id: sessions[0].id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await h.app.db.operatorSession.update({ where: { id: sessions[1].id }, data: { lastUsedAt: new Date(Date.now() - (h.app.config.SESSION_IDLE_MINUTES + 1) * 60_000) } });
    assert.equal((await call(h.baseUrl, "system.me", undefined, { cookie: absolute })).code, "UNAUTHORIZED");
    assert.equal((await call(h.baseUrl, "system.me", undefined, { cookie: idle })).code, "UNAUTHORIZED");
    assert.equal(await h.app.db.operatorSession.count({ where: { operatorId: viewer.id } }), 0, "expired sessions are deleted");
  });
});

describe("Socket.IO subscriptions", () => {
  let h: Harness;
  const sockets: Socket[] = [];

  before(async () => {
    h = await startHarness({ worker: false });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await h.stop();
  });

  function open(opts: { token?: string; cookie?: string; origin?: string }): Promise<{ socket: Socket; error?: string }> {
    const socket = connect(h.baseUrl, {
      path: "/socket.io",
      transports: ["websocket"],
      reconnection: false,
      auth: opts.token ? { token: opts.token } : {},
      extraHeaders: { ...(opts.cookie ? { cookie: opts.cookie } : {}), ...(opts.origin ? { origin: opts.origin } : {}) },
    });
    sockets.push(socket);
    return new Promise((resolve) => {
      socket.once("connect", () => resolve({ socket }));
      socket.once("connect_error", (err) => resolve({ socket, error: err.message }));
    });
  }

  test("anonymous and invalid credentials are refused; a viewer can watch", async () => {
    assert.equal((await open({})).error, "unauthorized");
    assert.equal((await open({ token: "mco_not-a-token" })).error, "unauthorized");
    const viewer = await createOperator(h.app, "viewer");
    const { socket, error } = await open({ token: await createApiToken(h.app, viewer.id, "viewer") });
    assert.equal(error, undefined);
    const ack = await socket.emitWithAck("subscribe", { rooms: ["fleet"] });
    assert.equal(ack.ok, true);
    const got = new Promise((resolve) => socket.once("lifecycle.event", resolve));
    await h.app.events.emit({ event: "operator.action", message: "test event", actor: "test" });
    const event = decodePush<{ message: string }>(await got)!;
    assert.equal(event.message, "test event");
  });

  test("a cross-site cookie handshake is refused", async () => {
    const op = await createOperator(h.app, "viewer");
    const cookie = await signIn(h.baseUrl, op.email, op.password);
    assert.equal((await open({ cookie, origin: "https://evil.example" })).error, "unauthorized");
    const host = new URL(h.baseUrl).host;
    assert.equal((await open({ cookie, origin: `http://${host}` })).error, undefined);
  });

  test("sign-out, disabling and revocation end live connections at once", async () => {
    const op = await createOperator(h.app, "viewer");
    const cookie = await signIn(h.baseUrl, op.email, op.password);
    const bySession = (await open({ cookie })).socket;
    const admin = await createOperator(h.app, "admin");
    const adminToken = await createApiToken(h.app, admin.id, "admin");
    const created = await ok<{ id: string; token: string }>(h.baseUrl, "tokens.create", { name: "watch", role: "viewer", operatorId: op.id }, { token: adminToken });
    const byToken = (await open({ token: created.token })).socket;
    assert.ok(bySession.connected && byToken.connected);

    await fetch(`${h.baseUrl}/api/auth/logout`, { method: "POST", headers: { cookie } });
    await waitFor(async () => bySession.disconnected, 5000, "the session's socket to be closed");
    assert.ok(byToken.connected, "the token's socket is unaffected by a browser sign-out");

    await ok(h.baseUrl, "tokens.revoke", { id: created.id }, { token: adminToken });
    await waitFor(async () => byToken.disconnected, 5000, "the revoked token's socket to be closed");
  });
});
