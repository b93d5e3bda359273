// Bulk creation of agents (agents.createMany): the whole request is validated before anything is written, then rows
// go in by chunks, each chunk one transaction with one set-based INSERT for its agents and one for their
// `lifecycle.cycle.started` events. Every committed agent is already in its first cycle (status provisioning,
// generation 1, as the policy's start_cycle gives), so a crash between chunks leaves only consistent agents: the
// provisioning operation is enqueued with the last chunk, and without it the sweep resumes their provisioning like
// any provisioning whose process died (docs/fleet.md).
import { dbNow, isUniqueViolation, type Db, type Tx } from "../db/prisma";
import type { EventBus, EventInput } from "../events/bus";
import type { LifecycleSettings } from "../lifecycle/service";
import { transition, type LifecycleState, type PolicyConfig } from "../lifecycle/policy";
import type { FleetOperations } from "./operations";

import type { AgentKind } from "../../lib/contract/enums";
import { BULK_CREATE_MAX } from "../../lib/contract/schemas";

export type { AgentKind };

export interface BulkAgentInput {
  name: string;
  kind: AgentKind;
  /** Overrides the call's boardId for this row. */
  boardId?: string | null;
  simulatorBehaviour?: string | null;
}

export interface BulkCreateInput {
  gatewayId: string;
  boardId?: string | null;
  agents: BulkAgentInput[];
}

export interface RowProblem {
  /** Index in `agents` (0-based). */
  row: number;
  name: string;
  problem: string;
}

/** Thrown before anything is written; the agents service turns it into a ServiceError naming the rows. */
export class BulkCreateRejected extends Error {
  constructor(
    readonly code: "BAD_REQUEST" | "NOT_FOUND" | "CONFLICT",
    message: string,
    readonly problems: RowProblem[] = [],
  ) {
    super(message);
  }
}

const NAME = /^[\p{L}\p{N} ._-]+$/u;
const MAX_LISTED = 20;

export interface BulkCreateDeps {
  db: Db;
  events: EventBus;
  operations: FleetOperations;
  settings: Pick<LifecycleSettings, "heartbeatIntervalSeconds" | "checkinDeadlineSeconds" | "maxWakeAttempts">;
  /** Rows per transaction. */
  chunkSize: number;
  /** Tests: runs after each committed chunk (a crash between chunks). */
  afterChunk?: (committed: number) => Promise<void>;
}

export interface BulkCreateResult {
  ids: string[];
  count: number;
  operationId: string;
}

interface PreparedRow {
  id: string;
  name: string;
  kind: AgentKind;
  boardId: string | null;
  simulatorBehaviour: string | null;
}

function describe(problems: RowProblem[], total: number): string {
  const listed = problems
    .slice(0, MAX_LISTED)
    .map((p) => `agents[${p.row}]${p.name ? ` "${p.name.slice(0, 40)}"` : ""}: ${p.problem}`)
    .join("; ");
  const more = problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more` : "";
  return `${problems.length} of ${total} rows are invalid, nothing was created: ${listed}${more}`;
}

/** Every rule of agents.create, for the whole list at once; throws BulkCreateRejected naming every bad row. */
export async function validateBulk(db: Db, input: BulkCreateInput): Promise<PreparedRow[]> {
  if (input.agents.length === 0) throw new BulkCreateRejected("BAD_REQUEST", "No agents to create");
  if (input.agents.length > BULK_CREATE_MAX) throw new BulkCreateRejected("BAD_REQUEST", `At most ${BULK_CREATE_MAX} agents per call`);
  const gateway = await db.gateway.findUnique({ where: { id: input.gatewayId }, select: { id: true, driver: true } });
  if (!gateway) throw new BulkCreateRejected("NOT_FOUND", "Gateway not found");

  const boardIds = [...new Set([...input.agents.map((a) => a.boardId), input.boardId].filter((b): b is string => !!b))];
  const boards = new Set(
    boardIds.length === 0
      ? []
      : (await db.board.findMany({ where: { id: { in: boardIds }, gatewayId: input.gatewayId }, select: { id: true } })).map((b) => b.id),
  );

  const problems: RowProblem[] = [];
  const rows: PreparedRow[] = [];
  const firstRowOf = new Map<string, number>();
  input.agents.forEach((a, row) => {
    const name = a.name.trim();
    // The call's board is the default board of board kinds; a gateway_main row takes a board only if it names one.
    const boardId = a.boardId ?? (a.kind === "gateway_main" ? null : (input.boardId ?? null));
    const bad = (problem: string) => problems.push({ row, name, problem });
    if (name.length === 0) bad("name is empty");
    else if (name.length > 80) bad("name is longer than 80 characters");
    else if (!NAME.test(name)) bad("name: letters, digits, spaces, dot, dash and underscore only");
    else if (firstRowOf.has(name)) bad(`name repeats agents[${firstRowOf.get(name)}]`);
    else firstRowOf.set(name, row);
    if (a.kind === "gateway_main" && boardId) bad("a gateway_main agent has no board");
    else if (a.kind !== "gateway_main" && !boardId) bad(`a ${a.kind} needs a board`);
    else if (boardId && !boards.has(boardId)) bad("board not found on this gateway");
    if (a.simulatorBehaviour && gateway.driver !== "simulator") bad("simulatorBehaviour applies to simulator gateways only");
    rows.push({ id: crypto.randomUUID(), name, kind: a.kind, boardId, simulatorBehaviour: a.simulatorBehaviour ?? null });
  });

  const names = [...firstRowOf.keys()];
  if (names.length > 0) {
    const taken = await db.agent.findMany({ where: { gatewayId: input.gatewayId, name: { in: names } }, select: { name: true } });
    for (const { name } of taken) problems.push({ row: firstRowOf.get(name)!, name, problem: "an agent with this name already exists on this gateway" });
  }
  if (problems.length > 0) {
    problems.sort((a, b) => a.row - b.row);
    const onlyClashes = problems.every((p) => p.problem.startsWith("an agent with this name already exists"));
    throw new BulkCreateRejected(onlyClashes ? "CONFLICT" : "BAD_REQUEST", describe(problems, input.agents.length), problems);
  }
  return rows;
}

/**
 * The first cycle of a new agent, from the policy itself: the same state and events agents.create commits. Only the
 * `provision` action is left for later (the operation runs it), and a new row has no wake attempts to supersede.
 */
function firstCycle(initial: LifecycleState, actor: string, now: Date, config: PolicyConfig) {
  const result = transition(initial, { type: "start_cycle", isNew: true, startedBy: actor, reason: "agent created" }, now, config);
  if (!result.state) throw new Error("the policy refused to start a new agent's cycle");
  const emits = [];
  for (const action of result.actions) {
    if (action.type === "emit") emits.push(action);
    else if (action.type !== "provision" && action.type !== "supersede_pending_attempts") {
      throw new Error(`bulk creation cannot apply the policy action ${action.type}`);
    }
  }
  return { state: result.state, emits };
}

export async function createAgentsInBulk(deps: BulkCreateDeps, input: BulkCreateInput, actor: string): Promise<BulkCreateResult> {
  const { db, settings } = deps;
  const rows = await validateBulk(db, input);
  const gateway = await db.gateway.findUniqueOrThrow({ where: { id: input.gatewayId }, select: { checkinDeadlineSeconds: true, maxWakeAttempts: true } });
  const config: PolicyConfig = {
    checkinDeadlineSeconds: gateway.checkinDeadlineSeconds ?? settings.checkinDeadlineSeconds,
    maxWakeAttempts: gateway.maxWakeAttempts ?? settings.maxWakeAttempts,
  };
  const heartbeatIntervalSeconds = settings.heartbeatIntervalSeconds;
  const initial: LifecycleState = {
    status: "provisioning",
    statusReason: null,
    lifecycleGeneration: 0,
    wakeAttempts: 0,
    lastWakeSentAt: null,
    checkinDeadlineAt: null,
    lastSeenAt: null,
    lastProvisionError: null,
    heartbeatIntervalSeconds,
    cycleTokenGeneration: null,
  };

  const chunkSize = Math.max(1, deps.chunkSize);
  const ids = rows.map((r) => r.id);
  let operationId = "";
  for (let start = 0; start < rows.length; start += chunkSize) {
    const chunk = rows.slice(start, start + chunkSize);
    const last = start + chunkSize >= rows.length;
    try {
      await writeChunk(chunk, last);
    } catch (err) {
      // Another request took one of these names since the check: what is committed stays (whole agents), and is
      // provisioned like the rest would have been.
      if (!isUniqueViolation(err)) throw err;
      const committed = ids.slice(0, start);
      if (committed.length > 0) {
        await db.$transaction((tx) => deps.operations.enqueue(tx, { kind: "provision_created", gatewayId: input.gatewayId, agentIds: committed, startedBy: actor }));
      }
      throw new BulkCreateRejected(
        "CONFLICT",
        `A name in agents[${start}..${start + chunk.length - 1}] was taken by another request meanwhile: the first ${committed.length} agents were created, the rest not`,
      );
    }
    await deps.afterChunk?.(start + chunk.length);
  }
  return { ids, count: ids.length, operationId };

  async function writeChunk(chunk: PreparedRow[], last: boolean): Promise<void> {
    await db.$transaction(
      async (tx: Tx) => {
        const now = await dbNow(tx);
        // Same policy, same input, same clock for every row of the chunk: one decision serves them all.
        const { state, emits } = firstCycle(initial, actor, now, config);
        const { heartbeatIntervalSeconds: _interval, ...columns } = state;
        await tx.agent.createMany({
          data: chunk.map((r) => ({
            id: r.id,
            name: r.name,
            kind: r.kind,
            gatewayId: input.gatewayId,
            boardId: r.boardId,
            sessionKey: `agent:${r.kind}:${r.id}`,
            heartbeatIntervalSeconds,
            simulatorBehaviour: r.simulatorBehaviour,
            ...columns,
            cycleStartedAt: now,
            cycleStartedBy: actor,
            createdAt: now,
            updatedAt: now,
          })),
        });
        const events: EventInput[] = chunk.flatMap((r) =>
          emits.map((e) => ({
            event: e.event,
            message: e.message,
            agentId: r.id,
            gatewayId: input.gatewayId,
            boardId: r.boardId,
            generation: state.lifecycleGeneration,
            attempt: e.attempt ?? null,
            deadlineAt: e.deadlineAt ?? null,
            data: e.data,
            actor,
          })),
        );
        // Recorded for the timeline, not pushed one by one: the board learns of the new agents from the operation's
        // progress pushes, instead of 10,000 messages at once.
        await deps.events.record(tx, events);
        // The provisioning job commits with the last chunk: once it exists, every agent it names exists too.
        if (last) operationId = await deps.operations.enqueue(tx, { kind: "provision_created", gatewayId: input.gatewayId, agentIds: ids, startedBy: actor });
      },
      { timeout: 60_000, maxWait: 10_000 },
    );
  }
}
