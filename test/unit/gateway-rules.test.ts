// The gateway's pure rules (server/gateways/rules.ts): what a gateway accepts, and what an edit resets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkNotDeleting, checkUrl, connectionReset } from "../../server/gateways/rules";
import { ServiceError } from "../../server/platform/service-error";

const refusal = (kind: string, message: RegExp) => (err: unknown) => err instanceof ServiceError && err.kind === kind && message.test(err.message);

test("a gateway other than the simulator needs a url", () => {
  assert.throws(() => checkUrl("http", null), refusal("invalid", /^A http gateway needs a url$/));
  assert.throws(() => checkUrl("openclaw", ""), refusal("invalid", /^A openclaw gateway needs a url$/));
  assert.throws(() => checkUrl("http", undefined), refusal("invalid", /needs a url/));
  assert.doesNotThrow(() => checkUrl("http", "http://gw.example/"));
  assert.doesNotThrow(() => checkUrl("simulator", null));
});

test("a gateway being deleted refuses new work with a conflict naming it", () => {
  assert.throws(() => checkNotDeleting({ name: "east", deletingAt: new Date() }), refusal("conflict", /^Gateway east is being deleted$/));
  assert.doesNotThrow(() => checkNotDeleting({ name: "east", deletingAt: null }));
});

test("url, token and TLS are connection changes: the last probe no longer holds", () => {
  for (const field of ["url", "tokenSecret", "allowInsecureTls"]) {
    const { connectionChanged, reset } = connectionReset({ [field]: field === "url" ? "http://old/" : "x" }, "http://old/");
    assert.equal(connectionChanged, true, field);
    assert.deepEqual(reset, { status: "unknown", lastError: null }, field);
  }
  // A cleared token is a change too.
  assert.equal(connectionReset({ tokenSecret: null }, null).connectionChanged, true);
});

test("other fields change nothing of the connection", () => {
  assert.deepEqual(connectionReset({ name: "b", maxWakeAttempts: 3, checkinDeadlineSeconds: null, workspaceRoot: "/w" }, "http://a/"), {
    connectionChanged: false,
    reset: {},
  });
});

test("a new url also drops the device token and the pairing request of the old one", () => {
  assert.deepEqual(connectionReset({ url: "http://new/" }, "http://old/").reset, {
    status: "unknown",
    lastError: null,
    deviceTokenSecret: null,
    pairingRequestId: null,
  });
  assert.deepEqual(connectionReset({ url: null }, "http://old/").reset, { status: "unknown", lastError: null, deviceTokenSecret: null, pairingRequestId: null });
  assert.deepEqual(connectionReset({ url: "http://old/", name: "x" }, "http://old/").reset, { status: "unknown", lastError: null });
});
