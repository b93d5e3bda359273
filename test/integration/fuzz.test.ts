// Hostile input: a few thousand malformed, oversized and mistyped requests to the agent API and the tRPC endpoint, as
// anonymous, viewer and admin callers. Nothing answers 5xx, no mutation succeeds, and the database is unchanged (except
// for the audit rows that record the refused actions, which must all say "failed").
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { randomUUID } from "node:crypto";
import pLimit from "p-limit";
import { startHarness, type Harness } from "../support/harness";
import { allProcedures, call, createApiToken, createOperator } from "../support/trpc-http";
import { issueAgentToken } from "../../server/agent-model/tokens";
import { mulberry32 } from "../support/random";

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 100_000);
const AGENT_REQUESTS = Number(process.env.FUZZ_AGENT_REQUESTS ?? 1500);
const TRPC_REQUESTS = Number(process.env.FUZZ_TRPC_REQUESTS ?? 1500);

// Seeded, so a failure can be replayed with FUZZ_SEED.
const rand = mulberry32(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
const chance = (p: number) => rand() < p;

function garbage(length: number): string {
  const alphabet = 'abcXYZ019{}[]":,\\/\u0000\u00ff\u2028\u00e9 <>&%\'\n\r\t=;';
  let s = "";
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

function deep(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

/** Values of the wrong type for anything. */
const MISTYPED: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  "",
  "x".repeat(5000),
  [],
  [1, 2, 3],
  { id: 123 },
  { id: [] },
  { id: null },
  { id: "not-a-uuid" },
  { id: "00000000-0000-0000-0000-000000000000'; DROP TABLE \"Agent\"; --" },
  { ids: "all" },
  { ids: Array(20_001).fill("x") },
  { name: { $gt: "" } },
  { limit: -5 },
  { limit: "1000000" },
  { email: ["a@b.c"], role: "root" },
  // A cursor of the right shape beyond PostgreSQL's bigint (events.list).
  { before: "9999999999999999999" },
  { role: "superadmin", name: "x", operatorId: 5 },
  JSON.parse('{"__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}}'),
];

/** Bodies a heartbeat with a valid token ignores (it still counts) or refuses as too large (413). */
const INVALID_HEARTBEAT_BODIES: { type?: string; body: string }[] = [
  { type: "application/json", body: "{not json" },
  { type: "application/json", body: "null" },
  { type: "application/json", body: "[]" },
  { type: "application/json", body: '"online"' },
  { type: "application/json", body: '{"status":"dancing"}' },
  { type: "application/json", body: '{"status":1}' },
  { type: "application/json", body: '{"note":{"a":1}}' },
  { type: "application/json", body: JSON.stringify({ note: "n".repeat(501) }) },
  { type: "application/json", body: '{"admin":true}' },
  { type: "application/json", body: '{"__proto__":{"status":"online"}}' },
  { type: "application/json", body: deep(5000) },
  { type: "application/json", body: JSON.stringify({ note: "x".repeat(5000) }) },
  { type: "application/json", body: "x".repeat(200_000) },
  { type: "text/plain", body: '{"status":"online"}' },
  { type: "application/x-www-form-urlencoded", body: "status=online" },
  { type: "multipart/form-data; boundary=x", body: "--x\r\n\r\n--x--" },
  { type: undefined, body: '{"status":"online"}' },
  { type: "application/json; charset=utf-16", body: "\u0000{" },
];

interface Sent {
  what: string;
  status: number;
  /** Some call of the request succeeded (a batch answers 207 when its calls end differently, errors included). */
  succeeded?: boolean;
}

async function send(url: string, init: RequestInit & { what: string }): Promise<Sent> {
  try {
    const res = await fetch(url, { ...init, redirect: "manual" });
    const text = await res.text();
    let succeeded = res.status >= 200 && res.status < 300;
    if (res.status === 207 || succeeded) {
      try {
        const body = JSON.parse(text) as unknown;
        const items = Array.isArray(body) ? body : [body];
        succeeded = items.some((item) => item && typeof item === "object" && "result" in item);
      } catch {
        // not JSON (e.g. a jsonl stream): judged by the database snapshot instead
      }
    }
    return { what: init.what, status: res.status, succeeded };
  } catch (err) {
    // A connection the server closed (e.g. after a 413 mid-upload) is not a server error.
    return { what: `${init.what} (${(err as Error).cause ?? (err as Error).message})`, status: 0 };
  }
}

async function inParallel<T>(count: number, lanes: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const limit = pLimit(lanes);
  return Promise.all(Array.from({ length: count }, (_, i) => limit(() => fn(i))));
}

describe(`fuzz (seed ${SEED})`, () => {
  let h: Harness;
  let agentToken: string;
  let adminToken: string;
  let viewerToken: string;

  before(async () => {
    h = await startHarness({
      worker: false,
      env: {
        RATE_LIMIT_HEARTBEATS_PER_MINUTE: "1000000",
        RATE_LIMIT_AGENT_AUTH_FAILURES_PER_MINUTE: "1000000",
        RATE_LIMIT_API_TOKEN_FAILURES_PER_MINUTE: "1000000",
        RATE_LIMIT_OPERATOR_REQUESTS_PER_MINUTE: "1000000",
      },
    });
    // Rows written directly (no lifecycle runs in the background to change them).
    const gateway = await h.app.db.gateway.create({ data: { name: "fuzz-gw", driver: "simulator" } });
    const board = await h.app.db.board.create({ data: { name: "fuzz-board", gatewayId: gateway.id } });
    const agentId = randomUUID();
    const issued = issueAgentToken(agentId);
    await h.app.db.agent.create({
      data: {
        id: agentId,
        name: "fuzz-agent",
        kind: "board_lead",
        gatewayId: gateway.id,
        boardId: board.id,
        sessionKey: `agent:board_lead:${agentId}`,
        status: "online",
        tokenHash: issued.hash,
        tokenDelivered: true,
        lastSeenAt: new Date(),
      },
    });
    agentToken = issued.token;
    const admin = await createOperator(h.app, "admin");
    const viewer = await createOperator(h.app, "viewer");
    adminToken = await createApiToken(h.app, admin.id, "admin");
    viewerToken = await createApiToken(h.app, viewer.id, "viewer");
  });
  after(async () => {
    await h.stop();
  });

  const TABLES = ["Operator", "OperatorSession", "OperatorApiToken", "Gateway", "Board", "Agent", "WakeAttempt", "TemplateSyncRun", "TemplateSyncResult", "DeviceIdentity"];
  // A heartbeat with a valid token counts whatever its body: these columns of the fuzz agent may move.
  const VOLATILE = new Set(["lastUsedAt", "lastSeenAt", "heartbeatsAccepted", "updatedAt"]);

  async function snapshot() {
    const tables: Record<string, string[]> = {};
    for (const table of TABLES) {
      const rows = await h.app.db.$queryRawUnsafe<Record<string, unknown>[]>(`SELECT * FROM "${table}"`);
      tables[table] = rows
        .map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !VOLATILE.has(k))), (_k, v) => (typeof v === "bigint" ? v.toString() : v)))
        .sort();
    }
    const events = await h.app.db.lifecycleEvent.findMany({ orderBy: { id: "asc" } });
    const jobs = await h.app.db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*)::bigint AS n FROM "${h.app.config.QUEUE_SCHEMA}".job`);
    return { tables, events, jobs: Number(jobs[0].n) };
  }

  test("agent API and tRPC: no 5xx, no change", async () => {
    const before = await snapshot();
    const base = h.baseUrl;

    // ---- agent API ----
    const agentResults = await inParallel(AGENT_REQUESTS, 8, async (i) => {
      const validToken = chance(0.25);
      const headers: Record<string, string> = {};
      let method = pick(["POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]);
      let path = pick([
        "/api/agent/heartbeat",
        "/api/agent/heartbeat",
        "/api/agent/healthz",
        "/api/agent/",
        "/api/agent/heartbeat/",
        "/api/agent/heartbeat?x=%ZZ",
        "/api/agent/%2e%2e/healthz",
        `/api/agent/${garbage(20).replace(/[^a-z0-9]/gi, "")}`,
      ]);
      let body: string | undefined;
      if (validToken) {
        // Malformed bodies: a valid token still makes these real heartbeats (counted), except oversized ones.
        method = "POST";
        path = "/api/agent/heartbeat";
        const b = pick(INVALID_HEARTBEAT_BODIES);
        if (b.type) headers["content-type"] = b.type;
        body = b.body;
        headers[chance(0.5) ? "x-agent-token" : "authorization"] = chance(0.5) ? agentToken : `Bearer ${agentToken}`;
        if (headers.authorization === agentToken) headers.authorization = `Bearer ${agentToken}`;
        if (headers["x-agent-token"]?.startsWith("Bearer ")) headers["x-agent-token"] = agentToken;
      } else {
        const token = pick([
          "",
          "garbage",
          garbage(40),
          "x".repeat(8000),
          issueAgentToken(randomUUID()).token,
          `mca_${randomUUID()}_${"A".repeat(42)}`,
          `mca_../../etc/passwd_${"A".repeat(43)}`,
          agentToken.slice(0, -1),
          `${agentToken} ${agentToken}`,
          "Bearer",
          "%00",
        ]).replace(/[^\x20-\x7e]/g, "");
        if (agentToken.slice(0, -1) === token) {
          // Same agent, truncated secret: would count a rejection on the real agent; use another id instead.
          headers["x-agent-token"] = issueAgentToken(randomUUID()).token.slice(0, -1);
        } else if (token && chance(0.7)) headers[chance(0.5) ? "x-agent-token" : "authorization"] = chance(0.5) ? token : `Bearer ${token}`;
        if (chance(0.7) && method !== "GET" && method !== "HEAD") {
          const kind = pick(["json", "garbage", "huge", "mistyped", "empty"]);
          headers["content-type"] = pick(["application/json", "application/json", "text/plain", "application/octet-stream", "", "application/json; charset=latin1"]);
          if (!headers["content-type"]) delete headers["content-type"];
          body =
            kind === "json"
              ? JSON.stringify(pick(MISTYPED))
              : kind === "garbage"
                ? garbage(1 + Math.floor(rand() * 300))
                : kind === "huge"
                  ? "y".repeat(pick([4097, 50_000, 2_000_000]))
                  : kind === "mistyped"
                    ? JSON.stringify({ status: pick(MISTYPED), note: pick(MISTYPED) })
                    : "";
        }
        if (chance(0.1)) headers["content-length"] = pick(["-1", "abc", "99999999999"]);
      }
      if (headers["content-length"]) {
        // fetch computes its own Content-Length; malformed ones go through the raw socket test below.
        delete headers["content-length"];
      }
      const sent = await send(`${base}${path}`, { what: `agent#${i} ${method} ${path} ${JSON.stringify(headers).slice(0, 120)}`, method, headers, body: method === "GET" || method === "HEAD" ? undefined : body });
      return { ...sent, validToken, oversized: Buffer.byteLength(body ?? "") > 4096 };
    });

    // ---- tRPC ----
    const procedures = allProcedures();
    const mutations = new Set(procedures.filter((p) => p.type === "mutation").map((p) => p.path));
    const trpcResults = await inParallel(TRPC_REQUESTS, 8, async (i) => {
      const who = pick(["anonymous", "viewer", "admin", "admin", "bogus"] as const);
      const headers: Record<string, string> = {};
      if (who === "viewer") headers.authorization = `Bearer ${viewerToken}`;
      if (who === "admin") headers.authorization = `Bearer ${adminToken}`;
      if (who === "bogus") headers.authorization = pick([`Bearer mco_${garbage(10)}`, "Bearer", "Basic YWRtaW46YWRtaW4=", `Bearer ${"z".repeat(5000)}`]).replace(/[^\x20-\x7e]/g, "");
      let path = pick(procedures).path;
      const batch = chance(0.15);
      if (batch) path = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(procedures).path).join(",");
      if (chance(0.05)) path = pick(["nope", "agents", "agents.list.x", "__proto__", "constructor", "agents.__proto__", "..%2f..%2fetc", "a".repeat(3000)]);
      const isMutation = path.split(",").some((p) => mutations.has(p));
      const authenticated = who === "viewer" || who === "admin";
      // Signed-in callers always send an invalid input to mutations (a valid one would be a real action).
      const input = () => {
        const value = pick(MISTYPED);
        if (isMutation && authenticated && chance(0.1)) return '{"json":{"id":"' + randomUUID() + '","extra":1}}';
        return chance(0.8) ? JSON.stringify({ json: value }) : pick([
              '{"json":',
              '{"json":1,"meta":{"values":["bigint"]}}',
              '{"json":{"a":1},"meta":{"values":{"a":["class"]}}}',
              `{"json":${deep(3000)}}`,
              garbage(50),
              // These decode to values (undefined, an empty object, a Date) that input-less procedures accept: only
              // where acceptance changes nothing.
              ...(isMutation && authenticated
                ? []
                : ["{}", deep(3000), '{"json":"x","meta":{"values":["Date"]}}', '{"json":{},"meta":{"values":{"__proto__.polluted":["undefined"]}}}', '{"json":[],"meta":{"referentialEqualities":{"":["__proto__"]}}}']),
            ]);
      };
      /** One input per call of the batch (a missing one would be `undefined`, which some procedures accept). */
      const batchInput = () => `{${path.split(",").map((_p, n) => `"${n}":${input()}`).join(",")}}`;
      const method = chance(0.85) ? (isMutation ? "POST" : "GET") : pick(["GET", "POST", "PUT", "DELETE", "PATCH"]);
      let url = `${base}/api/trpc/${path}`;
      const params: string[] = [];
      if (batch) params.push("batch=1");
      let body: string | undefined;
      if (method === "GET") {
        if (batch) params.push(`input=${encodeURIComponent(batchInput())}`);
        else if (!isMutation || !authenticated || chance(0.9)) params.push(`input=${encodeURIComponent(input())}`);
      } else if (method !== "HEAD") {
        headers["content-type"] = pick(["application/json", "application/json", "application/json", "text/plain", "multipart/form-data; boundary=zz", "application/octet-stream"]);
        const oversized = chance(0.03);
        body = oversized ? `{"json":"${"q".repeat(1_100_000)}"}` : batch ? batchInput() : input();
        if (headers["content-type"].startsWith("multipart")) body = `--zz\r\nContent-Disposition: form-data; name="id"\r\n\r\n${randomUUID()}\r\n--zz--\r\n`;
        if (!isMutation && !authenticated && chance(0.2)) body = undefined;
      }
      const streaming = chance(0.05);
      if (streaming) headers["trpc-accept"] = "application/jsonl";
      if (params.length) url += `?${params.join("&")}`;
      return { ...(await send(url, { what: `trpc#${i} ${who} ${method} ${path.slice(0, 80)}`, method, headers, body })), mutation: isMutation && authenticated && !streaming };
    });

    // ---- malformed HTTP on the raw socket ----
    const { port } = new URL(base);
    const raw = [
      "POST /api/agent/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "POST /api/agent/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
      "POST /api/agent/heartbeat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      "POST /api/agent/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      `POST /api/agent/heartbeat HTTP/1.1\r\nHost: x\r\nX-Agent-Token: ${agentToken}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n${"a".repeat(8192)}\r\n0\r\n\r\n`,
      `GET /api/trpc/agents.list?input=${"%".repeat(50)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /api/trpc/agents.list HTTP/1.1\r\nHost: x\r\nCookie: mc_session=%E0%A4%A\r\n\r\n`,
      `POST /api/trpc/agents.wake HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"json":{`,
      "GARBAGE / HTTP/1.1\r\n\r\n",
      `GET /${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /api/healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"h".repeat(20_000)}\r\n\r\n`,
    ];
    const rawResults: Sent[] = [];
    for (const [i, request] of raw.entries()) {
      const status = await new Promise<number>((resolve) => {
        const socket = net.connect(Number(port), "127.0.0.1");
        let data = "";
        socket.setTimeout(3000, () => {
          socket.destroy();
          resolve(0);
        });
        socket.on("data", (c) => {
          data += c.toString("latin1");
          const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
          if (m) {
            socket.destroy();
            resolve(Number(m[1]));
          }
        });
        socket.on("error", () => resolve(0));
        socket.on("close", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
        socket.write(request);
        if (i === 7) setTimeout(() => socket.end(), 100); // truncated body, then the client goes away
      });
      rawResults.push({ what: `raw#${i} ${request.slice(0, 60).replace(/\r\n/g, " ")}`, status });
    }

    // A valid token's heartbeat counts whatever its body; only an oversized body is refused.
    const unforgiving = agentResults.filter((r) => r.validToken && r.status !== 0 && r.status !== (r.oversized ? 413 : 200));
    assert.deepEqual(unforgiving, [], "a heartbeat with a valid token was refused for its body");
    const all = [...agentResults, ...trpcResults, ...rawResults];
    const serverErrors = all.filter((r) => r.status >= 500);
    assert.deepEqual(serverErrors, [], "no request may cause a 5xx");
    const succeededMutations = trpcResults.filter((r) => r.mutation && r.succeeded);
    assert.deepEqual(succeededMutations, [], "no malformed mutation may succeed");
    const byStatus: Record<number, number> = {};
    for (const r of all) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    console.log(`fuzz seed ${SEED}: ${all.length} requests; statuses ${JSON.stringify(byStatus)}`);
    assert.ok(all.length >= AGENT_REQUESTS + TRPC_REQUESTS);
    // Most requests must have reached the server and been answered (a handful of closed uploads is fine).
    assert.ok((byStatus[0] ?? 0) < all.length * 0.05, `${byStatus[0]} requests got no answer`);

    // Nothing reached Object.prototype (the server runs in this process).
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).admin, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).x, undefined);

    // The server still works.
    assert.equal((await fetch(`${base}/api/healthz`)).status, 200);
    const ok = await fetch(`${base}/api/agent/healthz`, { headers: { "x-agent-token": agentToken } });
    assert.equal(ok.status, 200);

    const after = await snapshot();
    for (const table of TABLES) assert.deepEqual(after.tables[table], before.tables[table], `table ${table} changed`);
    assert.equal(after.jobs, before.jobs, "queue jobs were created");
    const oldIds = new Set(before.events.map((e) => e.id));
    assert.deepEqual(
      after.events.filter((e) => oldIds.has(e.id)).map((e) => JSON.stringify(e, (_k, v) => (typeof v === "bigint" ? v.toString() : v))),
      before.events.map((e) => JSON.stringify(e, (_k, v) => (typeof v === "bigint" ? v.toString() : v))),
    );
    const added = after.events.filter((e) => !oldIds.has(e.id));
    const notFailedAudit = added.filter((e) => e.event !== "operator.action" || (e.data as { result?: string }).result !== "failed");
    assert.deepEqual(notFailedAudit.map((e) => `${e.event}: ${e.message}`), [], "only failed-action audit rows may be added");
  });

  test("a log cursor past PostgreSQL's bigint is refused as bad input, not a database error", async () => {
    const r = await call(h.baseUrl, "events.list", { before: "9999999999999999999" }, { token: viewerToken });
    assert.equal(r.status, 400, r.raw.slice(0, 300));
    assert.match(r.message ?? "", /beyond the largest id/);
    const audit = await call(h.baseUrl, "operators.audit", { cursor: "9999999999999999999" }, { token: adminToken });
    assert.equal(audit.status, 400, audit.raw.slice(0, 300));
    const largest = await call(h.baseUrl, "events.list", { before: "9223372036854775807", limit: 1 }, { token: viewerToken });
    assert.equal(largest.status, 200, largest.raw.slice(0, 300));
  });
});
