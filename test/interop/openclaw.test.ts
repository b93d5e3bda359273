// Mission Control against real OpenClaw gateways (the releases of OPENCLAW_TESTED_VERSIONS, installed from the npm
// registry by openclaw-runtime.ts), through the operator API exactly as a user drives it: add the gateway, watch an
// agent get provisioned and woken, play the agent by following the files the gateway wrote into its workspace, sync
// templates, rotate the token, let a silent agent run out of wakes, create a board's agents one after another while
// the gateway rate-limits config writes, delete, and pair from a remote address. Every frame goes through a recording
// proxy; the recordings are written to test-results/ for inspection.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { createApiToken, createOperator, ok } from "../support/trpc-http";
import { loadOrCreateDeviceIdentity } from "../../server/drivers/openclaw/device-identity";
import { GatewaySocket, handshake } from "../../server/drivers/openclaw/connection";
import { ErrorText } from "../../server/drivers/openclaw/errors";
import { TEMPLATE_REVISION } from "../../server/templates/render";
import { TOKEN_MARKER } from "../../server/drivers/openclaw/token-file";
import { OPENCLAW_TESTED_VERSIONS, nonLoopbackAddress, startRealGateway, type RealGateway } from "./openclaw-runtime";
import { startWsRecorder, type WsRecorder } from "./ws-recorder";
import { checkInInstructions, followCheckIn, readWorkspaceFile } from "./agent-files";
import { runOpenClawScenario, type Recording } from "../contract/openclaw-scenario";

const DEADLINE_SECONDS = 20;
const MAX_WAKES = 2;

interface AgentRow {
  id: string;
  name: string;
  status: string;
  lastProvisionError: string | null;
  templateRevision: string | null;
  lifecycleGeneration: number;
}

for (const version of OPENCLAW_TESTED_VERSIONS) {
  describe(`real OpenClaw ${version}`, { concurrency: false }, () => {
    let gw: RealGateway;
    let rec: WsRecorder;
    let h: Harness;
    let admin: string;
    let gatewayId: string;
    let mainId: string;

    const api = <T = unknown>(procedure: string, input: unknown) => ok<T>(h.baseUrl, procedure, input, { token: admin });
    const agentRow = (id: string) => h.app.db.agent.findUniqueOrThrow({ where: { id } }) as Promise<AgentRow>;
    const statusIs = (id: string, status: string) => async () => {
      const a = await agentRow(id);
      return a.status === status ? a : null;
    };
    const workspace = (id: string) => gw.workspaceOf(`mc-${id}`);
    const agentsMd = (id: string) => readWorkspaceFile(workspace(id), "AGENTS.md");
    const gatewayConfig = () => JSON.parse(fs.readFileSync(path.join(gw.stateDir, "openclaw.json"), "utf8"));
    const configEntry = (id: string): Record<string, unknown> | undefined => {
      const agents = gatewayConfig().agents ?? {};
      return agents.entries?.[`mc-${id}`] ?? (agents.list ?? []).find((e: { id?: string }) => e.id === `mc-${id}`);
    };

    before(async () => {
      gw = await startRealGateway({ version, bind: "lan" });
      rec = await startWsRecorder(gw.url);
      h = await startHarness({
        env: {
          CHECKIN_DEADLINE_SECONDS: String(DEADLINE_SECONDS),
          MAX_WAKE_ATTEMPTS: String(MAX_WAKES),
          HEARTBEAT_INTERVAL_SECONDS: "60",
          GATEWAY_PROBE_SECONDS: "600",
        },
      });
      const operator = await createOperator(h.app, "admin");
      admin = await createApiToken(h.app, operator.id, "admin");
    });

    after(async () => {
      await h?.stop();
      if (rec) {
        fs.mkdirSync("test-results", { recursive: true });
        fs.writeFileSync(`test-results/openclaw-${version}-frames.json`, JSON.stringify(rec.frames, null, 1));
        await rec.close();
      }
      if (gw) fs.writeFileSync(`test-results/openclaw-${version}-gateway.log`, gw.output());
      await gw?.stop();
    });

    test("gateways.create: the gateway is reachable, with its version and the protocol its hello chose", async () => {
      const created = await api<{ id: string }>("gateways.create", { name: `openclaw-${version}`, driver: "openclaw", url: rec.url, token: gw.token });
      gatewayId = created.id;
      const reachable = await waitFor(async () => {
        const g = await api<{ status: string; runtimeVersion: string | null; protocolVersion: number | null; lastError: string | null }>("gateways.get", { id: gatewayId });
        return g.status === "reachable" ? g : g.status === "unknown" ? null : assert.fail(`gateway ${g.status}: ${g.lastError}`);
      }, 30_000, "gateway reachable");
      assert.equal(reachable.runtimeVersion, version);
      const connect = rec.exchanges("connect").find((x) => x.response?.ok);
      assert.ok(connect, "a connect was accepted");
      const hello = connect.response!.payload as { protocol: number };
      assert.equal(reachable.protocolVersion, hello.protocol);
      assert.deepEqual([(connect.request.params as { minProtocol: number }).minProtocol, (connect.request.params as { maxProtocol: number }).maxProtocol], [3, 4]);
      // The gateway token never reaches a read API.
      assert.ok(!JSON.stringify(await api("gateways.get", { id: gatewayId })).includes(gw.token));
    });

    test("its main agent is provisioned: the files are on disk in its workspace, with the check-in and the token", async () => {
      mainId = (await h.app.db.agent.findFirstOrThrow({ where: { gatewayId, kind: "gateway_main" } })).id;
      const waking = await waitFor(statusIs(mainId, "waking"), 30_000, "main agent woken");
      // Provisioned without an error. The woken run itself may already have failed (these gateways have no model
      // provider), which is reported as such and is not a provisioning error; which comes first is a race.
      assert.equal(waking.lastProvisionError?.startsWith("agent run failed on the gateway") ? null : waking.lastProvisionError, null);
      assert.equal(await h.app.db.lifecycleEvent.count({ where: { agentId: mainId, event: "lifecycle.provision.failed" } }), 0);
      const md = agentsMd(mainId);
      assert.ok(md, `AGENTS.md in ${workspace(mainId)}`);
      assert.match(md, /## Check in with Mission Control/);
      assert.ok(md.includes(TOKEN_MARKER));
      const instructions = checkInInstructions(md);
      assert.ok(instructions, "AGENTS.md says how to check in");
      assert.equal(instructions.url, `${h.baseUrl}/api/agent/heartbeat`);
      // Every file the gateway accepted landed byte for byte; the ones it refused were not sent again.
      for (const { request, response } of rec.exchanges("agents.files.set")) {
        const params = request.params as { agentId: string; name: string; content: string };
        if (params.agentId !== `mc-${mainId}`) continue;
        if (response?.ok) assert.equal(readWorkspaceFile(workspace(mainId), params.name), params.content, params.name);
        else assert.match(String((response?.error as { message?: string })?.message), /unsupported file/, params.name);
      }
      // The token is in no log line, event or API answer.
      const events = await h.app.db.lifecycleEvent.findMany({ where: { agentId: mainId }, select: { message: true, data: true } });
      assert.ok(!JSON.stringify(events).includes(instructions.token));
      assert.ok(!JSON.stringify(await api("agents.get", { id: mainId })).includes(instructions.token));
    });

    test("the agent follows AGENTS.md literally and is online", async () => {
      const instructions = checkInInstructions(agentsMd(mainId)!)!;
      const answer = await followCheckIn(instructions);
      assert.equal(answer.status, 200, answer.body);
      const online = await waitFor(statusIs(mainId, "online"), 10_000, "main agent online");
      assert.equal(online.lastProvisionError, null);
      const view = await api<{ status: string; wakeAttempts: number }>("agents.get", { id: mainId });
      assert.equal(view.status, "online");
    });

    test("its heartbeat settings reach the gateway config in one write (agents.entries or agents.list, as the gateway keeps them)", async () => {
      const entry = await waitFor(async () => {
        const e = configEntry(mainId) as { heartbeat?: { every?: string; prompt?: string } } | undefined;
        return e?.heartbeat?.every ? e : null;
      }, 30_000, "heartbeat settings in the gateway config");
      assert.equal(entry.heartbeat!.every, "1m");
      assert.match(entry.heartbeat!.prompt!, /Check in with Mission Control/);
      const patches = await waitFor(async () => {
        const all = rec.exchanges("config.patch");
        return all.length > 0 && all.every((x) => x.response) ? all : null;
      }, 5000, "the gateway's answer to the config write");
      for (const { request, response } of patches) {
        assert.ok((request.params as { baseHash?: string }).baseHash, "every patch carries the config's hash");
        assert.ok(response!.ok || /rate limit|changed since/.test(JSON.stringify(response!.error)), JSON.stringify(response!.error));
      }
    });

    test("template sync reports the agent current; a token that drifted in its file is replaced and works", async () => {
      const waitRun = async (runId: string) =>
        waitFor(async () => {
          const run = await h.app.db.templateSyncRun.findUniqueOrThrow({ where: { id: runId }, include: { results: true } });
          return run.status === "running" ? null : run;
        }, 30_000, "sync run finished");
      const first = await waitRun((await api<{ runId: string }>("gateways.syncTemplates", { id: gatewayId })).runId);
      assert.equal(first.status, "succeeded", JSON.stringify(first.results));
      assert.ok(first.results.every((r) => r.ok && !r.tokenRepaired), JSON.stringify(first.results));
      assert.equal((await agentRow(mainId)).templateRevision, TEMPLATE_REVISION);
      const before = checkInInstructions(agentsMd(mainId)!)!;

      // Someone edits the agent's file on the gateway host: the token in it no longer is Mission Control's.
      const file = path.join(workspace(mainId), "AGENTS.md");
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(`MC_AGENT_TOKEN=${before.token}`, "MC_AGENT_TOKEN=mca_edited-by-hand"));
      const second = await waitRun((await api<{ runId: string }>("gateways.syncTemplates", { id: gatewayId })).runId);
      assert.equal(second.status, "succeeded", JSON.stringify(second.results));
      assert.ok(second.results.some((r) => r.agentId === mainId && r.tokenRepaired), JSON.stringify(second.results));
      const after = checkInInstructions(agentsMd(mainId)!)!;
      assert.notEqual(after.token, before.token);
      assert.equal((await followCheckIn(after)).status, 200);
      assert.equal((await agentRow(mainId)).status, "online");
    });

    test("Rotate token rewrites the file; following it checks in with the new token", async () => {
      const before = checkInInstructions(agentsMd(mainId)!)!;
      const generation = (await agentRow(mainId)).lifecycleGeneration;
      await api("agents.rotateToken", { id: mainId });
      await waitFor(async () => {
        const a = await agentRow(mainId);
        return a.lifecycleGeneration > generation && a.status === "waking" ? a : null;
      }, 30_000, "rotation cycle woke the agent");
      const after = checkInInstructions(agentsMd(mainId)!)!;
      assert.notEqual(after.token, before.token);
      assert.equal((await followCheckIn(after)).status, 200);
      await waitFor(statusIs(mainId, "online"), 10_000, "online with the new token");
    });

    describe("at the same time", { concurrency: true }, () => {
      test(`an agent that never checks in is offline after ${MAX_WAKES} wakes, with the cause the gateway reported`, async () => {
        const board = await api<{ id: string }>("boards.create", { name: "silent-board", gatewayId });
        const lead = (await h.app.db.agent.findFirstOrThrow({ where: { boardId: board.id, kind: "board_lead" } })) as AgentRow;
        const offline = await waitFor(statusIs(lead.id, "offline"), (MAX_WAKES * DEADLINE_SECONDS + 30) * 1000, "silent agent offline");
        assert.match(offline.lastProvisionError ?? "", new RegExp(`No check-in after ${MAX_WAKES} wakes`));
        // The gateway's own words: its run could not start (no model provider is configured on the test gateway).
        const withCause = await waitFor(async () => {
          const a = await agentRow(lead.id);
          return /agent run failed on the gateway: .+/.test(a.lastProvisionError ?? "") ? a : null;
        }, 45_000, "the run failure recorded");
        assert.match(withCause.lastProvisionError!, /auth|API key|provider/i);
        const attempts = await h.app.db.wakeAttempt.findMany({ where: { agentId: lead.id } });
        assert.ok(attempts.some((a) => a.runError), JSON.stringify(attempts));
        // A board lead also gets BOOTSTRAP.md (the gateway may remove it from the workspace once a run started).
        const bootstrap = rec.exchanges("agents.files.set").filter((x) => (x.request.params as { agentId: string; name: string }).agentId === `mc-${lead.id}`);
        assert.ok(bootstrap.some((x) => (x.request.params as { name: string }).name === "BOOTSTRAP.md" && x.response?.ok), "BOOTSTRAP.md written");
      });

      test("a board's agents created one after another while config writes are rate-limited: all provisioned, settings written once allowed", async () => {
        // Use up Mission Control's config-write budget on this gateway (the budget is per device and address).
        await exhaustConfigWrites(h, rec.url, gw.token);
        const board = await api<{ id: string }>("boards.create", { name: "busy-board", gatewayId });
        const workers: string[] = [];
        for (let i = 1; i <= 3; i++) {
          workers.push((await api<{ id: string }>("agents.create", { gatewayId, boardId: board.id, name: `worker-${i}`, kind: "board_worker" })).id);
        }
        const lead = await h.app.db.agent.findFirstOrThrow({ where: { boardId: board.id, kind: "board_lead" } });
        const ids = [lead.id, ...workers];
        for (const id of ids) {
          const waking = await waitFor(statusIs(id, "waking"), 30_000, `agent ${id} woken`);
          assert.equal(waking.lastProvisionError, null, "a rate-limited config write is not a failed attempt");
          assert.ok(checkInInstructions(agentsMd(id) ?? ""), `files of ${id} on disk`);
        }
        for (const id of ids) assert.equal((await followCheckIn(checkInInstructions(agentsMd(id)!)!)).status, 200);
        for (const id of ids) await waitFor(statusIs(id, "online"), 10_000, `agent ${id} online`);
        // The settings of the whole board land in a write the gateway allows (after its retry hint).
        await waitFor(async () => (ids.every((id) => (configEntry(id) as { heartbeat?: unknown } | undefined)?.heartbeat) ? true : null), 100_000, "board settings written");
        const limited = rec.exchanges("config.patch").filter((x) => /rate limit/.test(JSON.stringify(x.response?.error)));
        assert.ok(limited.length >= 1, "the gateway did rate-limit");
      });
    });

    test("Delete removes the agent from the gateway", async () => {
      const board = await h.app.db.board.findFirstOrThrow({ where: { gatewayId, name: "busy-board" } });
      const worker = await h.app.db.agent.findFirstOrThrow({ where: { boardId: board.id, name: "worker-3" } });
      await api("agents.delete", { id: worker.id });
      await waitFor(async () => ((await h.app.db.agent.findUnique({ where: { id: worker.id } })) ? null : true), 20_000, "agent row gone");
      await waitFor(async () => (configEntry(worker.id) ? null : true), 10_000, "agent gone from the gateway config");
      const deletes = rec.exchanges("agents.delete").filter((x) => (x.request.params as { agentId: string }).agentId === `mc-${worker.id}`);
      assert.ok(deletes.some((x) => x.response?.ok), JSON.stringify(deletes));
    });

    test("the exchanges Mission Control relies on are as recorded for this release (the fake is checked against the same recording)", async () => {
      const file = path.join("test", "contract", "recordings", `openclaw-${version}.json`);
      const steps = await runOpenClawScenario({ url: gw.url, token: gw.token });
      if (process.env.OPENCLAW_RECORD === "1") {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, `${JSON.stringify({ version, steps } satisfies Recording, null, 2)}\n`);
      }
      const recorded = JSON.parse(fs.readFileSync(file, "utf8")) as Recording;
      assert.deepEqual(steps, recorded.steps, `OpenClaw ${version} no longer answers as recorded in ${file} (re-record with OPENCLAW_RECORD=1 after checking the driver)`);
    });

    test("from a remote address the device must be approved: the gateway page shows the command; once approved it connects and keeps its device token", async () => {
      const address = nonLoopbackAddress();
      assert.ok(address, "this machine needs a non-loopback IPv4 address for the pairing test");
      const remote = await api<{ id: string }>("gateways.create", { name: `remote-${version}`, driver: "openclaw", url: `ws://${address}:${gw.port}`, token: gw.token });
      const pending = await waitFor(async () => {
        const g = await api<{ status: string; lastError: string | null; pairingRequestId: string | null }>("gateways.get", { id: remote.id });
        return g.pairingRequestId ? g : null;
      }, 30_000, "pairing request recorded");
      assert.equal(pending.status, "unreachable");
      assert.ok(pending.lastError!.includes(`openclaw devices approve ${pending.pairingRequestId}`), pending.lastError!);
      const approvedBy = await gw.approveDevice(pending.pairingRequestId!);
      assert.equal(approvedBy, version === "2026.4.29" ? "admin-session" : "cli");
      const probed = await api<{ status: string; pairingRequestId: string | null; lastError: string | null }>("gateways.probe", { id: remote.id });
      assert.equal(probed.status, "reachable", probed.lastError ?? "");
      assert.equal(probed.pairingRequestId, null);
      const row = await h.app.db.gateway.findUniqueOrThrow({ where: { id: remote.id } });
      assert.ok(row.deviceTokenSecret, "the device token the gateway issued is kept (sealed)");
      assert.ok(!JSON.stringify(await api("gateways.get", { id: remote.id })).includes("deviceToken"));
    });
  });
}

/** Sends config writes the gateway refuses until it answers with its rate limit, as Mission Control's own device. */
async function exhaustConfigWrites(h: Harness, url: string, token: string): Promise<void> {
  const identity = await loadOrCreateDeviceIdentity(h.app.db);
  const errors = new ErrorText("interop", url, () => [token]);
  const socket = await GatewaySocket.open(url, {}, 5000, errors);
  try {
    const answer = await handshake(socket, { identity, gatewayToken: token, deviceToken: null, platform: "linux", timeoutMs: 5000, challengeWaitMs: 2000 });
    assert.ok(answer.ok, JSON.stringify(answer));
    for (let i = 0; i < 100; i++) {
      const res = await socket.request("config.patch", { raw: "{}", baseHash: "stale" }, 5000);
      if (!res.ok && /rate limit/i.test(res.error?.message ?? "")) return;
    }
    assert.fail("the gateway never rate-limited config.patch");
  } finally {
    socket.close();
  }
}
