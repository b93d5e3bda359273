// The agent and board services against the real database: their refusals (ServiceError, and nothing written), token
// revocation, a board created with its lead (both or neither), and bulk reprovisioning of ids that may not exist.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { beat, startHarness, waitFor, type Harness } from "../support/harness";
import { FakeHttpGateway } from "../support/fake-http-gateway";
import { ServiceError } from "../../server/platform/service-error";

const refused = (kind: ServiceError["kind"], message: string | RegExp) => (err: unknown) => {
  assert.ok(err instanceof ServiceError, `a ServiceError, not ${String(err)}`);
  assert.equal(err.kind, kind);
  if (typeof message === "string") assert.equal(err.message, message);
  else assert.match(err.message, message);
  return true;
};

describe("agents and boards services", () => {
  let h: Harness;
  let gw: FakeHttpGateway;
  let simGateway: string;
  let httpGateway: string;
  let boardId: string;

  /**
   * What a refused request must leave as it was, read once the simulated agents have checked in (their check-ins add
   * events; the fake HTTP gateway's agents never check in, and no worker runs their deadlines).
   */
  const written = async () => {
    await waitFor(
      async () => (await h.app.db.agent.count({ where: { gatewayId: simGateway, status: { in: ["provisioning", "updating", "waking"] } } })) === 0,
      15_000,
      "the simulated agents to check in",
    );
    return {
      agents: await h.app.db.agent.count(),
      boards: await h.app.db.board.count(),
      events: await h.app.db.lifecycleEvent.count(),
    };
  };

  before(async () => {
    gw = new FakeHttpGateway();
    await gw.start();
    h = await startHarness({ worker: false });
    simGateway = await h.gateway();
    httpGateway = await h.gateway({ driver: "http", url: gw.url, token: "gateway-secret-token" });
    boardId = (await h.app.boards.create({ name: "ops", gatewayId: simGateway }, "test")).id;
    await h.app.lifecycle.idle();
  });
  after(async () => {
    await h.stop();
    await gw.stop();
  });

  test("create: each refusal is a ServiceError and changes nothing", async () => {
    const otherBoard = (await h.app.boards.create({ name: "elsewhere", gatewayId: httpGateway }, "test")).id;
    await h.app.lifecycle.idle();
    await h.app.agents.create({ gatewayId: simGateway, name: "taken", kind: "gateway_main" }, "test");
    await h.app.lifecycle.idle();
    const cases: [Parameters<typeof h.app.agents.create>[0], ServiceError["kind"], string][] = [
      [{ gatewayId: crypto.randomUUID(), name: "a", kind: "gateway_main" }, "not_found", "Gateway not found"],
      [{ gatewayId: simGateway, boardId, name: "a", kind: "gateway_main" }, "invalid", "A gateway_main agent has no board"],
      [{ gatewayId: simGateway, name: "a", kind: "board_worker" }, "invalid", "A board_worker needs a boardId"],
      [{ gatewayId: simGateway, boardId: otherBoard, name: "a", kind: "board_worker" }, "not_found", "Board on this gateway not found"],
      [{ gatewayId: simGateway, boardId: crypto.randomUUID(), name: "a", kind: "board_lead" }, "not_found", "Board on this gateway not found"],
      [{ gatewayId: httpGateway, name: "a", kind: "gateway_main", simulatorBehaviour: "healthy" }, "invalid", "simulatorBehaviour applies to simulator gateways only"],
      [{ gatewayId: simGateway, name: "taken", kind: "gateway_main" }, "conflict", "An agent named taken already exists on this gateway"],
    ];
    const before = await written();
    for (const [input, kind, message] of cases) await assert.rejects(h.app.agents.create(input, "test"), refused(kind, message));
    assert.deepEqual(await written(), before);

    const worker = await h.app.agents.create({ gatewayId: simGateway, boardId, name: "worker", kind: "board_worker", simulatorBehaviour: "healthy" }, "test");
    assert.equal(worker.boardId, boardId);
    assert.equal(worker.status, "provisioning");
    await h.app.lifecycle.idle();
  });

  test("revokeToken: a missing agent is not_found; a real one's token stops at once", async () => {
    await assert.rejects(h.app.agents.revokeToken(crypto.randomUUID()), refused("not_found", "Agent not found"));
    const agent = await h.app.agents.create({ gatewayId: httpGateway, name: "leaky", kind: "gateway_main" }, "test");
    await h.app.lifecycle.idle();
    const token = gw.latest(agent.id);
    assert.ok(token, "provisioning delivered a token through the gateway");
    assert.equal(await beat(h.baseUrl, token), 200);

    const revoked = await h.app.agents.revokeToken(agent.id);
    assert.equal(revoked.id, agent.id);
    assert.equal(await beat(h.baseUrl, token), 401);
    assert.equal((await h.app.agents.get(agent.id)).lastRejectedReason, "revoked");
  });

  test("board create: the lead comes with the board; a name clash creates nothing", async () => {
    const board = await h.app.boards.create({ name: "support", gatewayId: simGateway }, "test");
    const lead = await h.app.db.agent.findUniqueOrThrow({ where: { id: board.leadAgentId } });
    assert.deepEqual([lead.name, lead.kind, lead.boardId, lead.simulatorBehaviour], ["support lead", "board_lead", board.id, "healthy"]);
    await h.app.lifecycle.idle();

    await h.app.agents.create({ gatewayId: simGateway, name: "billing lead", kind: "gateway_main" }, "test");
    await h.app.lifecycle.idle();
    const before = await written();
    await assert.rejects(
      h.app.boards.create({ name: "billing", gatewayId: simGateway }, "test"),
      refused("conflict", "An agent named billing lead already exists on this gateway (the board's lead would take that name)"),
    );
    await assert.rejects(h.app.boards.create({ name: "support", gatewayId: simGateway }, "test"), refused("conflict", "A board named support already exists on this gateway"));
    await assert.rejects(h.app.boards.create({ name: "x", gatewayId: crypto.randomUUID() }, "test"), refused("not_found", "Gateway not found"));
    assert.deepEqual(await written(), before);
    assert.equal(await h.app.db.board.count({ where: { name: "billing" } }), 0);
  });

  test("board create: racing requests for one name make one board and one lead, never a board without its lead", async () => {
    const results = await Promise.allSettled([1, 2, 3].map(() => h.app.boards.create({ name: "race", gatewayId: simGateway }, "test")));
    await h.app.lifecycle.idle();
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) if (r.status === "rejected") refused("conflict", /already exists on this gateway/)(r.reason);
    const boards = await h.app.db.board.findMany({ where: { gatewayId: simGateway, name: "race" }, select: { id: true } });
    assert.equal(boards.length, 1);
    assert.equal(await h.app.db.agent.count({ where: { gatewayId: simGateway, name: "race lead", boardId: boards[0].id } }), 1);
    assert.deepEqual(
      (await h.app.boards.list(simGateway)).map((b) => [b.name, b._count.agents]).filter(([name]) => name === "race"),
      [["race", 1]],
    );
  });

  test("create: racing requests for one name make one agent; the others get the name conflict, never a 500", async () => {
    const results = await Promise.allSettled([1, 2, 3].map(() => h.app.agents.create({ gatewayId: httpGateway, name: "raced", kind: "gateway_main" }, "test")));
    await h.app.lifecycle.idle();
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) if (r.status === "rejected") refused("conflict", "An agent named raced already exists on this gateway")(r.reason);
    assert.equal(await h.app.db.agent.count({ where: { gatewayId: httpGateway, name: "raced" } }), 1);
  });

  test("createMany: the bulk refusals keep their kinds; a dry run writes nothing", async () => {
    const before = await written();
    await assert.rejects(h.app.agents.createMany({ gatewayId: crypto.randomUUID(), agents: [{ name: "n", kind: "gateway_main" }] }, "test"), refused("not_found", "Gateway not found"));
    await assert.rejects(h.app.agents.createMany({ gatewayId: simGateway, agents: [{ name: "taken", kind: "gateway_main" }] }, "test"), refused("conflict", /already exists/));
    await assert.rejects(h.app.agents.createMany({ gatewayId: simGateway, agents: [{ name: "n", kind: "board_worker" }] }, "test"), refused("invalid", /needs a board/));
    const dry = await h.app.agents.createMany({ gatewayId: simGateway, boardId, agents: [{ name: "w1", kind: "board_worker" }], dryRun: true }, "test");
    assert.deepEqual(dry, { ids: [], count: 1, operationId: null, dryRun: true });
    assert.deepEqual(await written(), before);
  });

  test("bulkReprovision: queues the agents that exist and names the ids that do not", async () => {
    const existing = (await h.app.db.agent.findFirstOrThrow({ where: { gatewayId: simGateway }, select: { id: true } })).id;
    const missing = crypto.randomUUID();
    const result = await h.app.agents.bulkReprovision([existing, missing, existing], "ops@test");
    assert.equal(result.started, 1);
    assert.deepEqual(result.missing, [missing]);
    assert.ok(result.operationId);
    const operation = await h.app.fleet.get(result.operationId);
    assert.deepEqual([operation?.kind, operation?.total], ["reprovision", 1]);
    const audit = await h.app.db.lifecycleEvent.findFirstOrThrow({ where: { event: "operator.action", actor: "ops@test" }, orderBy: { id: "desc" } });
    assert.equal(audit.message, "ops@test queued the reprovision of 1 agents");
    assert.deepEqual(audit.data, { action: "bulk reprovision", result: "ok", started: 1, missing: 1, operationId: result.operationId });

    assert.deepEqual(await h.app.agents.bulkReprovision([missing], "ops@test"), { started: 0, missing: [missing], operationId: null });
  });
});
