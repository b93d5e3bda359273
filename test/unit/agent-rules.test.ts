// The pure rules of agents.create: board placement by kind, and simulator behaviours on simulator gateways only.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkBoardPlacement, checkSimulatorBehaviour } from "../../server/agents/rules";
import { ServiceError } from "../../server/platform/service-error";

const refusal = (kind: ServiceError["kind"], message: string) => (err: unknown) =>
  err instanceof ServiceError && err.kind === kind && err.message === message;

describe("agent rules", () => {
  test("a gateway_main agent has no board; every other kind needs one", () => {
    assert.doesNotThrow(() => checkBoardPlacement({ kind: "gateway_main" }));
    assert.doesNotThrow(() => checkBoardPlacement({ kind: "gateway_main", boardId: null }));
    assert.throws(() => checkBoardPlacement({ kind: "gateway_main", boardId: "b" }), refusal("invalid", "A gateway_main agent has no board"));
    for (const kind of ["board_lead", "board_worker"] as const) {
      assert.doesNotThrow(() => checkBoardPlacement({ kind, boardId: "b" }));
      assert.throws(() => checkBoardPlacement({ kind }), refusal("invalid", `A ${kind} needs a boardId`));
      assert.throws(() => checkBoardPlacement({ kind, boardId: null }), refusal("invalid", `A ${kind} needs a boardId`));
    }
  });

  test("a simulator behaviour only on a simulator gateway", () => {
    assert.doesNotThrow(() => checkSimulatorBehaviour({ simulatorBehaviour: "flaky" }, "simulator"));
    assert.doesNotThrow(() => checkSimulatorBehaviour({}, "http"));
    assert.doesNotThrow(() => checkSimulatorBehaviour({ simulatorBehaviour: null }, "openclaw"));
    for (const driver of ["http", "openclaw"]) {
      assert.throws(
        () => checkSimulatorBehaviour({ simulatorBehaviour: "healthy" }, driver),
        refusal("invalid", "simulatorBehaviour applies to simulator gateways only"),
      );
    }
  });
});
