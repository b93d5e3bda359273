// The OpenClaw exchanges Mission Control relies on, as one scenario that runs against any gateway (a real one in the
// interop suite, the fake in the fast tests). Each step records what Mission Control reads from the answer, normalised
// (ids, hashes, paths and timings replaced by placeholders), so that a recording of a real gateway can be compared
// with what the fake answers. A disagreement on any step is a test failure: the fake has to follow reality.
//
// Recordings of the real releases live in test/contract/recordings/<version>.json. The interop suite compares every
// real gateway with its recording (and rewrites it when run with OPENCLAW_RECORD=1).
import { randomUUID } from "node:crypto";
import { generateDeviceIdentity, type DeviceIdentity } from "../../server/drivers/openclaw/device-identity";
import { GatewaySocket, handshake } from "../../server/drivers/openclaw/connection";
import { ErrorText } from "../../server/drivers/openclaw/errors";
import { REQUIRED_METHODS, parseCalVer, type EventFrame, type GatewayErrorShape, type ResponseFrame } from "../../server/drivers/openclaw/protocol";

export type Observation = Record<string, unknown>;

export interface Recording {
  /** The gateway release the recording was made with. */
  version: string;
  steps: { step: string; observed: Observation }[];
}

const TEMPLATE_FILES = ["AGENTS.md", "HEARTBEAT.md", "TOOLS.md", "IDENTITY.md", "SOUL.md", "USER.md", "MEMORY.md", "BOOTSTRAP.md"];
const TIMEOUT_MS = 15_000;

export interface ScenarioTarget {
  url: string;
  token: string;
}

class Placeholders {
  private readonly map = new Map<string, string>();
  add(value: string, name: string): void {
    if (value) this.map.set(value, name);
  }
  apply(text: string): string {
    let out = text;
    // Longest first: an agent id is part of its workspace path.
    for (const [value, name] of [...this.map].sort((a, b) => b[0].length - a[0].length)) out = out.split(value).join(name);
    return out
      .replace(/retry after \d+s/g, "retry after <n>s")
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
      .replace(/\/[^\s"']*\/\.openclaw\//g, "<state>/");
  }
}

function errorOf(res: ResponseFrame, names: Placeholders): Observation {
  const error: GatewayErrorShape = res.error ?? {};
  const details = (error.details ?? {}) as Record<string, unknown>;
  return {
    ok: false,
    code: error.code ?? null,
    message: names.apply(error.message ?? ""),
    ...(typeof details.code === "string" ? { detailCode: details.code } : {}),
    ...(typeof details.expectedProtocol === "number" ? { expectedProtocol: details.expectedProtocol } : {}),
    ...(error.retryable !== undefined ? { retryable: error.retryable } : {}),
    ...(typeof error.retryAfterMs === "number" ? { retryAfterMs: "<ms>" } : {}),
  };
}

/** Runs the scenario and returns what every step observed. */
export async function runOpenClawScenario(target: ScenarioTarget): Promise<Recording["steps"]> {
  const steps: Recording["steps"] = [];
  const names = new Placeholders();
  const record = (step: string, observed: Observation) => steps.push({ step, observed });
  const errors = new ErrorText("scenario", target.url, () => [target.token]);
  const suffix = randomUUID().slice(0, 8);
  const agentId = `mc-scenario-${suffix}`;
  const missingId = `mc-missing-${suffix}`;
  names.add(agentId, "<agent>");
  names.add(missingId, "<missing>");
  names.add(target.token, "<gateway-token>");

  const connect = async (opts: { identity: DeviceIdentity; token?: string; min?: number; max?: number }) => {
    const socket = await GatewaySocket.open(target.url, {}, TIMEOUT_MS, errors);
    const answer = await handshake(socket, {
      identity: opts.identity,
      gatewayToken: opts.token ?? null,
      deviceToken: null,
      platform: "linux",
      timeoutMs: TIMEOUT_MS,
      challengeWaitMs: TIMEOUT_MS,
      protocolRange: opts.min !== undefined ? { min: opts.min, max: opts.max ?? opts.min } : undefined,
    });
    const result = answer.ok
      ? { ok: true as const, protocol: answer.hello.protocol, hello: answer.raw as HelloView }
      : { ok: false as const, res: { type: "res" as const, id: "connect", ok: false, error: answer.error } };
    return { socket, result, challenge: answer.challenged };
  };

  // 1. Protocol negotiation: a client that speaks only 3, and wrong credentials.
  {
    const { socket, result } = await connect({ identity: generateDeviceIdentity(), token: target.token, min: 3, max: 3 });
    record("connect offering protocol 3 only", result.ok ? { ok: true, protocol: result.protocol } : errorOf(result.res, names));
    socket.close();
  }
  {
    const { socket, result } = await connect({ identity: generateDeviceIdentity(), token: `${target.token}-wrong` });
    record("connect with a wrong gateway token", result.ok ? { ok: true } : errorOf(result.res, names));
    socket.close();
  }

  // 2. The connection everything else runs on.
  const identity = generateDeviceIdentity();
  const { socket, result, challenge } = await connect({ identity, token: target.token });
  if (!result.ok) throw new Error(`scenario connect refused: ${JSON.stringify(result.res.error)}`);
  const hello = result.hello;
  names.add(String(hello.snapshot?.stateDir ?? "\u0000"), "<state-dir>");
  record("hello", {
    ok: true,
    challengeWithNonce: challenge,
    protocol: hello.protocol,
    versionIsCalVer: parseCalVer(hello.server?.version ?? null) !== null,
    advertisesRequiredMethods: Array.isArray(hello.features?.methods) && REQUIRED_METHODS.every((m) => hello.features!.methods!.includes(m)),
    stateDir: typeof hello.snapshot?.stateDir === "string",
    authScopes: [...(hello.auth?.scopes ?? [])].sort(),
  });
  const events: EventFrame[] = [];
  socket.onEvent((frame) => events.push(frame));
  const request = (method: string, params: unknown) => socket.request(method, params, TIMEOUT_MS);
  const answer = (res: ResponseFrame, okView: (payload: Record<string, unknown>) => Observation = () => ({})) =>
    res.ok ? { ok: true, ...okView((res.payload ?? {}) as Record<string, unknown>) } : errorOf(res, names);

  try {
    const workspace = `${hello.snapshot?.stateDir ?? "~/.openclaw"}/workspace-${agentId}`;
    record("agents.create", answer(await request("agents.create", { name: agentId, workspace }), (p) => ({ agentId: names.apply(String(p.agentId)), workspace: names.apply(String(p.workspace)) })));
    record("agents.create again", answer(await request("agents.create", { name: agentId, workspace })));
    // Right after a create the gateway may still say "not found" for a moment: what is recorded is where it settles.
    let update = await request("agents.update", { agentId, name: "Scenario agent", workspace });
    for (let i = 0; i < 30 && !update.ok && /not found/.test(update.error?.message ?? ""); i++) {
      await new Promise((r) => setTimeout(r, 100));
      update = await request("agents.update", { agentId, name: "Scenario agent", workspace });
    }
    record("agents.update", answer(update));
    record("agents.update of an unknown agent", answer(await request("agents.update", { agentId: missingId, name: "x" })));

    for (const name of TEMPLATE_FILES) {
      record(`agents.files.set ${name}`, answer(await request("agents.files.set", { agentId, name, content: `# ${name}\n\nscenario ${suffix}\n` })));
    }
    record(
      "agents.files.get AGENTS.md",
      answer(await request("agents.files.get", { agentId, name: "AGENTS.md" }), (p) => {
        const file = (p.file ?? p) as { content?: unknown };
        return { contentAsWritten: file.content === `# AGENTS.md\n\nscenario ${suffix}\n` };
      }),
    );
    record("agents.files.get of an unknown agent", answer(await request("agents.files.get", { agentId: missingId, name: "AGENTS.md" })));

    const config = await request("config.get", {});
    const snapshot = (config.payload ?? {}) as { hash?: unknown; config?: { agents?: Record<string, unknown> } };
    const agents = snapshot.config?.agents ?? {};
    const shape = agents.entries && typeof agents.entries === "object" ? "entries" : Array.isArray(agents.list) ? "list" : "none";
    const present =
      shape === "entries"
        ? agentId in (agents.entries as Record<string, unknown>)
        : shape === "list"
          ? (agents.list as { id?: string }[]).some((e) => e.id === agentId)
          : false;
    const hash = typeof snapshot.hash === "string" ? snapshot.hash : "";
    record("config.get", {
      ok: config.ok,
      hashFormat: hash.startsWith("hmac-sha256:") ? "hmac-sha256" : /^[0-9a-f]{64}$/.test(hash) ? "sha256-hex" : hash ? "other" : "none",
      agentsShape: shape,
      agentPresent: present,
    });
    const settings = { heartbeat: { every: "1m", prompt: "scenario" } };
    const patch =
      shape === "list"
        ? { agents: { list: (agents.list as { id?: string }[]).map((e) => (e.id === agentId ? { ...e, ...settings } : e)) } }
        : { agents: { entries: { [agentId]: settings } } };
    record("config.patch without baseHash", answer(await request("config.patch", { raw: JSON.stringify(patch) })));
    record("config.patch with a stale baseHash", answer(await request("config.patch", { raw: JSON.stringify(patch), baseHash: `${hash}-stale` })));
    const fresh = (((await request("config.get", {})).payload ?? {}) as { hash?: string }).hash;
    record("config.patch with the current baseHash", answer(await request("config.patch", { raw: JSON.stringify(patch), baseHash: fresh })));
    const wrongShape = shape === "list" ? { agents: { entries: { [agentId]: settings } } } : { agents: { list: [{ id: agentId, ...settings }] } };
    const fresh2 = (((await request("config.get", {})).payload ?? {}) as { hash?: string }).hash;
    record("config.patch in the other shape", answer(await request("config.patch", { raw: JSON.stringify(wrongShape), baseHash: fresh2 })));

    const key = `agent:${agentId}:main`;
    record("sessions.reset", answer(await request("sessions.reset", { key }), (p) => ({ key: names.apply(String(p.key)) })));
    record("sessions.patch", answer(await request("sessions.patch", { key, label: "Scenario agent" })));
    const idempotencyKey = `mc-wake-scenario-${suffix}`;
    names.add(idempotencyKey, "<idempotency-key>");
    const sent = await request("chat.send", { sessionKey: key, message: "scenario wake", deliver: true, idempotencyKey });
    record("chat.send", answer(sent, (p) => ({ runIdIsIdempotencyKey: p.runId === idempotencyKey, status: p.status })));
    const deadline = Date.now() + 45_000;
    const runEnd = () =>
      events.find((e) => {
        const p = (e.payload ?? {}) as { runId?: unknown; stream?: unknown; data?: { phase?: unknown } };
        return e.event === "agent" && p.runId === idempotencyKey && p.stream === "lifecycle" && (p.data?.phase === "error" || p.data?.phase === "end");
      });
    while (!runEnd() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const end = runEnd();
    const endData = ((end?.payload ?? {}) as { data?: { phase?: unknown; error?: unknown } }).data;
    record("the woken run's end", { event: end ? "agent/lifecycle" : "none", phase: endData?.phase ?? null, hasError: typeof endData?.error === "string" });
    record("chat.send to an unknown agent", answer(await request("chat.send", { sessionKey: `agent:${missingId}:main`, message: "x", deliver: true, idempotencyKey: `${idempotencyKey}-2` })));

    record("agents.delete", answer(await request("agents.delete", { agentId, deleteFiles: true })));
    record("sessions.delete of the deleted agent's main session", answer(await request("sessions.delete", { key })));
    record("agents.delete again", answer(await request("agents.delete", { agentId, deleteFiles: true })));

    // Config writes are rate-limited per device and address: the answer once the budget is spent.
    let limited: ResponseFrame | null = null;
    for (let i = 0; i < 40 && !limited; i++) {
      const res = await request("config.patch", { raw: "{}", baseHash: "stale" });
      if (!res.ok && /rate limit/i.test(res.error?.message ?? "")) limited = res;
    }
    record("config.patch once the write budget is spent", limited ? errorOf(limited, names) : { ok: true, limited: false });
  } finally {
    socket.close();
  }
  return steps;
}

interface HelloView {
  protocol: number;
  server?: { version?: string };
  features?: { methods?: string[] };
  snapshot?: { stateDir?: string };
  auth?: { scopes?: string[] };
}
