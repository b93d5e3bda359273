// The agent aggregate's operator side: reading agents, creating them (one or in bulk), starting their cycles, revoking
// their tokens and deleting them. Lifecycle steps themselves belong to the lifecycle (docs/lifecycle.md); this service
// checks what an operator asks for and hands it on.
import { conflictOnUnique, type Db, type Prisma } from "../db/prisma";
import { toStoredEvent, type EventBus } from "../events/bus";
import type { Publisher } from "../events/publisher";
import { agentViewSelect, toAgentView, type AgentView, type PolicyDefaults } from "../agent-model/view";
import { revokeTokenColumns } from "../agent-model/tokens";
import type { CreateAgentInput, LifecycleService } from "../lifecycle/service";
import { lockAgentRow } from "../lifecycle/lock";
import { BulkCreateRejected, createAgentsInBulk, validateBulk, type BulkCreateInput } from "../fleet/create";
import type { FleetOperations } from "../fleet/operations";
import { ServiceError, type ServiceErrorKind } from "../platform/service-error";
import type { AgentKind, AgentStatus } from "../../lib/contract/enums";
import type { PageFilter } from "../../lib/board-query";
import { agentCounts, agentPage, decodeCursor, type AgentPage, type PageInput } from "./page";
import { checkBoardPlacement, checkSimulatorBehaviour } from "./rules";

export interface AgentsDeps {
  db: Db;
  lifecycle: LifecycleService;
  events: EventBus;
  publisher: Publisher;
  fleet: FleetOperations;
  settings: {
    policyDefaults: PolicyDefaults;
    /** The interval given to agents created in bulk (the lifecycle gives it to agents created one by one). */
    heartbeatIntervalSeconds: number;
    /** Agents per transaction of a bulk creation. */
    createChunkSize: number;
  };
}

export interface AgentListFilter {
  status?: AgentStatus[];
  gatewayId?: string;
  boardId?: string;
  kind?: AgentKind[];
  /** Part of the name, any case. */
  q?: string;
  limit: number;
}

export type NewAgent = Pick<CreateAgentInput, "gatewayId" | "boardId" | "name" | "kind" | "simulatorBehaviour">;

const BULK_REFUSAL: Record<BulkCreateRejected["code"], ServiceErrorKind> = {
  BAD_REQUEST: "invalid",
  NOT_FOUND: "not_found",
  CONFLICT: "conflict",
};

function whereOf(filter: AgentListFilter): Prisma.AgentWhereInput {
  return {
    status: filter.status?.length ? { in: filter.status } : undefined,
    gatewayId: filter.gatewayId,
    boardId: filter.boardId,
    kind: filter.kind?.length ? { in: filter.kind } : undefined,
    name: filter.q ? { contains: filter.q, mode: "insensitive" } : undefined,
  };
}

export class AgentsService {
  constructor(private readonly deps: AgentsDeps) {}

  async list(filter: AgentListFilter): Promise<AgentView[]> {
    const rows = await this.deps.db.agent.findMany({
      where: whereOf(filter),
      select: agentViewSelect,
      orderBy: [{ gatewayId: "asc" }, { boardId: "asc" }, { kind: "asc" }, { name: "asc" }],
      take: filter.limit,
    });
    return rows.map((r) => toAgentView(r, this.deps.settings.policyDefaults));
  }

  /** One page of board rows in keyset order; a cursor from another sort is refused. */
  async page(input: PageInput): Promise<AgentPage> {
    const after = input.cursor ? decodeCursor(input.cursor, input.sort) : null;
    if (input.cursor && !after) throw new ServiceError("invalid", "cursor does not belong to this sort");
    return agentPage(this.deps.db, this.deps.settings.policyDefaults.maxWakeAttempts, input, after);
  }

  /** Agents per status under the board's filters. */
  counts(filter: PageFilter): Promise<Record<AgentStatus, number>> {
    return agentCounts(this.deps.db, filter);
  }

  /** The agent with its last 50 wake attempts, newest first. */
  async get(id: string) {
    const view = await this.deps.lifecycle.view(id);
    if (!view) throw ServiceError.notFound("Agent");
    const attempts = await this.deps.db.wakeAttempt.findMany({ where: { agentId: id }, orderBy: [{ sentAt: "desc" }], take: 50 });
    return { ...view, attempts };
  }

  /** The first `limit` wake attempts and the last `limit` events, both oldest first. */
  async timeline(id: string, limit: number) {
    const [attempts, events] = await Promise.all([
      this.deps.db.wakeAttempt.findMany({ where: { agentId: id }, orderBy: { sentAt: "asc" }, take: limit }),
      this.deps.db.lifecycleEvent.findMany({ where: { agentId: id }, orderBy: { at: "desc" }, take: limit }),
    ]);
    return { attempts, events: events.reverse().map(toStoredEvent) };
  }

  /** One agent, in its first cycle at once; a refusal changes nothing. */
  async create(input: NewAgent, actor: string): Promise<AgentView> {
    const { db } = this.deps;
    const gateway = await db.gateway.findUnique({ where: { id: input.gatewayId }, select: { driver: true } });
    if (!gateway) throw ServiceError.notFound("Gateway");
    checkBoardPlacement(input);
    if (input.boardId) {
      const board = await db.board.findUnique({ where: { id: input.boardId }, select: { gatewayId: true } });
      if (!board || board.gatewayId !== input.gatewayId) throw ServiceError.notFound("Board on this gateway");
    }
    checkSimulatorBehaviour(input, gateway.driver);
    const taken = `An agent named ${input.name} already exists on this gateway`;
    const clash = await db.agent.findFirst({ where: { gatewayId: input.gatewayId, name: input.name }, select: { id: true } });
    if (clash) throw new ServiceError("conflict", taken);
    return this.deps.lifecycle.createAgent(input, actor).catch(conflictOnUnique(taken));
  }

  /** A new cycle with a new token and the current templates. */
  reprovision(id: string, actor: string): Promise<AgentView> {
    return this.startCycle(id, actor, "reprovision", "provision");
  }

  /** A new cycle that only wakes an agent provisioned before. */
  wake(id: string, actor: string): Promise<AgentView> {
    return this.startCycle(id, actor, "wake", "wake");
  }

  /**
   * A new token, delivered through the gateway by a provisioning cycle. The previous token stays valid for
   * AGENT_TOKEN_OVERLAP_SECONDS, so a running agent is never locked out mid-session (docs/security.md).
   */
  rotateToken(id: string, actor: string): Promise<AgentView> {
    return this.startCycle(id, actor, "token rotation", "provision");
  }

  /**
   * Revokes the agent's current, pending and overlap tokens at once (a leaked token): its heartbeats are rejected with
   * reason "revoked" until a new token is delivered (rotateToken or reprovision).
   */
  async revokeToken(id: string): Promise<AgentView> {
    const revoked = await this.deps.db.$transaction(async (tx) => {
      if (!(await lockAgentRow(tx, id))) return false;
      const row = await tx.agent.findUniqueOrThrow({ where: { id }, select: { tokenHash: true, pendingTokenHash: true, previousTokenHash: true } });
      await tx.agent.update({ where: { id }, data: revokeTokenColumns(row) });
      return true;
    });
    if (!revoked) throw ServiceError.notFound("Agent");
    const agent = await this.deps.lifecycle.view(id);
    if (!agent) throw ServiceError.notFound("Agent");
    this.deps.publisher.agentUpdated(agent);
    return agent;
  }

  /**
   * Many agents validated as a whole (nothing is created if any row is bad), written in chunked transactions, each
   * agent in its first cycle; their provisioning runs as a queued fleet operation (docs/fleet.md). A dry run gives the
   * same answer, or refusal, without writing.
   */
  async createMany(input: BulkCreateInput & { dryRun?: boolean }, actor: string) {
    const { db, events, fleet, settings } = this.deps;
    try {
      if (input.dryRun) {
        const rows = await validateBulk(db, input);
        return { ids: [] as string[], count: rows.length, operationId: null as string | null, dryRun: true };
      }
      const result = await createAgentsInBulk(
        {
          db,
          events,
          operations: fleet,
          settings: { ...settings.policyDefaults, heartbeatIntervalSeconds: settings.heartbeatIntervalSeconds },
          chunkSize: settings.createChunkSize,
        },
        input,
        actor,
      );
      return { ...result, operationId: result.operationId as string | null, dryRun: false };
    } catch (err) {
      if (err instanceof BulkCreateRejected) throw new ServiceError(BULK_REFUSAL[err.code], err.message);
      throw err;
    }
  }

  /** Queues the reprovisioning of the agents that exist as one fleet operation, and names the ids that do not. */
  async bulkReprovision(ids: readonly string[], actor: string) {
    const wanted = [...new Set(ids)];
    const found = await this.deps.db.agent.findMany({ where: { id: { in: wanted } }, select: { id: true } });
    const existing = new Set(found.map((a) => a.id));
    const missing = wanted.filter((agentId) => !existing.has(agentId));
    const operation = existing.size > 0 ? await this.deps.fleet.start({ kind: "reprovision", agentIds: [...existing], startedBy: actor }) : null;
    await this.deps.events.emit({
      event: "operator.action",
      actor,
      message: `${actor} queued the reprovision of ${existing.size} agents`,
      data: { action: "bulk reprovision", result: "ok", started: existing.size, missing: missing.length, operationId: operation?.id },
    });
    return { started: existing.size, missing, operationId: operation?.id ?? null };
  }

  /**
   * Deletes the agent from its gateway and from here. "deleting" means not finished now (e.g. the database hiccuped):
   * its delete job finishes it, and deleting again retries at once.
   */
  async delete(id: string, actor: string): Promise<{ agent: AgentView; outcome: "deleted" | "deleting" }> {
    const agent = await this.deps.lifecycle.view(id);
    if (!agent) throw ServiceError.notFound("Agent");
    const outcome = await this.deps.lifecycle.deleteAgent(id, actor);
    if (outcome === "missing") throw ServiceError.notFound("Agent");
    return { agent, outcome };
  }

  private async startCycle(id: string, actor: string, reason: string, mode: "provision" | "wake"): Promise<AgentView> {
    const agent = await this.deps.lifecycle.startCycle(id, actor, reason, mode);
    if (!agent) throw ServiceError.notFound("Agent");
    return agent;
  }
}
