// The OpenClaw driver against the fake gateway (test/support/fake-openclaw.ts, a real WebSocket server kept honest by
// test/contract/openclaw-fake.test.ts), for both releases where they differ (2026.9.6 speaks protocol 4, 2026.4.29
// protocol 3): provisioning, negotiation, the agents' config settings, the wake and its run's outcome, the delivered
// token, deletion, the signed handshake and pairing, every misbehaviour classified for operators, wss, the DB-backed
// device identity, and the lifecycle, the gateway-settings job and template sync through the fake with a real database.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net, { type AddressInfo } from "node:net";

process.env.MC_SECRET_KEY ||= randomBytes(32).toString("base64");

import { FAKE_PROFILES, FakeOpenClaw, type FakeOpenClawOptions, type FakeProfileName } from "../support/fake-openclaw";
import { startHarness, waitFor, eventsOf, type Harness } from "../support/harness";
import { createTestDatabase } from "../support/database";
import { checkInInstructions, followCheckIn } from "../interop/agent-files";
import { OpenClawDriver, gatewayAgentId, gatewaySessionKey, type DeviceTokenStore, type OpenClawDriverOptions } from "../../server/drivers/openclaw";
import { HEARTBEAT_PROMPT } from "../../server/drivers/openclaw/driver";
import { GatewaySocket, handshake } from "../../server/drivers/openclaw/connection";
import { ErrorText } from "../../server/drivers/openclaw/errors";
import { TOKEN_MARKER, tokenFromFile } from "../../server/drivers/openclaw/token-file";
import { OPERATOR_SCOPES, compareCalVer, deviceAuthPayload, hostPlatform, incompatibility, parseCalVer } from "../../server/drivers/openclaw/protocol";
import { DEVICE_IDENTITY_ROW, deviceIdentityFromPem, generateDeviceIdentity, loadOrCreateDeviceIdentity, type DeviceIdentity } from "../../server/drivers/openclaw/device-identity";
import { GatewayCallError, type DriverAgent, type GatewayConnection, type ProvisionRequest, type RunOutcome, type WakeRequest } from "../../server/drivers/types";
import { renderTemplates, templateContextOf } from "../../server/templates/render";
import { createPrisma } from "../../server/db/prisma";
import { openSecret } from "../../server/secrets/crypto";
import { probeGateway } from "../../server/gateways/probe";
import { startTemplateSync } from "../../server/gateways/template-sync";

const GATEWAY_TOKEN = "gw-token-8c1f2e9d7a";
const identity = generateDeviceIdentity();
const fakes: FakeOpenClaw[] = [];
/** Each fake is its own gateway: the driver remembers refused files per gateway id. */
const gatewayIds = new WeakMap<FakeOpenClaw, string>();

async function fake(opts: Partial<FakeOpenClawOptions> = {}): Promise<FakeOpenClaw> {
  const f = await FakeOpenClaw.start({ token: GATEWAY_TOKEN, runDelayMs: 50, ...opts });
  fakes.push(f);
  gatewayIds.set(f, randomUUID());
  return f;
}

after(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

function connection(f: FakeOpenClaw | string, overrides: Partial<GatewayConnection> = {}): GatewayConnection {
  return {
    id: typeof f === "string" ? randomUUID() : gatewayIds.get(f)!,
    name: "claw-test",
    driver: "openclaw",
    url: typeof f === "string" ? f : f.url,
    tokenSecret: GATEWAY_TOKEN,
    allowInsecureTls: false,
    workspaceRoot: null,
    ...overrides,
  };
}

function driver(f: FakeOpenClaw | string, overrides: Partial<GatewayConnection> = {}, opts: OpenClawDriverOptions = {}): OpenClawDriver {
  return new OpenClawDriver(connection(f, overrides), {
    deviceIdentity: async () => identity,
    updateRetryDelaysMs: [100, 200, 400, 800],
    challengeWaitMs: 2000,
    runWatchMs: 5000,
    ...opts,
  });
}

let seq = 0;
function agent(overrides: Partial<DriverAgent> = {}): DriverAgent {
  const id = `1d2c3b4a-0000-4000-8000-${String(++seq).padStart(12, "0")}`;
  return { id, name: `Agent ${seq}`, kind: "board_lead", boardId: null, sessionKey: `agent:board_lead:${id}`, heartbeatIntervalSeconds: 60, ...overrides };
}

const BASE_URL = "http://127.0.0.1:1";

async function provisionRequest(a: DriverAgent, token = `mca_${a.id}_${randomBytes(8).toString("hex")}`): Promise<ProvisionRequest> {
  const ctx = templateContextOf(
    { id: a.id, name: a.name, kind: a.kind, sessionKey: a.sessionKey, heartbeatIntervalSeconds: a.heartbeatIntervalSeconds },
    { name: "claw-test" },
    { name: "board" },
    BASE_URL,
  );
  return { agent: a, token, baseUrl: ctx.baseUrl, heartbeatUrl: ctx.heartbeatUrl, files: await renderTemplates(ctx) };
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

/** Every socket of an operation is closed once it is over (give the close handshake a moment). */
async function noOpenConnections(f: FakeOpenClaw): Promise<void> {
  await waitFor(async () => f.openConnections() === 0, 2000, "every connection closed");
}

const wake = (a: DriverAgent, attempt = 1): WakeRequest => ({
  agent: a,
  attempt,
  generation: 1,
  deadlineAt: new Date(Date.now() + 30_000),
  message: `Mission Control wake (attempt ${attempt}/3)`,
});

function memoryTokenStore(): DeviceTokenStore & { saved: string[] } {
  let current: string | null = null;
  const saved: string[] = [];
  return {
    saved,
    load: async () => current,
    save: async (token) => {
      current = token;
      saved.push(token);
    },
  };
}

/** Spends a device's config-write budget on the fake with refused writes, until the gateway answers with its limit. */
async function spendConfigWrites(f: FakeOpenClaw, who: DeviceIdentity): Promise<void> {
  const socket = await GatewaySocket.open(f.url, {}, 5000, new ErrorText("test", f.url, () => [GATEWAY_TOKEN]));
  try {
    const hello = await handshake(socket, { identity: who, gatewayToken: GATEWAY_TOKEN, deviceToken: null, platform: hostPlatform(), timeoutMs: 5000, challengeWaitMs: 2000 });
    assert.ok(hello.ok, JSON.stringify(hello));
    for (let i = 0; i < 100; i++) {
      const res = await socket.request("config.patch", { raw: "{}", baseHash: "stale" }, 5000);
      if (!res.ok && res.error?.code === "UNAVAILABLE") return;
    }
    assert.fail("the gateway never rate-limited config.patch");
  } finally {
    socket.close();
  }
}

const PROTOCOL: Record<FakeProfileName, number> = { "2026.9.6": 4, "2026.4.29": 3 };
/** The template files each release refuses (`unsupported file`). */
const REFUSED: Record<FakeProfileName, string[]> = { "2026.9.6": ["HEARTBEAT.md", "TOOLS.md"], "2026.4.29": [] };

for (const profile of FAKE_PROFILES) {
  const start = (opts: Partial<FakeOpenClawOptions> = {}) => fake({ profile, ...opts });

  describe(`openclaw driver against OpenClaw ${profile}`, () => {
    test("provision: create → update → the files the gateway accepts → sessions.reset; AGENTS.md carries the check-in and the token", async () => {
      const f = await start();
      const a = agent();
      const req = await provisionRequest(a);
      const id = gatewayAgentId(a);
      await driver(f).provision(req);

      const names = Object.keys(req.files);
      const accepted = names.filter((n) => !REFUSED[profile].includes(n));
      const methods = f.methods();
      const updates = methods.filter((m) => m === "agents.update").length;
      assert.deepEqual(methods, ["agents.create", ...Array(updates).fill("agents.update"), ...names.map(() => "agents.files.set"), "sessions.reset"]);
      // 2026.9.6 says "not found" for a moment after the create: the update was retried until it worked.
      if (profile === "2026.9.6") assert.ok(updates >= 2, `agents.update sent ${updates} times`);
      else assert.equal(updates, 1);
      assert.ok(f.requestsOf("agents.update").slice(0, -1).every((r) => /not found/.test(r.answer?.error?.message ?? "")));
      assert.equal(f.requestsOf("agents.create")[0].params.name, id);
      assert.equal(f.requestsOf("agents.create")[0].params.workspace, `${f.stateDir}/workspace-${id}`);
      assert.equal(f.requestsOf("sessions.reset")[0].params.key, gatewaySessionKey(a));
      assert.equal(f.agentEntry(id)?.name, a.name);

      const written = f.filesOf(id);
      assert.deepEqual(Object.keys(written).sort(), accepted.sort());
      for (const name of accepted.filter((n) => n !== "AGENTS.md")) assert.equal(written[name], req.files[name], name);
      assert.ok(written["AGENTS.md"].startsWith(req.files["AGENTS.md"].trimEnd()));
      assert.equal(written["AGENTS.md"].split(TOKEN_MARKER).length, 2, "one token section");
      assert.equal(tokenFromFile(written["AGENTS.md"]), req.token);
      // What an agent reads: the check-in command and the token, literally.
      assert.deepEqual(checkInInstructions(written["AGENTS.md"]), { url: req.heartbeatUrl, token: req.token });
      assert.equal(f.connections, 1, "one connection for the whole operation");
      await noOpenConnections(f);
    });

    test("refused file names are remembered per gateway: the next agent's files skip them, another gateway learns afresh", async () => {
      const f = await start();
      await driver(f).provision(await provisionRequest(agent()));
      f.clearLog();
      const b = agent();
      const req = await provisionRequest(b);
      await driver(f).provision(req);
      const sent = f.requestsOf("agents.files.set").map((r) => r.params.name);
      assert.deepEqual(sent, Object.keys(req.files).filter((n) => !REFUSED[profile].includes(n)));
      assert.ok(f.requestsOf("agents.files.set").every((r) => r.answer?.ok));

      f.clearLog();
      await driver(f, { id: randomUUID() }).provision(await provisionRequest(agent()));
      assert.deepEqual(f.requestsOf("agents.files.set").map((r) => r.params.name), Object.keys(req.files));
    });

    test("agents.update still 'not found' after every retry → not_found; without our create it is not retried at all", async () => {
      const f = await start({ notFoundAfterCreateMs: 60_000 });
      const a = agent();
      const err = await rejection(driver(f, {}, { updateRetryDelaysMs: [50, 50] }).provision(await provisionRequest(a)));
      assert.equal(err.kind, "not_found");
      assert.equal(f.requestsOf("agents.update").length, 3);
      f.clearLog();
      // Now agents.create says "already exists": a not-found is not the create race, and fails at once.
      const again = await rejection(driver(f, {}, { updateRetryDelaysMs: [50, 50] }).provision(await provisionRequest(a)));
      assert.equal(again.kind, "not_found");
      assert.deepEqual(f.methods(), ["agents.create", "agents.update"]);
      assert.equal(f.requestsOf("agents.files.set").length, 0);
    });

    test(`probe: the version and the protocol the hello chose (${PROTOCOL[profile]}), offering 3..4`, async () => {
      const f = await start();
      assert.deepEqual(await driver(f).probe(), { version: profile, protocol: PROTOCOL[profile] });
      const p = f.connectParams[0];
      assert.deepEqual([p.minProtocol, p.maxProtocol], [3, 4]);
      assert.deepEqual(f.methods(), [], "a probe is only the handshake");
      await noOpenConnections(f);
    });

    test("applyAgentSettings: one config.patch for many agents in the gateway's shape with baseHash; nothing sent when current", async () => {
      const f = await start();
      const agents = [agent(), agent(), agent()];
      for (const a of agents) await driver(f).provision(await provisionRequest(a));
      const { hash } = f.configSnapshot();
      f.clearLog();

      assert.deepEqual(await driver(f).applyAgentSettings(agents), { patched: true });
      assert.deepEqual(f.methods(), ["config.get", "config.patch"]);
      const sent = f.requestsOf("config.patch")[0].params;
      assert.equal(sent.baseHash, hash);
      const patch = JSON.parse(String(sent.raw));
      const ids = agents.map(gatewayAgentId);
      if (profile === "2026.9.6") {
        assert.deepEqual(Object.keys(patch.agents.entries).sort(), [...ids].sort());
      } else {
        // A merge patch replaces arrays: the whole list goes, the gateway's own main agent with it.
        assert.deepEqual(patch.agents.list.map((e: { id: string }) => e.id), ["main", ...ids]);
        assert.deepEqual(patch.agents.list[0], { id: "main" });
      }
      for (const id of ids) {
        assert.deepEqual(f.agentEntry(id)?.heartbeat, { every: "1m", prompt: HEARTBEAT_PROMPT });
        assert.equal(f.agentEntry(id)?.workspace, `${f.stateDir}/workspace-${id}`, "the rest of the entry is kept");
      }

      f.clearLog();
      assert.deepEqual(await driver(f).applyAgentSettings(agents), { patched: false });
      assert.deepEqual(f.methods(), ["config.get"]);

      // One agent's interval changes; an agent the gateway does not have is left out (creating it is agents.create's job).
      f.clearLog();
      const changed = { ...agents[1], heartbeatIntervalSeconds: 90 };
      const ghost = agent();
      assert.deepEqual(await driver(f).applyAgentSettings([agents[0], changed, agents[2], ghost]), { patched: true });
      assert.equal((f.agentEntry(ids[1])?.heartbeat as { every: string }).every, "90s");
      assert.equal(f.hasAgent(gatewayAgentId(ghost)), false);
      if (profile === "2026.9.6") assert.deepEqual(Object.keys(JSON.parse(String(f.requestsOf("config.patch")[0].params.raw)).agents.entries), [ids[1]]);
      await noOpenConnections(f);
    });

    test("applyAgentSettings: a config changed by someone else in between (stale baseHash) is re-read and the patch retried", async () => {
      const f = await start();
      const a = agent();
      await driver(f).provision(await provisionRequest(a));
      f.clearLog();
      f.beforeAnswer("config.patch", () => f.changeConfigExternally());
      assert.deepEqual(await driver(f).applyAgentSettings([a]), { patched: true });
      assert.deepEqual(f.methods(), ["config.get", "config.patch", "config.get", "config.patch"]);
      const [stale, retried] = f.requestsOf("config.patch");
      assert.match(stale.answer?.error?.message ?? "", /config changed since last load/);
      assert.equal(retried.answer?.ok, true);
      assert.notEqual(retried.params.baseHash, stale.params.baseHash);
      assert.ok(f.agentEntry(gatewayAgentId(a))?.heartbeat);
    });

    test("applyAgentSettings: the gateway's rate limit → kind rate_limited with its retry hint; a short hint is waited out inline", async () => {
      const f = await start();
      const a = agent();
      await driver(f).provision(await provisionRequest(a));
      await spendConfigWrites(f, identity);
      f.clearLog();
      const err = await rejection(driver(f).applyAgentSettings([a]));
      assert.equal(err.kind, "rate_limited");
      assert.ok(err.details.retryAfterMs! > 2000 && err.details.retryAfterMs! <= 60_000, String(err.details.retryAfterMs));
      assert.match(err.message, /asked to retry config\.patch later: rate limit exceeded for config\.patch/);
      assert.equal(f.agentEntry(gatewayAgentId(a))?.heartbeat, undefined);

      const quick = await start({ rateLimitWindowMs: 1500 });
      const b = agent();
      await driver(quick).provision(await provisionRequest(b));
      await spendConfigWrites(quick, identity);
      quick.clearLog();
      assert.deepEqual(await driver(quick).applyAgentSettings([b]), { patched: true });
      const answers = quick.requestsOf("config.patch").map((r) => r.answer?.error?.code ?? "ok");
      assert.deepEqual(answers, ["UNAVAILABLE", "ok"]);
      assert.ok(quick.agentEntry(gatewayAgentId(b))?.heartbeat);
    });

    test("wake: sessions.patch + chat.send with an idempotency key; the run's failure, as the gateway reports it, is the outcome", async () => {
      const f = await start({ runError: "No API key found for provider \"openai\" (test)" });
      const a = agent();
      await driver(f).provision(await provisionRequest(a));
      f.clearLog();
      const receipt = await driver(f).wake(wake(a, 2));
      assert.deepEqual(f.methods(), ["sessions.patch", "chat.send"]);
      assert.deepEqual(f.requestsOf("sessions.patch")[0].params, { key: gatewaySessionKey(a), label: a.name });
      assert.deepEqual(f.requestsOf("chat.send")[0].params, {
        sessionKey: gatewaySessionKey(a),
        message: "Mission Control wake (attempt 2/3)",
        deliver: true,
        idempotencyKey: `mc-wake-${a.id}-1-2`,
      });
      // 2026.4.29 first ends the chat turn ("final") and then reports the run's error: the error is the outcome.
      assert.deepEqual(await receipt!.runOutcome, { status: "error", error: "No API key found for provider \"openai\" (test)" });
      await noOpenConnections(f);

      const plain = await start();
      const b = agent();
      await driver(plain).provision(await provisionRequest(b));
      const outcome = (await (await driver(plain).wake(wake(b)))!.runOutcome) as Extract<RunOutcome, { status: "error" }>;
      assert.equal(outcome.status, "error");
      assert.match(outcome.error, /openai/);
    });

    test("wake: a run that ends is ok; no word in time, or a closed connection, is unknown", async () => {
      const f = await start({ runtime: "checkin" });
      const a = agent();
      await driver(f).provision(await provisionRequest(a));
      assert.deepEqual(await (await driver(f).wake(wake(a)))!.runOutcome, { status: "ok" });

      f.set({ runtime: "silent" });
      const started = Date.now();
      assert.deepEqual(await (await driver(f, {}, { runWatchMs: 300 }).wake(wake(a, 2)))!.runOutcome, { status: "unknown" });
      assert.ok(Date.now() - started < 3000);
      await noOpenConnections(f);

      const receipt = await driver(f, {}, { runWatchMs: 60_000 }).wake(wake(a, 3));
      await waitFor(async () => f.openConnections() === 1, 2000, "the wake's connection kept open to hear the run's end");
      f.dropAll();
      assert.deepEqual(await receipt!.runOutcome, { status: "unknown" });
    });

    test("wake of an agent the gateway no longer has → not_found (the lifecycle provisions it again)", async () => {
      const f = await start();
      const err = await rejection(driver(f).wake(wake(agent())));
      assert.equal(err.kind, "not_found");
      assert.match(err.message, /no longer exists in configuration/);
      assert.equal(f.requestsOf("chat.send").length, 0);
    });

    test("deliveredToken reads the token section back; syncTemplates keeps it, or replaces it with a new token", async () => {
      const f = await start();
      const a = agent();
      const req = await provisionRequest(a);
      await driver(f).provision(req);
      const id = gatewayAgentId(a);
      assert.equal(await driver(f).deliveredToken(a), req.token);

      f.clearLog();
      const v2 = { ...req.files, "AGENTS.md": `${req.files["AGENTS.md"]}\nRevision two.\n`, "SOUL.md": "# Soul v2\n" };
      await driver(f).syncTemplates(a, v2);
      assert.equal(f.methods()[0], "agents.files.get", "the token is read before the files are rewritten");
      assert.deepEqual(
        f.requestsOf("agents.files.set").map((r) => r.params.name),
        Object.keys(v2).filter((n) => !REFUSED[profile].includes(n)),
      );
      assert.match(f.filesOf(id)["AGENTS.md"], /Revision two\./);
      assert.equal(f.filesOf(id)["SOUL.md"], "# Soul v2\n");
      assert.equal(tokenFromFile(f.filesOf(id)["AGENTS.md"]), req.token);

      await driver(f).syncTemplates(a, v2, { token: "mca_replacement-token" });
      assert.equal(await driver(f).deliveredToken(a), "mca_replacement-token");
      assert.equal((f.filesOf(id)["AGENTS.md"].match(/^\s*MC_AGENT_TOKEN=/gm) ?? []).length, 1, "one token line");
      assert.equal(f.filesOf(id)["AGENTS.md"].split(TOKEN_MARKER).length, 2, "one token section");

      // A file edited by hand without the section: no token; an agent the gateway lost: not_found.
      f.writeFile(id, "AGENTS.md", "# edited by hand\n");
      assert.equal(await driver(f).deliveredToken(a), null);
      assert.equal((await rejection(driver(f).deliveredToken(agent()))).kind, "not_found");
      await noOpenConnections(f);
    });

    test("deleteAgent: gone from the gateway; 'Cannot delete the main session' and 'not found' are tolerated", async () => {
      const f = await start();
      const a = agent();
      await driver(f).provision(await provisionRequest(a));
      await driver(f).wake(wake(a));
      f.clearLog();
      await driver(f).deleteAgent(a);
      assert.deepEqual(f.methods(), ["agents.delete", "sessions.delete"]);
      assert.deepEqual(f.requestsOf("agents.delete")[0].params, { agentId: gatewayAgentId(a), deleteFiles: true });
      const sessionAnswer = f.requestsOf("sessions.delete")[0].answer!;
      if (profile === "2026.9.6") assert.match(sessionAnswer.error?.message ?? "", /^Cannot delete the main session/);
      else assert.equal(sessionAnswer.ok, true);
      assert.equal(f.hasAgent(gatewayAgentId(a)), false);
      assert.deepEqual(f.filesOf(gatewayAgentId(a)), {});

      f.clearLog();
      await driver(f).deleteAgent(a); // already gone
      assert.match(f.requestsOf("agents.delete")[0].answer?.error?.message ?? "", /not found/);
      await noOpenConnections(f);
    });

    test("deleteAgent past the gateway's size guard: its settings go first (a smaller write), then the agent", async () => {
      const f = await start();
      // On a gateway with few agents, removing one with its settings would shrink the config below half its size.
      const a = agent({ name: `Agent with a longer display name ${"x".repeat(8)}` });
      await driver(f).provision(await provisionRequest(a));
      await driver(f).applyAgentSettings([a]);
      f.clearLog();
      await driver(f).deleteAgent(a);
      assert.deepEqual(f.methods(), ["agents.delete", "config.get", "config.patch", "agents.delete", "sessions.delete"]);
      const [refused, deleted] = f.requestsOf("agents.delete");
      assert.match(refused.answer?.error?.message ?? "", /^Config write rejected: .* \(size-drop:\d+->\d+\)/);
      assert.equal(deleted.answer?.ok, true);
      assert.equal(f.hasAgent(gatewayAgentId(a)), false);

      // An agent whose entry alone is more than the rest of the config: the operator is told what to run on the host.
      const big = agent({ name: `Agent ${"y".repeat(400)}` });
      await driver(f).provision(await provisionRequest(big));
      const err = await rejection(driver(f).deleteAgent(big));
      assert.equal(err.kind, "protocol");
      assert.match(err.message, new RegExp(`shrink below half its size.*openclaw agents delete ${gatewayAgentId(big)}$`));
      assert.ok(f.hasAgent(gatewayAgentId(big)));
      await noOpenConnections(f);
    });

    test("wrong gateway token → kind auth with the gateway's words, no secret in the message; nothing sent", async () => {
      const f = await start();
      const err = await rejection(driver(f, { tokenSecret: "wrong-token-123456" }).provision(await provisionRequest(agent())));
      assert.equal(err.kind, "auth");
      assert.equal(
        err.message,
        "gateway refused authentication: unauthorized: gateway token mismatch (provide gateway auth token). Check the gateway token configured for claw-test",
      );
      assertNoSecrets(err.message, "wrong-token-123456");
      assert.deepEqual(f.methods(), []);
      await noOpenConnections(f);
    });

    test("remote device: pairing required → kind auth with the request id and the approve command; once approved the device token is saved and used", async () => {
      const f = await start({ remote: true });
      const tokens = memoryTokenStore();
      const a = agent();
      const err = await rejection(driver(f, {}, { deviceTokens: tokens }).provision(await provisionRequest(a)));
      const [request] = f.pairingRequests();
      assert.equal(err.kind, "auth");
      assert.equal(err.details.pairingRequestId, request.requestId);
      assert.equal(request.deviceId, identity.deviceId);
      assert.match(err.message, new RegExp(`^device not paired: gateway claw-test has not approved .*On the gateway host run: openclaw devices approve ${request.requestId}$`));
      assert.deepEqual(f.methods(), [], "nothing provisioned before the device is approved");
      // Asking again is the same request, not a new one per attempt.
      assert.equal((await rejection(driver(f, {}, { deviceTokens: tokens }).probe())).details.pairingRequestId, request.requestId);
      assert.equal(f.pairingRequests().length, 1);

      const issued = f.approve(request.requestId);
      await driver(f, {}, { deviceTokens: tokens }).provision(await provisionRequest(a));
      assert.deepEqual(tokens.saved, [issued], "the device token of the hello is kept");
      assert.ok(f.hasAgent(gatewayAgentId(a)));

      // The next connect sends it, and it still works when the shared token has changed since.
      await driver(f, { tokenSecret: "rotated-shared-token" }, { deviceTokens: tokens }).probe();
      assert.equal(f.connectParams.at(-1)?.auth?.deviceToken, issued);
      assert.deepEqual(tokens.saved, [issued]);
      await noOpenConnections(f);
    });
  });
}

describe("openclaw driver: protocol negotiation and compatibility", () => {
  test("a gateway that speaks only protocol 5 → incompatible naming the protocol it expects; nothing provisioned", async () => {
    const f = await fake({ protocol: 5 });
    const err = await rejection(driver(f).probe());
    assert.equal(err.kind, "incompatible");
    assert.match(err.message, /^incompatible gateway: claw-test speaks OpenClaw protocol 5, Mission Control speaks 3–4 \(protocol mismatch\)$/);
    const a = agent();
    assert.equal((await rejection(driver(f).provision(await provisionRequest(a)))).kind, "incompatible");
    assert.equal((await rejection(driver(f).wake(wake(a)))).kind, "incompatible");
    assert.deepEqual(f.methods(), []);
    assert.equal(f.hasAgent(gatewayAgentId(a)), false);
    await noOpenConnections(f);
  });

  test("a protocol-3 client against 2026.9.6 is what the recording shows: PROTOCOL_MISMATCH expecting 4 → incompatible", async () => {
    const f = await fake({ profile: "2026.9.6" });
    const socket = await GatewaySocket.open(f.url, {}, 5000, new ErrorText("claw-test", f.url, () => [GATEWAY_TOKEN]));
    const answer = await handshake(socket, {
      identity,
      gatewayToken: GATEWAY_TOKEN,
      deviceToken: null,
      platform: hostPlatform(),
      timeoutMs: 5000,
      challengeWaitMs: 2000,
      protocolRange: { min: 3, max: 3 },
    });
    socket.close();
    assert.equal(answer.ok, false);
    const err = new ErrorText("claw-test", "h", () => []).connectRejected((answer as Extract<typeof answer, { ok: false }>).error);
    assert.equal(err.kind, "incompatible");
    assert.match(err.message, /speaks OpenClaw protocol 4/);
  });

  test("a hello without a required method → incompatible naming it; nothing provisioned", async () => {
    const f = await fake({ missingMethods: ["sessions.patch", "agents.files.set"] });
    const err = await rejection(driver(f).provision(await provisionRequest(agent())));
    assert.equal(err.kind, "incompatible");
    assert.match(err.message, /^incompatible gateway: claw-test \(OpenClaw 2026\.9\.6\) does not offer agents\.files\.set, sessions\.patch$/);
    assert.deepEqual(f.methods(), []);
  });

  test("a version below the minimum → incompatible; nothing provisioned or woken; the minimum is configurable", async () => {
    const f = await fake({ profile: "2026.4.29", version: "2026.3.2" });
    const err = await rejection(driver(f).probe());
    assert.equal(err.kind, "incompatible");
    assert.match(err.message, /2026\.3\.2, below the minimum 2026\.4\.29/);
    const a = agent();
    assert.equal((await rejection(driver(f).provision(await provisionRequest(a)))).kind, "incompatible");
    assert.equal((await rejection(driver(f).wake(wake(a)))).kind, "incompatible");
    assert.deepEqual(f.methods(), []);
    assert.deepEqual(await driver(f, {}, { minVersion: "2026.3.1" }).probe(), { version: "2026.3.2", protocol: 3 });
    await noOpenConnections(f);
  });

  test("CalVer parsing and the version check", () => {
    assert.deepEqual(parseCalVer("v2026.2.9-3"), { year: 2026, month: 2, day: 9, rev: 3 });
    assert.equal(parseCalVer("2026.13.1"), null);
    assert.equal(parseCalVer("dev"), null);
    assert.ok(compareCalVer(parseCalVer("2026.4.29")!, parseCalVer("2026.4.3")!) > 0);
    assert.equal(incompatibility("2026.4.29", "2026.4.29"), null);
    assert.match(incompatibility("abc", "2026.4.29") ?? "", /unsupported version format/);
    assert.match(incompatibility(null, "2026.4.29") ?? "", /unable to determine/);
  });
});

describe("openclaw driver: handshake", () => {
  test("the challenge nonce is signed (v2 payload) with the device key and verified by the gateway", async () => {
    const f = await fake();
    await driver(f).probe();
    assert.equal(f.verifiedDevices.length, 1);
    const v = f.verifiedDevices[0];
    const p = f.connectParams[0];
    assert.equal(v.deviceId, identity.deviceId);
    assert.equal(p.device?.nonce, v.nonce);
    assert.match(v.signed, new RegExp(`^v2\\|${identity.deviceId}\\|gateway-client\\|backend\\|operator\\|${OPERATOR_SCOPES.join(",")}\\|\\d+\\|${GATEWAY_TOKEN}\\|${v.nonce}$`));
    assert.equal(p.role, "operator");
    assert.deepEqual(p.scopes, [...OPERATOR_SCOPES]);
    assert.deepEqual(p.client, { id: "gateway-client", version: "1.0.0", platform: hostPlatform(), mode: "backend" });
    assert.deepEqual(p.auth, { token: GATEWAY_TOKEN });
    assert.equal(p.device?.publicKey, identity.publicKey);
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

  test("a late challenge is waited for; one that never comes → the gateway refuses the unsigned nonce (kind protocol)", async () => {
    const late = await fake({ challengeDelayMs: 400 });
    await driver(late, {}, { challengeWaitMs: 3000 }).probe();
    assert.equal(late.verifiedDevices.length, 1);

    const stalled = await fake({ profile: "2026.4.29", challengeDelayMs: null });
    const started = Date.now();
    const err = await rejection(driver(stalled, {}, { challengeWaitMs: 200 }).probe());
    assert.ok(Date.now() - started < 3000);
    assert.equal(err.kind, "protocol");
    assert.equal(err.message, "gateway rejected the connection: invalid connect params: at /device: must have required property 'nonce'");
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
});

describe("openclaw driver: failures are classified for operators", () => {
  test("refused auth → kind auth; no secret in the message", async () => {
    const f = await fake({ refuseAuth: true });
    const err = await rejection(driver(f).provision(await provisionRequest(agent())));
    assert.equal(err.kind, "auth");
    assert.match(err.message, /^gateway refused authentication: unauthorized: gateway token mismatch/);
    assertNoSecrets(err.message);
    assert.deepEqual(f.methods(), []);
    await noOpenConnections(f);
  });

  test("dropped connection → kind unreachable, at connect and in the middle of an operation", async () => {
    const f = await fake({ dropConnections: true });
    const err = await rejection(driver(f).provision(await provisionRequest(agent())));
    assert.equal(err.kind, "unreachable");
    assert.match(err.message, /^gateway unreachable: connection to 127\.0\.0\.1:\d+ closed during connect/);
    assertNoSecrets(err.message);

    const mid = await fake({ slow: { "sessions.patch": 500 } });
    const a = agent();
    await driver(mid).provision(await provisionRequest(a));
    const waking = rejection(driver(mid).wake(wake(a)));
    await waitFor(async () => mid.requestsOf("sessions.patch").length > 0, 2000, "sessions.patch sent");
    mid.dropAll();
    const err2 = await waking;
    assert.equal(err2.kind, "unreachable");
    assert.match(err2.message, /^gateway unreachable: connection to 127\.0\.0\.1:\d+ closed during sessions\.patch \(code 1012: service restart, the gateway is restarting\)$/);
    assert.equal(mid.requestsOf("chat.send").length, 0);
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

  test("slow answers → kind timeout after the call timeout, no socket left behind", async () => {
    const f = await fake({ slow: { connect: 1500 } });
    const started = Date.now();
    const err = await rejection(driver(f, {}, { callTimeoutMs: 300 }).provision(await provisionRequest(agent())));
    assert.equal(err.kind, "timeout");
    assert.match(err.message, /^gateway unreachable: connect on 127\.0\.0\.1:\d+ timed out after 0\.3s$/);
    assert.ok(Date.now() - started < 1400, "the driver did not wait for the slow answer");
    await noOpenConnections(f);

    const g = await fake();
    const a = agent();
    await driver(g).provision(await provisionRequest(a));
    g.set({ slow: { "sessions.patch": 1000 } });
    const err2 = await rejection(driver(g, {}, { callTimeoutMs: 300 }).wake(wake(a)));
    assert.equal(err2.kind, "timeout");
    assert.match(err2.message, /sessions\.patch on .* timed out after 0\.3s/);
    assert.equal(g.requestsOf("chat.send").length, 0);
    await noOpenConnections(g);
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
    const f = await fake({ tls });
    assert.match(f.url, /^wss:\/\//);
    const err = await rejection(driver(f).probe());
    assert.equal(err.kind, "unreachable");
    assert.match(err.message, /^gateway unreachable: the TLS certificate of 127\.0\.0\.1:\d+ is not trusted .*allow self-signed certificate/);
    assert.equal(f.connectParams.length, 0);

    const insecure = driver(f, { allowInsecureTls: true });
    assert.equal((await insecure.probe()).version, "2026.9.6");
    const a = agent();
    await insecure.provision(await provisionRequest(a));
    assert.ok(f.hasAgent(gatewayAgentId(a)));
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
  let healthyId: string;
  before(async () => {
    // Agents named "silent…" have a run that fails (no model provider); the others follow their AGENTS.md.
    f = await fake({ profile: "2026.9.6", runtime: (a) => (a.name.startsWith("silent") ? "fail" : "checkin") });
    h = await startHarness();
    gatewayId = await h.gateway({ driver: "openclaw", url: f.url, token: GATEWAY_TOKEN });
  });
  after(async () => {
    await h.stop();
  });

  const agentRow = (id: string) => h.app.db.agent.findUniqueOrThrow({ where: { id } });
  const statusIs = (id: string, status: string) => async () => {
    const a = await agentRow(id);
    return a.status === status ? a : null;
  };

  test("provisioned over the WebSocket, woken with chat.send, follows its AGENTS.md → online, and keeps checking in", async () => {
    healthyId = await h.agent(gatewayId, "healthy", "healthy-claw");
    await waitFor(statusIs(healthyId, "online"), 15_000, "openclaw agent online");
    // The fake records the check-in once Mission Control has answered it.
    const sent = await waitFor(async () => {
      const all = f.heartbeats.filter((x) => x.agentId === `mc-${healthyId}`);
      return all.length > 0 ? all : null;
    }, 2000, "the agent's check-in recorded");
    assert.ok(sent.every((x) => x.status === 200), JSON.stringify(sent));
    assert.equal(sent[0].url, `${h.baseUrl}/api/agent/heartbeat`);
    const events = await eventsOf(h.app, healthyId);
    assert.ok(events.includes("lifecycle.provision.succeeded"), events.join(","));
    assert.ok(events.includes("lifecycle.wake.sent"));
    // The token the agent followed is in no event.
    const stored = await h.app.db.lifecycleEvent.findMany({ where: { agentId: healthyId }, select: { message: true, data: true } });
    assert.ok(!JSON.stringify(stored).includes(sent[0].token!));
    // The handshakes were signed with the identity from the database.
    const deviceId = (await loadOrCreateDeviceIdentity(h.app.db)).deviceId;
    assert.ok(f.verifiedDevices.length > 0 && f.verifiedDevices.every((v) => v.deviceId === deviceId));
    // OpenClaw's heartbeat turn (its config entry, written by the gateway-settings job) keeps the agent checking in.
    await waitFor(async () => (f.agentEntry(`mc-${healthyId}`)?.heartbeat as { every?: string } | undefined)?.every === "1s", 10_000, "heartbeat settings on the gateway");
    const before = f.heartbeats.filter((x) => x.agentId === `mc-${healthyId}`).length;
    await waitFor(async () => f.heartbeats.filter((x) => x.agentId === `mc-${healthyId}` && x.status === 200).length >= before + 2, 10_000, "heartbeat turns");
    assert.equal((await agentRow(healthyId)).status, "online");
  });

  test("an agent whose run fails → offline after the configured wakes, with the gateway's words as the cause and on each attempt", async () => {
    const id = await h.agent(gatewayId, "silent", "silent-claw");
    const offline = await waitFor(statusIs(id, "offline"), 20_000, "silent openclaw agent offline");
    assert.equal(offline.statusReason, "max_wake_attempts");
    const withCause = await waitFor(async () => {
      const a = await agentRow(id);
      return /agent run failed on the gateway: No route-compatible authentication source is configured for openai/.test(a.lastProvisionError ?? "") ? a : null;
    }, 5000, "the run failure named");
    assert.match(withCause.lastProvisionError!, /No check-in after 3 wakes/);
    assert.equal(f.requestsOf("chat.send").filter((r) => r.params.sessionKey === gatewaySessionKey({ id })).length, 3);
    const attempts = await h.app.db.wakeAttempt.findMany({ where: { agentId: id }, orderBy: { attempt: "asc" } });
    assert.deepEqual(attempts.map((a) => a.outcome), ["expired", "expired", "expired"]);
    assert.ok(attempts.every((a) => a.runError === "No route-compatible authentication source is configured for openai"), JSON.stringify(attempts));
    assert.equal(f.heartbeats.filter((x) => x.agentId === `mc-${id}`).length, 0);
  });

  test("template sync: a token that drifted in AGENTS.md is replaced (tokenRepaired) and the new one works", async () => {
    const waitRun = async (runId: string) =>
      waitFor(async () => {
        const run = await h.app.db.templateSyncRun.findUniqueOrThrow({ where: { id: runId }, include: { results: true } });
        return run.status === "running" ? null : run;
      }, 20_000, "sync run finished");
    const resultOf = (run: Awaited<ReturnType<typeof waitRun>>) => run.results.find((r) => r.agentId === healthyId)!;
    const gwAgent = `mc-${healthyId}`;

    const current = await waitRun((await startTemplateSync(h.app.db, h.app.boss, { gatewayId, wake: false, actor: "test" })).runId);
    assert.deepEqual([resultOf(current).ok, resultOf(current).tokenRepaired], [true, false], JSON.stringify(current.results));
    const before = checkInInstructions(f.filesOf(gwAgent)["AGENTS.md"])!;

    // Someone edits the file on the gateway host: the token in it is no longer Mission Control's.
    f.writeFile(gwAgent, "AGENTS.md", f.filesOf(gwAgent)["AGENTS.md"].replace(`MC_AGENT_TOKEN=${before.token}`, "MC_AGENT_TOKEN=mca_edited-by-hand"));
    const repaired = await waitRun((await startTemplateSync(h.app.db, h.app.boss, { gatewayId, wake: false, actor: "test" })).runId);
    assert.deepEqual([resultOf(repaired).ok, resultOf(repaired).tokenRepaired], [true, true], JSON.stringify(repaired.results));
    const after = checkInInstructions(f.filesOf(gwAgent)["AGENTS.md"])!;
    assert.notEqual(after.token, before.token);
    assert.notEqual(after.token, "mca_edited-by-hand");
    assert.equal((await followCheckIn(after)).status, 200);
    assert.equal((await followCheckIn({ ...after, token: "mca_edited-by-hand" })).status, 401);
  });

  test("gateway-settings job: a board's agents in one config.patch; a rate limit reschedules it and fails no attempt", async () => {
    // 2026.4.29 allows 3 config writes per device and address (a short window here), and they are spent already.
    const limited = await fake({ profile: "2026.4.29", runtime: "checkin", rateLimitWindowMs: 3000 });
    const gw = await h.gateway({ driver: "openclaw", url: limited.url, token: GATEWAY_TOKEN });
    await spendConfigWrites(limited, await loadOrCreateDeviceIdentity(h.app.db));
    const board = await h.app.db.board.create({ data: { name: "busy-board", gatewayId: gw } });
    const ids: string[] = [];
    for (const [i, kind] of (["board_lead", "board_worker", "board_worker"] as const).entries()) {
      ids.push((await h.app.lifecycle.createAgent({ gatewayId: gw, boardId: board.id, name: `busy-${i}`, kind }, "test")).id);
    }
    for (const id of ids) {
      const online = await waitFor(statusIs(id, "online"), 15_000, `agent ${id} online`);
      assert.equal(online.lastProvisionError, null, "a rate-limited config write is not a failed attempt");
    }
    await waitFor(async () => (ids.every((id) => limited.agentEntry(`mc-${id}`)?.heartbeat) ? true : null), 20_000, "the board's settings written");
    const patches = limited.requestsOf("config.patch").filter((r) => String(r.params.raw).includes("heartbeat"));
    assert.ok(patches.some((r) => r.answer?.error?.code === "UNAVAILABLE"), "the gateway did rate-limit the settings write");
    const written = patches.filter((r) => r.answer?.ok);
    assert.equal(written.length, 1, `one write for the whole board: ${JSON.stringify(patches.map((p) => p.answer))}`);
    const list = JSON.parse(String(written[0].params.raw)).agents.list as { id: string; heartbeat?: unknown }[];
    assert.deepEqual(list.filter((e) => e.heartbeat).map((e) => e.id).sort(), ids.map((id) => `mc-${id}`).sort());
    const attempts = await h.app.db.wakeAttempt.findMany({ where: { agentId: { in: ids } } });
    assert.ok(attempts.every((a) => a.outcome !== "rpc_failed"), JSON.stringify(attempts));
  });

  test("a remote gateway: the probe records the pairing request and the approve command; once approved it is reachable with a sealed device token", async () => {
    const remote = await fake({ remote: true });
    const gw = await h.gateway({ driver: "openclaw", url: remote.url, token: GATEWAY_TOKEN });
    const deps = { db: h.app.db, events: h.app.events, drivers: h.app.drivers, logger: h.app.logger };
    const pending = await probeGateway(deps, gw);
    assert.equal(pending?.to, "unreachable");
    const [request] = remote.pairingRequests();
    const row = await h.app.db.gateway.findUniqueOrThrow({ where: { id: gw } });
    assert.equal(row.pairingRequestId, request.requestId);
    assert.ok(row.lastError?.endsWith(`openclaw devices approve ${request.requestId}`), row.lastError ?? "");

    const issued = remote.approve(request.requestId);
    assert.equal((await probeGateway(deps, gw))?.to, "reachable");
    const approved = await h.app.db.gateway.findUniqueOrThrow({ where: { id: gw } });
    assert.equal(approved.pairingRequestId, null);
    assert.notEqual(approved.deviceTokenSecret, issued, "sealed, never stored in clear");
    assert.equal(openSecret(approved.deviceTokenSecret), issued);
    await probeGateway(deps, gw);
    assert.equal(remote.connectParams.at(-1)?.auth?.deviceToken, issued, "the next connect presents the device token");
  });
});
