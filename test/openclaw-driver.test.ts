// The openclaw driver against a fake OpenClaw gateway (a real WebSocket server): the provisioning sequence, the signed
// handshake, control-UI mode, one connection per run, the known races, every misbehaviour classified for operators,
// wss with a self-signed certificate, the DB-backed device identity, and one full cycle through the real lifecycle.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import net from "node:net";

process.env.MC_SECRET_KEY ||= randomBytes(32).toString("base64");

import { FakeOpenClaw, type FakeOpenClawOptions } from "./support/fake-openclaw";
import { startHarness, waitFor, eventsOf, type Harness } from "./support/harness";
import { createTestDatabase } from "./support/database";
import {
  OpenClawDriver,
  configPatchFor,
  gatewayAgentId,
  gatewaySessionKey,
  tokenFromTools,
  type OpenClawDriverOptions,
} from "../server/drivers/openclaw";
import {
  DEFAULT_MIN_VERSION,
  OPERATOR_SCOPES,
  compareCalVer,
  deviceAuthPayload,
  hostPlatform,
  incompatibility,
  minimumVersion,
  parseCalVer,
} from "../server/drivers/openclaw-protocol";
import { DEVICE_IDENTITY_ROW, deviceIdentityFromPem, generateDeviceIdentity, loadOrCreateDeviceIdentity, type DeviceIdentity } from "../server/drivers/device-identity";
import { GatewayCallError, type DriverAgent, type GatewayConnection, type ProvisionRequest } from "../server/drivers/types";
import { renderTemplates } from "../server/templates/render";
import { createPrisma } from "../server/db/prisma";

const GATEWAY_TOKEN = "gw-token-8c1f2e9d7a";
const identity = generateDeviceIdentity();
const fakes: FakeOpenClaw[] = [];

async function fake(opts: Partial<FakeOpenClawOptions> = {}): Promise<FakeOpenClaw> {
  const f = await FakeOpenClaw.start({ token: GATEWAY_TOKEN, ...opts });
  fakes.push(f);
  return f;
}

after(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

function connection(f: FakeOpenClaw | string, overrides: Partial<GatewayConnection> = {}): GatewayConnection {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    name: "claw-test",
    driver: "openclaw",
    url: typeof f === "string" ? f : f.url,
    tokenSecret: GATEWAY_TOKEN,
    allowInsecureTls: false,
    disableDevicePairing: false,
    ...overrides,
  };
}

function driver(f: FakeOpenClaw | string, overrides: Partial<GatewayConnection> = {}, opts: OpenClawDriverOptions = {}): OpenClawDriver {
  return new OpenClawDriver(connection(f, overrides), {
    deviceIdentity: async () => identity,
    updateRetryDelaysMs: [100, 200, 400, 800],
    challengeWaitMs: 500,
    ...opts,
  });
}

let seq = 0;
function agent(overrides: Partial<DriverAgent> = {}): DriverAgent {
  const id = `1d2c3b4a-0000-4000-8000-${String(++seq).padStart(12, "0")}`;
  return { id, name: `Agent ${seq}`, kind: "gateway_main", boardId: null, sessionKey: `agent:gateway_main:${id}`, heartbeatIntervalSeconds: 60, ...overrides };
}

async function provisionRequest(a: DriverAgent, token = `agent-token-${randomBytes(8).toString("hex")}`): Promise<ProvisionRequest> {
  const baseUrl = "http://127.0.0.1:1";
  const heartbeatUrl = `${baseUrl}/api/agent/heartbeat`;
  const files = await renderTemplates({
    agent: { id: a.id, name: a.name, kind: a.kind, sessionKey: a.sessionKey, heartbeatIntervalSeconds: a.heartbeatIntervalSeconds },
    gateway: { name: "claw-test" },
    board: null,
    heartbeatUrl,
    baseUrl,
  });
  return { agent: a, token, baseUrl, heartbeatUrl, files };
}

async function rejection(work: Promise<unknown>): Promise<GatewayCallError> {
  try {
    await work;
  } catch (err) {
    assert.ok(err instanceof GatewayCallError, `expected a GatewayCallError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the call to fail");
}

function assertNoSecrets(message: string, ...extra: string[]): void {
  for (const secret of [GATEWAY_TOKEN, identity.privateKeyPem, "PRIVATE KEY", ...extra]) {
    assert.ok(!message.includes(secret), `message leaks a secret: ${message}`);
  }
}

/** Every socket of a run is closed once the call returns (give the close handshake a moment). */
async function noOpenConnections(f: FakeOpenClaw): Promise<void> {
  await waitFor(async () => f.openConnections() === 0, 2000, "every connection closed");
}

const wake = (a: DriverAgent, attempt = 1) => ({
  agent: a,
  attempt,
  generation: 1,
  deadlineAt: new Date(Date.now() + 30_000),
  message: `Mission Control wake (attempt ${attempt}/3)`,
});

describe("openclaw driver: provisioning sequence", () => {
  test("create → update → config.get → config.patch → every file → sessions.reset; then the wake; files and config as sent", async () => {
    const f = await fake({ notFoundAfterCreateMs: 0 });
    const a = agent();
    const req = await provisionRequest(a);
    const id = gatewayAgentId(a);

    await driver(f).provision(req);
    const fileNames = Object.keys(req.files);
    assert.deepEqual(f.methods(), ["agents.create", "agents.update", "config.get", "config.patch", ...fileNames.map(() => "agents.files.set"), "sessions.reset"]);
    assert.deepEqual(f.requestsOf("agents.files.set").map((r) => r.params.name), fileNames);
    assert.equal(f.requestsOf("agents.create")[0].params.name, id);
    assert.equal(f.requestsOf("agents.update")[0].params.name, a.name);
    assert.equal(f.requestsOf("sessions.reset")[0].params.key, gatewaySessionKey(a));

    // Files: exactly the rendered templates, plus the token section in TOOLS.md (the runtime has no token field).
    const written = f.filesOf(id);
    assert.deepEqual(Object.keys(written).sort(), fileNames.sort());
    for (const name of fileNames) {
      if (name === "TOOLS.md") assert.ok(written[name].startsWith(req.files[name].trimEnd()));
      else assert.equal(written[name], req.files[name]);
    }
    assert.equal(tokenFromTools(written["TOOLS.md"]), req.token);
    // Config: the agent's entry with its heartbeat, and the defaults.
    assert.deepEqual(f.agentEntry(id)?.heartbeat, { every: "1m" });
    assert.ok(String(f.agentEntry(id)?.workspace).endsWith(`workspace-${id}`));
    assert.equal(f.restarts, 1, "the patch restarted the gateway");
    assert.equal(f.connections, 2, "one connection, plus one after the restart");
    await noOpenConnections(f);

    f.clearLog();
    await driver(f).wake(wake(a));
    assert.deepEqual(f.methods(), ["sessions.patch", "chat.send"]);
    const send = f.requestsOf("chat.send")[0].params;
    assert.equal(send.sessionKey, gatewaySessionKey(a));
    assert.equal(send.deliver, true);
    assert.match(String(send.message), /Mission Control wake/);
    assert.equal(f.requestsOf("sessions.patch")[0].params.label, a.name);
    assert.equal(f.connections, 1);
    await noOpenConnections(f);
  });

  test("a second provision of the same agent sends no config.patch and uses exactly one connection", async () => {
    const f = await fake({ notFoundAfterCreateMs: 0 });
    const a = agent();
    await driver(f).provision(await provisionRequest(a));
    f.clearLog();
    const again = await provisionRequest(a, "agent-token-second");
    await driver(f).provision(again);
    const methods = f.methods();
    assert.ok(!methods.includes("config.patch"), methods.join(","));
    assert.deepEqual(methods.slice(0, 3), ["agents.create", "agents.update", "config.get"]);
    assert.equal(f.connections, 1, "one connection for the whole run");
    assert.equal(new Set(f.received.map((r) => r.connection)).size, 1);
    assert.equal(f.restarts, 0);
    assert.equal(tokenFromTools(f.filesOf(gatewayAgentId(a))["TOOLS.md"]), "agent-token-second", "the new token replaced the old one");
    assert.equal((f.filesOf(gatewayAgentId(a))["TOOLS.md"].match(/MC_AGENT_TOKEN=/g) ?? []).length, 1);
    await noOpenConnections(f);
  });

  test("agents.update says not found for 0.5 s after the create: retried until it works", async () => {
    const f = await fake({ notFoundAfterCreateMs: 500 });
    const a = agent();
    const started = Date.now();
    await driver(f).provision(await provisionRequest(a));
    const methods = f.methods();
    const updates = methods.filter((m) => m === "agents.update").length;
    assert.ok(updates >= 2, `agents.update sent ${updates} times`);
    assert.ok(Date.now() - started >= 500);
    assert.deepEqual(methods.slice(0, updates + 1), ["agents.create", ...Array(updates).fill("agents.update")]);
    assert.equal(f.agents.get(gatewayAgentId(a))?.name, a.name);
  });

  test("not found from agents.update without a create of ours is not retried: agent-not-found error", async () => {
    const f = await fake({ notFoundAfterCreateMs: 60_000 });
    const a = agent();
    // Our own create: retried, then given up with the agent-not-found error.
    assert.equal((await rejection(driver(f).provision(await provisionRequest(a)))).kind, "not_found");
    f.clearLog();
    // Now the create says "already exists": a not-found is not the create race and fails at once.
    const err = await rejection(driver(f).provision(await provisionRequest(a)));
    assert.equal(err.kind, "not_found");
    assert.deepEqual(f.methods(), ["agents.create", "agents.update"]);
  });

  test("config.patch restarts the gateway: the driver reconnects (through refusals and dropped calls) and finishes", async () => {
    // The restart comes while the reconnected run writes its files: the third call after the patch is dropped unanswered
    // (connection closed 1012), new connections are refused (503) for 300 ms, then the run goes on.
    const f = await fake({ notFoundAfterCreateMs: 0, restartAtRequest: 3, restartDowntimeMs: 300 });
    const a = agent();
    const req = await provisionRequest(a);
    const fileCount = Object.keys(req.files).length;
    await driver(f).provision(req);
    assert.equal(f.restarts, 1);
    assert.ok(f.connections >= 3, `connections: ${f.connections}`);
    assert.ok(f.requestsOf("agents.files.set").length > fileCount, "the dropped call was sent again");
    assert.deepEqual(Object.keys(f.filesOf(gatewayAgentId(a))).sort(), Object.keys(req.files).sort());
    assert.equal(tokenFromTools(f.filesOf(gatewayAgentId(a))["TOOLS.md"]), req.token);
    assert.equal(f.methods().at(-1), "sessions.reset");
    assert.equal(f.methods().filter((m) => m === "config.patch").length, 1, "the patch is not repeated");
    await noOpenConnections(f);
  });

  test("the config patch keeps the gateway's other config and is empty when nothing changed", () => {
    const config = { agents: { list: [{ id: "other", model: "x" }, { id: "mc-a", workspace: "/w", heartbeat: { every: "5m", target: "last" } }] } };
    const patch = configPatchFor(config, "mc-a", 60) as { agents: { list: unknown[] } };
    assert.deepEqual(patch.agents.list, [{ id: "other", model: "x" }, { id: "mc-a", workspace: "/w", heartbeat: { every: "1m", target: "last" } }]);
    const done = {
      agents: { list: [{ id: "mc-a", heartbeat: { every: "90s" } }] },
      channels: { defaults: { heartbeat: { showOk: true, showAlerts: true, useIndicator: true } } },
      tools: { exec: { host: "sandbox" } },
    };
    assert.equal(configPatchFor(done, "mc-a", 90), null, "nothing changed: no patch");
  });

  test("syncTemplates keeps the delivered token; resetSession; deleteAgent tolerates what is already gone", async () => {
    const f = await fake({ notFoundAfterCreateMs: 0 });
    const a = agent();
    const req = await provisionRequest(a);
    await driver(f).provision(req);
    await driver(f).wake(wake(a));
    f.clearLog();
    await driver(f).syncTemplates(a, { ...req.files, "TOOLS.md": "# Tools v2\n" });
    const tools = f.filesOf(gatewayAgentId(a))["TOOLS.md"];
    assert.ok(tools.startsWith("# Tools v2"));
    assert.equal(tokenFromTools(tools), req.token);
    assert.equal(f.methods()[0], "agents.files.get");
    assert.equal(f.connections, 1);

    f.clearLog();
    await driver(f).resetSession(a);
    assert.deepEqual(f.methods(), ["sessions.reset"]);

    f.clearLog();
    await driver(f).deleteAgent(a);
    assert.deepEqual(f.methods(), ["agents.delete", "sessions.delete"]);
    assert.equal(f.agents.has(gatewayAgentId(a)), false);
    await driver(f).deleteAgent(a); // already gone: no error
    const err = await rejection(driver(f).wake(wake(a)));
    assert.equal(err.kind, "not_found");
    await noOpenConnections(f);
  });
});

describe("openclaw driver: handshake", () => {
  test("connect.challenge nonce: the v2 payload is signed with the device key and verified by the gateway", async () => {
    const f = await fake();
    const { version } = await driver(f).probe();
    assert.equal(version, "2026.4.1");
    assert.equal(f.verifiedDevices.length, 1);
    const v = f.verifiedDevices[0];
    assert.equal(v.payload, "v2");
    assert.equal(v.deviceId, identity.deviceId);
    const p = f.connectParams[0];
    assert.equal(p.device?.nonce, v.nonce);
    assert.equal(p.minProtocol, 3);
    assert.equal(p.maxProtocol, 3);
    assert.equal(p.role, "operator");
    assert.deepEqual(p.scopes, [...OPERATOR_SCOPES]);
    assert.deepEqual(p.client, { id: "gateway-client", version: "1.0.0", platform: hostPlatform(), mode: "backend" });
    assert.ok(["linux", "darwin", "windows"].includes(p.client.platform));
    assert.deepEqual(p.auth, { token: GATEWAY_TOKEN });
    assert.equal(p.device?.publicKey, identity.publicKey);
    // The exact string that was signed.
    assert.equal(
      deviceAuthPayload({
        deviceId: identity.deviceId,
        clientId: "gateway-client",
        clientMode: "backend",
        role: "operator",
        scopes: OPERATOR_SCOPES,
        signedAtMs: 1700000000000,
        token: GATEWAY_TOKEN,
        nonce: "n-1",
      }),
      `v2|${identity.deviceId}|gateway-client|backend|operator|operator.read,operator.admin,operator.approvals,operator.pairing|1700000000000|${GATEWAY_TOKEN}|n-1`,
    );
    await noOpenConnections(f);
  });

  test("without a challenge the driver signs the v1 payload (no nonce) after a short wait", async () => {
    const f = await fake({ challenge: false });
    await driver(f, {}, { challengeWaitMs: 100 }).probe();
    assert.equal(f.verifiedDevices[0]?.payload, "v1");
    assert.equal(f.connectParams[0].device?.nonce, undefined);
  });

  test("the gateway really checks the signature: a key pair that does not match is refused", async () => {
    const f = await fake();
    const other = generateDeviceIdentity();
    const forged: DeviceIdentity = { ...identity, privateKeyPem: other.privateKeyPem };
    const err = await rejection(driver(f, {}, { deviceIdentity: async () => forged }).probe());
    assert.equal(err.kind, "auth");
    assert.match(err.message, /^gateway refused authentication: device signature invalid/);
    assertNoSecrets(err.message, other.privateKeyPem);
    assert.equal(f.verifiedDevices.length, 0);
  });

  test("a platform other than the one the device was paired from is refused with what to fix", async () => {
    const f = await fake();
    await driver(f).probe();
    const err = await rejection(driver(f, {}, { platform: hostPlatform() === "linux" ? "darwin" : "linux" }).probe());
    assert.equal(err.kind, "auth");
    assert.match(err.message, /platform mismatch.*same OS/);
  });

  test("control-UI mode when device pairing is disabled: no device, control-UI client, Origin from the URL", async () => {
    const f = await fake({ allowControlUi: true });
    let asked = 0;
    await driver(f, { disableDevicePairing: true }, { deviceIdentity: async () => (asked++, identity) }).probe();
    const p = f.connectParams[0];
    assert.equal(p.device, undefined);
    assert.deepEqual(p.client, { id: "openclaw-control-ui", version: "1.0.0", platform: hostPlatform(), mode: "ui" });
    assert.deepEqual(p.auth, { token: GATEWAY_TOKEN });
    assert.equal(f.controlUiConnects[0].origin, `http://${new URL(f.url).host}`);
    assert.equal(asked, 0, "no device identity needed");

    const strict = await fake({ allowControlUi: false });
    const err = await rejection(driver(strict, { disableDevicePairing: true }).probe());
    assert.equal(err.kind, "auth");
    assert.match(err.message, /^gateway refused authentication: device identity required.*allowInsecureAuth/);
  });

  test("an unpaired device: 'device not paired:' with what to do; works once approved", async () => {
    const f = await fake({ pairing: "manual" });
    const err = await rejection(driver(f).provision(await provisionRequest(agent())));
    assert.equal(err.kind, "auth");
    assert.match(err.message, /^device not paired: gateway claw-test has not approved .*openclaw devices approve/);
    assert.ok(err.message.includes(identity.deviceId.slice(0, 16)));
    assert.deepEqual(f.methods(), [], "nothing sent before the handshake worked");
    assert.ok(f.pendingPairing.has(identity.deviceId));
    f.approve(identity.deviceId);
    await driver(f).probe();
  });
});

describe("openclaw driver: failures are classified for operators", () => {
  test("refused auth → kind auth, 'gateway refused authentication:', no secret in the message", async () => {
    const f = await fake({ refuseAuth: true });
    const err = await rejection(driver(f).provision(await provisionRequest(agent())));
    assert.equal(err.kind, "auth");
    assert.match(err.message, /^gateway refused authentication: unauthorized.*Check the gateway token configured for claw-test/);
    assertNoSecrets(err.message);
    assert.deepEqual(f.methods(), []);

    const wrong = await fake();
    const err2 = await rejection(driver(wrong, { tokenSecret: "wrong-token-123456" }).probe());
    assert.equal(err2.kind, "auth");
    assertNoSecrets(err2.message, "wrong-token-123456");

    const scoped = await fake({ missingScope: "operator.admin" });
    const err3 = await rejection(driver(scoped).probe());
    assert.equal(err3.kind, "auth");
    assert.match(err3.message, /lacks the scope operator\.admin/);
    await noOpenConnections(f);
  });

  test("dropped connection → kind unreachable, 'gateway unreachable:'", async () => {
    const f = await fake({ dropConnections: true });
    const err = await rejection(driver(f).provision(await provisionRequest(agent())));
    assert.equal(err.kind, "unreachable");
    assert.match(err.message, /^gateway unreachable: connection to 127\.0\.0\.1:\d+ closed/);
    assertNoSecrets(err.message);

    // Mid-run: the handshake works, then the gateway drops the connection.
    const mid = await fake({ notFoundAfterCreateMs: 0 });
    const d = driver(mid);
    const a = agent();
    await d.provision(await provisionRequest(a));
    mid.set({ dropConnections: true });
    const err2 = await rejection(d.wake(wake(a)));
    assert.equal(err2.kind, "unreachable");
    assert.match(err2.message, /^gateway unreachable:/);
  });

  test("nothing listening → kind unreachable", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const err = await rejection(driver(`ws://127.0.0.1:${port}`).probe());
    assert.equal(err.kind, "unreachable");
    assert.match(err.message, /^gateway unreachable: cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  test("slow answers → kind timeout after the call timeout, 'gateway unreachable: … timed out', no socket left", async () => {
    const f = await fake({ slowMs: 1500 });
    const started = Date.now();
    const err = await rejection(driver(f, {}, { callTimeoutMs: 300 }).provision(await provisionRequest(agent())));
    assert.equal(err.kind, "timeout");
    assert.match(err.message, /^gateway unreachable: connect on 127\.0\.0\.1:\d+ timed out after 0\.3s/);
    assert.ok(Date.now() - started < 1400, "the driver did not wait for the slow answer");
    await noOpenConnections(f);

    // A slow method after a quick handshake.
    const g = await fake({ notFoundAfterCreateMs: 0 });
    const a = agent();
    await driver(g).provision(await provisionRequest(a));
    g.set({ slowMs: 1000, slowMethods: ["sessions.patch"] });
    const err2 = await rejection(driver(g, {}, { callTimeoutMs: 300 }).wake(wake(a)));
    assert.equal(err2.kind, "timeout");
    assert.match(err2.message, /sessions\.patch .*timed out/);
    await noOpenConnections(g);
  });

  test("old version → incompatible; nothing provisioned, nothing woken", async () => {
    const f = await fake({ version: "2026.1.30" });
    const err = await rejection(driver(f).probe());
    assert.equal(err.kind, "incompatible");
    assert.match(err.message, /2026\.1\.30.*below the minimum 2026\.2\.9/);
    const err2 = await rejection(driver(f).provision(await provisionRequest(agent())));
    assert.equal(err2.kind, "incompatible");
    const err3 = await rejection(driver(f).wake(wake(agent())));
    assert.equal(err3.kind, "incompatible");
    assert.deepEqual(f.methods(), [], "no method after connect");
    assert.equal(f.agents.size, 0);
    await noOpenConnections(f);

    // The minimum is configurable.
    const ok = await driver(f, {}, { minVersion: "2026.1.1" }).probe();
    assert.equal(ok.version, "2026.1.30");
  });

  test("CalVer parsing and OPENCLAW_MIN_VERSION", () => {
    assert.deepEqual(parseCalVer("v2026.2.9-3"), { year: 2026, month: 2, day: 9, rev: 3 });
    assert.equal(parseCalVer("2026.13.1"), null);
    assert.equal(parseCalVer("dev"), null);
    assert.ok(compareCalVer(parseCalVer("2026.2.10")!, parseCalVer("2026.2.9")!) > 0);
    assert.equal(minimumVersion({}), DEFAULT_MIN_VERSION);
    assert.equal(minimumVersion({ OPENCLAW_MIN_VERSION: "2026.3.1" }), "2026.3.1");
    assert.equal(incompatibility("2026.2.9", "2026.2.9"), null);
    assert.match(incompatibility("abc", "2026.2.9") ?? "", /unsupported version format/);
    assert.match(incompatibility(null, "2026.2.9") ?? "", /unable to determine/);
  });
});

describe("openclaw driver: wss", () => {
  let dir: string;
  let tls: { key: string; cert: string };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-openclaw-tls-"));
    execFileSync(
      "openssl",
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
        "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stdio: "ignore" },
    );
    tls = { key: fs.readFileSync(path.join(dir, "key.pem"), "utf8"), cert: fs.readFileSync(path.join(dir, "cert.pem"), "utf8") };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("a self-signed certificate is refused by default and accepted with allowInsecureTls", async () => {
    const f = await fake({ tls, notFoundAfterCreateMs: 0 });
    assert.match(f.url, /^wss:\/\//);
    const err = await rejection(driver(f).probe());
    assert.equal(err.kind, "unreachable");
    assert.match(err.message, /^gateway unreachable: the TLS certificate of 127\.0\.0\.1:\d+ is not trusted .*allowInsecureTls/);
    assert.equal(f.connectParams.length, 0);

    const insecure = driver(f, { allowInsecureTls: true });
    assert.equal((await insecure.probe()).version, "2026.4.1");
    const a = agent();
    await insecure.provision(await provisionRequest(a));
    assert.ok(f.agents.has(gatewayAgentId(a)));
    await noOpenConnections(f);
  });
});

describe("device identity in the database", () => {
  test("one identity for every process: concurrent first loads agree, the private key is sealed", async () => {
    const database = await createTestDatabase();
    const clients = Array.from({ length: 4 }, () => createPrisma(database.url, 2));
    try {
      const loaded = await Promise.all(clients.map((db) => loadOrCreateDeviceIdentity(db)));
      assert.equal(new Set(loaded.map((i) => i.deviceId)).size, 1, "every process got the same device");
      const rows = await clients[0].deviceIdentity.findMany();
      assert.equal(rows.length, 1);
      assert.equal(rows[0].id, DEVICE_IDENTITY_ROW);
      assert.match(rows[0].privateKeyEncrypted, /^enc:v1:/);
      assert.ok(!rows[0].privateKeyEncrypted.includes("PRIVATE KEY"));
      const again = await loadOrCreateDeviceIdentity(clients[1]);
      assert.equal(again.deviceId, loaded[0].deviceId);
      assert.equal(again.privateKeyPem, loaded[0].privateKeyPem);
      assert.deepEqual(deviceIdentityFromPem(again.publicKeyPem, again.privateKeyPem), again);
      // An identity the process cannot decrypt is an error that says what to do, never a silent new device.
      await clients[0].deviceIdentity.update({ where: { id: DEVICE_IDENTITY_ROW }, data: { privateKeyEncrypted: "enc:v1:AAAA" } });
      const err = await rejection(loadOrCreateDeviceIdentity(clients[2]));
      assert.match(err.message, /^device identity unreadable: .*MC_SECRET_KEY/);
    } finally {
      await Promise.all(clients.map((c) => c.$disconnect()));
      await database.drop();
    }
  });
});

describe("openclaw gateway through the real lifecycle", () => {
  let h: Harness;
  let f: FakeOpenClaw;
  let gatewayId: string;
  before(async () => {
    f = await fake({ runtime: (a) => (a.name.startsWith("silent") ? "silent" : "heartbeat") });
    h = await startHarness();
    gatewayId = await h.gateway({ driver: "openclaw", url: f.url, token: GATEWAY_TOKEN });
  });
  after(async () => {
    await h.stop();
  });

  const statusIs = (id: string, status: string) => async () => {
    const a = await h.app.db.agent.findUniqueOrThrow({ where: { id } });
    return a.status === status ? a : null;
  };

  test("provisioned over the WebSocket, woken with chat.send, checks in with its token → online, stays online", async () => {
    const id = await h.agent(gatewayId, "healthy", "healthy-claw");
    await waitFor(statusIs(id, "online"), 12_000, "openclaw agent online");
    const gwAgent = `mc-${id}`;
    const hb = await waitFor(async () => {
      const sent = f.heartbeats.filter((x) => x.agentId === gwAgent);
      return sent.length > 0 ? sent : null;
    }, 2000, "the runtime's heartbeat recorded");
    assert.ok(hb.length >= 1 && hb.every((x) => x.status === 200), JSON.stringify(hb));
    assert.equal(hb[0].url, `${h.baseUrl}/api/agent/heartbeat`);
    const events = await eventsOf(h.app, id);
    assert.ok(events.includes("lifecycle.provision.succeeded"), events.join(","));
    assert.ok(events.includes("lifecycle.wake.sent"));
    // The handshake was signed with the identity from the database.
    const row = await h.app.db.deviceIdentity.findUniqueOrThrow({ where: { id: DEVICE_IDENTITY_ROW } });
    const stored = (await loadOrCreateDeviceIdentity(h.app.db)).deviceId;
    assert.ok(row);
    assert.ok(f.verifiedDevices.length > 0 && f.verifiedDevices.every((v) => v.deviceId === stored));
    // The runtime keeps heartbeating at the interval of its config entry: still online after a few intervals.
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal((await h.app.db.agent.findUniqueOrThrow({ where: { id } })).status, "online");
  });

  test("an agent that stays silent → offline after 3 wakes, each one a chat.send", async () => {
    const id = await h.agent(gatewayId, "silent", "silent-claw");
    const offline = await waitFor(statusIs(id, "offline"), 15_000, "silent openclaw agent offline");
    assert.equal(offline.statusReason, "max_wake_attempts");
    const key = gatewaySessionKey({ id });
    assert.equal(f.requestsOf("chat.send").filter((r) => r.params.sessionKey === key).length, 3);
    assert.equal(f.heartbeats.filter((x) => x.agentId === `mc-${id}`).length, 0);
    const attempts = await h.app.db.wakeAttempt.findMany({ where: { agentId: id } });
    assert.deepEqual(attempts.map((a) => a.outcome), ["expired", "expired", "expired"]);
  });
});
