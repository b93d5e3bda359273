// Group-committed heartbeats (server/agents/heartbeat-ingest.ts) over real HTTP and a real database: each request in a
// shared batch gets the answer the one-at-a-time path would give, nothing is acknowledged before its batch committed,
// and a failed batch answers 503 to every request in it. Coalesced pushes: one message per room with the latest row.
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { io as connect, type Socket } from "socket.io-client";
import { startHarness, waitFor, eventsOf, type Harness } from "../support/harness";
import { issueAgentToken, type IssuedToken } from "../../server/agent-model/tokens";
import { HeartbeatIngest } from "../../server/agents/heartbeat-ingest";
import { SocketPublisher, type Broadcaster } from "../../server/realtime/publisher";
import { decodeRows, type AgentRow } from "../../lib/agent-row";
import { createApiToken, createOperator } from "../support/trpc-http";

/** Replaces the app's ingest by one whose batches go only when `size` heartbeats are waiting: one batch, by design. */
async function batchesOf(h: Harness, size: number): Promise<void> {
  await h.app.heartbeats.stop();
  h.app.heartbeats = new HeartbeatIngest({
    databaseUrl: h.databaseUrl,
    publisher: h.app.publisher,
    logger: h.app.logger,
    maxWakeAttempts: h.app.config.MAX_WAKE_ATTEMPTS,
    windowMs: 60_000,
    maxBatch: size,
  });
}

const beat = (h: Harness, token: string) =>
  fetch(`${h.baseUrl}/api/agent/heartbeat`, { method: "POST", headers: { "x-agent-token": token } }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as Record<string, unknown>,
  }));

describe("group-committed heartbeats", () => {
  let h: Harness;
  let gatewayId: string;

  before(async () => {
    // No worker: agents stay exactly as the test leaves them.
    h = await startHarness({ worker: false });
    gatewayId = await h.gateway();
  });
  after(async () => {
    await h.stop();
  });

  /** A silent simulated agent (waking after its provisioning), optionally made online, with a token this test holds. */
  async function agentWith(opts: { online: boolean }): Promise<{ id: string; token: IssuedToken }> {
    const id = await h.agent(gatewayId, "silent");
    await h.app.lifecycle.idle();
    const token = issueAgentToken(id);
    await h.app.db.agent.update({
      where: { id },
      data: { tokenHash: token.hash, tokenDelivered: true, ...(opts.online ? { status: "online", lastSeenAt: new Date(Date.now() - 60_000) } : {}) },
    });
    return { id, token };
  }

  const row = (id: string) => h.app.db.agent.findUniqueOrThrow({ where: { id } });

  test("one batch mixing valid, overlapping, expired, wrong, pending-slot tokens and an agent not online: each answered as alone", async () => {
    const valid = await agentWith({ online: true });
    const overlap = await agentWith({ online: true });
    const oldToken = issueAgentToken(overlap.id);
    await h.app.db.agent.update({ where: { id: overlap.id }, data: { previousTokenHash: oldToken.hash, previousTokenExpiresAt: new Date(Date.now() + 60_000) } });
    const expired = await agentWith({ online: true });
    const expiredToken = issueAgentToken(expired.id);
    await h.app.db.agent.update({ where: { id: expired.id }, data: { previousTokenHash: expiredToken.hash, previousTokenExpiresAt: new Date(Date.now() - 1_000) } });
    const wrong = await agentWith({ online: true });
    const pending = await agentWith({ online: true });
    const pendingToken = issueAgentToken(pending.id);
    await h.app.db.agent.update({ where: { id: pending.id }, data: { pendingTokenHash: pendingToken.hash, pendingTokenGeneration: 1 } });
    const waking = await agentWith({ online: false });
    assert.equal((await row(waking.id)).status, "waking", "the silent agent waits for its check-in");

    const before = new Map<string, Awaited<ReturnType<typeof row>>>();
    for (const a of [valid, overlap, expired, wrong, pending, waking]) before.set(a.id, await row(a.id));

    const requests: [string, string][] = [
      ["valid", valid.token.token],
      ["valid again", valid.token.token],
      ["previous token in its overlap", oldToken.token],
      ["previous token after its overlap", expiredToken.token],
      ["wrong token", issueAgentToken(wrong.id).token],
      ["pending token", pendingToken.token],
      ["agent not online", waking.token.token],
    ];
    await batchesOf(h, requests.length);
    const answers = await Promise.all(requests.map(([, token]) => beat(h, token)));
    const by = Object.fromEntries(requests.map(([name], i) => [name, answers[i]]));

    assert.deepEqual(by["valid"], { status: 200, body: { agentId: valid.id, status: "online", nextHeartbeatSeconds: 1 } });
    assert.equal(by["valid again"].status, 200);
    assert.equal((await row(valid.id)).heartbeatsAccepted, before.get(valid.id)!.heartbeatsAccepted + 2, "both heartbeats of one agent counted");
    assert.ok((await row(valid.id)).lastSeenAt! > before.get(valid.id)!.lastSeenAt!, "lastSeenAt moved");

    assert.equal(by["previous token in its overlap"].status, 200);
    assert.ok((await row(overlap.id)).lastSeenAt! > before.get(overlap.id)!.lastSeenAt!);

    assert.equal(by["previous token after its overlap"].status, 401);
    const exp = await row(expired.id);
    assert.equal(exp.lastRejectedReason, "expired");
    assert.equal(exp.heartbeatsRejected, before.get(expired.id)!.heartbeatsRejected + 1);
    assert.equal(exp.lastSeenAt!.getTime(), before.get(expired.id)!.lastSeenAt!.getTime(), "a rejected heartbeat stores nothing");
    assert.equal(exp.heartbeatsAccepted, before.get(expired.id)!.heartbeatsAccepted);

    assert.equal(by["wrong token"].status, 401);
    assert.deepEqual(by["wrong token"].body, { error: "A valid agent token is required (X-Agent-Token header)." });
    const wr = await row(wrong.id);
    assert.equal(wr.lastRejectedReason, "mismatch");
    assert.equal(wr.lastSeenAt!.getTime(), before.get(wrong.id)!.lastSeenAt!.getTime());

    assert.equal(by["pending token"].status, 200);
    const pe = await row(pending.id);
    assert.equal(pe.tokenHash, pendingToken.hash, "using the pending token promoted it (the full path ran)");
    assert.equal(pe.pendingTokenHash, null);

    assert.deepEqual(by["agent not online"], { status: 200, body: { agentId: waking.id, status: "online", nextHeartbeatSeconds: 1 } });
    assert.equal((await row(waking.id)).status, "online");
    assert.ok((await eventsOf(h.app, waking.id)).includes("agent.heartbeat"), "the first check-in is a lifecycle event, as before");
  });

  test("nothing is acknowledged before its batch commits; a batch that fails answers 503 to every request, stores nothing", async () => {
    const agents = [await agentWith({ online: true }), await agentWith({ online: true }), await agentWith({ online: true })];
    const before = await Promise.all(agents.map((a) => row(a.id)));
    await batchesOf(h, agents.length);
    const admin = new pg.Client({ connectionString: h.databaseUrl });
    const locker = new pg.Client({ connectionString: h.databaseUrl });
    await admin.connect();
    await locker.connect();
    try {
      // Another transaction holds one agent's row: the batch statement waits for it, uncommitted.
      await locker.query("BEGIN");
      await locker.query(`SELECT 1 FROM "Agent" WHERE id = $1 FOR UPDATE`, [agents[1].id]);
      let settled = 0;
      const answers = agents.map((a) => beat(h, a.token.token).finally(() => (settled += 1)));
      const waiting = await waitFor(
        async () => {
          const r = await admin.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE application_name = 'mission-control:heartbeats' AND wait_event_type = 'Lock'`,
          );
          return r.rows[0]?.pid;
        },
        10_000,
        "the batch waiting on the locked row",
      );
      assert.equal(settled, 0, "no heartbeat of the batch was answered while it was not committed");
      // The batch's connection dies before its commit.
      await admin.query(`SELECT pg_terminate_backend($1)`, [waiting]);
      const results = await Promise.all(answers);
      assert.deepEqual(
        results.map((r) => r.status),
        [503, 503, 503],
      );
      await locker.query("ROLLBACK");
      const after = await Promise.all(agents.map((a) => row(a.id)));
      for (let i = 0; i < agents.length; i++) {
        assert.equal(after[i].lastSeenAt!.getTime(), before[i].lastSeenAt!.getTime(), "nothing of the failed batch was stored");
        assert.equal(after[i].heartbeatsAccepted, before[i].heartbeatsAccepted);
      }
      // The next batch works again (the pool replaced its connection).
      const again = await Promise.all(agents.map((a) => beat(h, a.token.token)));
      assert.deepEqual(
        again.map((r) => r.status),
        [200, 200, 200],
      );
    } finally {
      await locker.end().catch(() => undefined);
      await admin.end();
    }
  });

  test("a heartbeat reaches watching browsers as a board row, fleet and its own agent room only", async () => {
    await batchesOf(h, 1);
    const watched = await agentWith({ online: true });
    const other = await agentWith({ online: true });
    const op = await createOperator(h.app, "viewer");
    const apiToken = await createApiToken(h.app, op.id, "viewer");
    const received = new Map<string, AgentRow[][]>();
    const sockets: Socket[] = [];
    async function watch(room: string) {
      const socket = connect(h.baseUrl, { path: "/socket.io", transports: ["websocket"], auth: { token: apiToken }, reconnection: false });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
      const ack = await socket.emitWithAck("subscribe", { rooms: [room] });
      assert.equal((ack as { ok?: boolean }).ok, true);
      received.set(room, []);
      socket.on("agent.updated", (payload: unknown) => received.get(room)!.push(decodeRows(payload)));
    }
    try {
      await watch("fleet");
      await watch(`agent:${watched.id}`);
      await watch(`agent:${other.id}`);
      assert.equal((await beat(h, watched.token.token)).status, 200);
      const stored = await row(watched.id);
      const fleetRow = await waitFor(
        async () => received.get("fleet")!.flat().find((r) => r.id === watched.id && r.lastSeenAt === stored.lastSeenAt!.getTime()),
        5_000,
        "the heartbeat's row in the fleet room",
      );
      assert.equal(fleetRow.status, "online");
      assert.equal(fleetRow.gatewayId, gatewayId);
      await waitFor(async () => received.get(`agent:${watched.id}`)!.flat().some((r) => r.id === watched.id), 5_000, "the row in its agent room");
      assert.ok(!received.get(`agent:${other.id}`)!.flat().some((r) => r.id === watched.id), "another agent's room never gets it");
    } finally {
      for (const s of sockets) s.close();
    }
  });
});

describe("coalesced pushes", () => {
  let sent: { rooms: string[]; rows: AgentRow[] }[];
  let publisher: SocketPublisher;
  const broadcaster: Broadcaster = {
    to: (room) => ({
      emit: (_event: string, payload: unknown) => sent.push({ rooms: [room].flat().sort(), rows: decodeRows(payload) }),
    }),
  };
  beforeEach(() => {
    sent = [];
    // A long interval: this test decides when the window ends.
    publisher = new SocketPublisher(() => broadcaster, 60_000);
  });

  const agentRow = (id: string, gatewayId: string, boardId: string | null, lastSeenAt: number): AgentRow => ({
    id,
    name: `agent-${id}`,
    kind: "board_worker",
    status: "online",
    statusReason: null,
    gatewayId,
    boardId,
    wakeAttempts: 0,
    maxWakeAttempts: 3,
    lifecycleGeneration: 1,
    checkinDeadlineAt: null,
    lastSeenAt,
    lastProvisionError: null,
    templateStale: false,
    heartbeatsRejected: 0,
    lastRejectedReason: null,
    updatedAt: lastSeenAt,
  });

  test("N updates of one agent within a window: one message per room, carrying the latest row", () => {
    for (let i = 1; i <= 10; i++) publisher.agentRows([agentRow("a1", "g1", "b1", 1000 + i)]);
    // An older row arriving late never replaces a newer one.
    publisher.agentRows([agentRow("a1", "g1", "b1", 1005)]);
    assert.equal(sent.length, 0, "nothing is sent before the window ends");
    publisher.flush();
    const rooms = sent.flatMap((s) => s.rooms).sort();
    assert.deepEqual(rooms, ["agent:a1", "board:b1", "fleet", "gateway:g1"], "every room of the agent, once");
    for (const s of sent) {
      assert.equal(s.rows.length, 1);
      assert.equal(s.rows[0].lastSeenAt, 1010);
    }
    publisher.flush();
    assert.equal(sent.length, 1, "an empty window sends nothing");
  });

  test("each room gets only its own rows", () => {
    publisher.agentRows([agentRow("a1", "g1", "b1", 1), agentRow("a2", "g1", "b2", 2), agentRow("a3", "g2", null, 3)]);
    publisher.flush();
    const rowsOf = (room: string) => {
      const messages = sent.filter((s) => s.rooms.includes(room));
      assert.equal(messages.length, 1, `one message for ${room}`);
      return messages[0].rows.map((r) => r.id).sort();
    };
    assert.deepEqual(rowsOf("fleet"), ["a1", "a2", "a3"]);
    assert.deepEqual(rowsOf("gateway:g1"), ["a1", "a2"]);
    assert.deepEqual(rowsOf("gateway:g2"), ["a3"]);
    assert.deepEqual(rowsOf("board:b1"), ["a1"]);
    assert.deepEqual(rowsOf("board:b2"), ["a2"]);
    assert.deepEqual(rowsOf("agent:a1"), ["a1"]);
    assert.deepEqual(rowsOf("agent:a3"), ["a3"]);
  });
});

describe("coalesced pushes across processes", () => {
  test("rows stored by one process reach the sockets of another through the PostgreSQL adapter, once per message", async () => {
    const a = await startHarness({ worker: false, postgresAdapter: true });
    const b = await startHarness({ worker: false, postgresAdapter: true, databaseUrl: a.databaseUrl, simulatorHost: false });
    let socket: Socket | undefined;
    try {
      const gatewayId = await a.gateway();
      const id = await a.agent(gatewayId, "silent");
      await a.app.lifecycle.idle();
      const token = issueAgentToken(id);
      await a.app.db.agent.update({ where: { id }, data: { tokenHash: token.hash, tokenDelivered: true, status: "online" } });
      const op = await createOperator(b.app, "viewer");
      const apiToken = await createApiToken(b.app, op.id, "viewer");
      socket = connect(b.baseUrl, { path: "/socket.io", transports: ["websocket"], auth: { token: apiToken }, reconnection: false });
      await new Promise<void>((resolve, reject) => {
        socket!.once("connect", () => resolve());
        socket!.once("connect_error", reject);
      });
      assert.equal(((await socket.emitWithAck("subscribe", { rooms: ["fleet", `gateway:${gatewayId}`] })) as { ok?: boolean }).ok, true);
      const messages: AgentRow[][] = [];
      socket.on("agent.updated", (payload: unknown) => messages.push(decodeRows(payload)));
      assert.equal((await beat(a, token.token)).status, 200);
      const stored = await a.app.db.agent.findUniqueOrThrow({ where: { id } });
      await waitFor(
        async () => messages.flat().some((r) => r.id === id && r.lastSeenAt === stored.lastSeenAt!.getTime()),
        10_000,
        "the row pushed by the other process",
      );
      // The fleet and the gateway room get the same rows: one emit to both, so this socket gets one message.
      assert.equal(messages.filter((m) => m.some((r) => r.id === id)).length, 1);
    } finally {
      socket?.close();
      await b.stop();
      await a.stop();
    }
  });
});
