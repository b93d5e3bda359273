// The gateway aggregate's one writer: create, update, probe, template sync, gateway-wide wake and delete. A delete
// runs as a queued fleet operation (server/fleet/operations.ts): the request marks the gateway as being deleted, which
// refuses new work on it, and answers at once; the operation deletes its agents through the lifecycle, then the
// gateway (removeDeletedGateway).
import type { PgBoss } from "pg-boss";
import { conflictOnUnique, dbNow, type Db, type Prisma, type Tx } from "../db/prisma";
import type { DriverFactory } from "../drivers";
import type { EventBus } from "../events/bus";
import type { LifecycleService } from "../lifecycle/service";
import type { Logger } from "../platform/logger";
import { ServiceError } from "../platform/service-error";
import { requestGatewayProbe } from "../queue/queues";
import { sealSecret } from "../secrets/crypto";
import type { GatewayInput, GatewayUpdateInput } from "../../lib/contract/schemas";
import { probeGateway, type ProbeOutcome } from "./probe";
import { checkNotDeleting, checkUrl, connectionReset } from "./rules";
import { runningSync, startTemplateSync } from "./template-sync";
import { listGatewayViews, readGatewayView, type GatewayView } from "./view";

interface GatewayOperationInput {
  kind: "wake_gateway" | "gateway_delete";
  gatewayId: string;
  agentIds: string[];
  startedBy: string;
}

/** The queued fleet operations a gateway starts (FleetOperations, server/fleet/operations.ts). */
export interface GatewayOperations {
  start(input: GatewayOperationInput): Promise<{ id: string }>;
  /** Records the operation and its job in the caller's transaction. */
  enqueue(tx: Tx, input: GatewayOperationInput): Promise<string>;
  /** Makes an operation enqueued in a committed transaction known (its first progress). */
  announce(id: string): Promise<unknown>;
}

export interface GatewaysDeps {
  db: Db;
  boss: PgBoss;
  events: EventBus;
  drivers: DriverFactory;
  lifecycle: Pick<LifecycleService, "createAgent">;
  operations: GatewayOperations;
  logger: Logger;
}

export interface GatewayDeleteStarted {
  id: string;
  name: string;
  /** The agents the delete found when it started. */
  deletedAgents: number;
  operationId: string;
  /** False when a delete of the gateway was already under way: its operation is the answer. */
  started: boolean;
}

const nameTaken = (name: string) => `A gateway named ${name} already exists`;

const ACTIVE_DELETE = { kind: "gateway_delete", status: { in: ["queued", "running"] } } satisfies Prisma.FleetOperationWhereInput;

/** The last step of a gateway delete, once its agents are gone: its sync runs, then the gateway (boards go with it). */
export async function removeDeletedGateway(db: Db, gatewayId: string): Promise<void> {
  await db.$transaction([
    db.templateSyncRun.deleteMany({ where: { gatewayId } }),
    // Any agent the delete did not walk goes with the row (the gateway refused new ones meanwhile).
    db.gateway.deleteMany({ where: { id: gatewayId } }),
  ]);
}

export class GatewaysService {
  constructor(private readonly deps: GatewaysDeps) {}

  list(): Promise<GatewayView[]> {
    return listGatewayViews(this.deps.db);
  }

  async get(id: string) {
    const gateway = await this.view(id);
    const boards = await this.deps.db.board.findMany({ where: { gatewayId: id }, orderBy: { name: "asc" } });
    return { ...gateway, boards };
  }

  async create(input: GatewayInput, actor: string): Promise<GatewayView> {
    const { lifecycle } = this.deps;
    checkUrl(input.driver, input.url);
    await this.checkNameFree(input.name);
    const { token, ...fields } = input;
    const id = crypto.randomUUID();
    // The gateway and its main agent in one transaction: a gateway never exists without its main agent.
    await lifecycle
      .createAgent({ gatewayId: id, name: "main", kind: "gateway_main", simulatorBehaviour: input.driver === "simulator" ? "healthy" : null }, actor, async (tx) => {
        await tx.gateway.create({ data: { ...fields, id, tokenSecret: sealSecret(token) } });
      })
      .catch(conflictOnUnique(nameTaken(input.name)));
    // Find out at once whether it answers, rather than at the next periodic probe.
    await this.requestProbe(id);
    return this.view(id);
  }

  /** Returns the gateway and what changed (stored field names, the token as "token" or "token cleared"). */
  async update(input: GatewayUpdateInput): Promise<{ gateway: GatewayView; changed: string[] }> {
    const { db } = this.deps;
    const { id, token, ...fields } = input;
    const current = await db.gateway.findUnique({ where: { id }, select: { name: true, driver: true, url: true } });
    if (!current) throw ServiceError.notFound("Gateway");
    checkUrl(current.driver, fields.url === undefined ? current.url : fields.url);
    if (fields.name !== undefined && fields.name !== current.name) await this.checkNameFree(fields.name);
    const data: Prisma.GatewayUpdateInput = {};
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) (data as Record<string, unknown>)[key] = value;
    if (token !== undefined) data.tokenSecret = sealSecret(token);
    const changed = [...Object.keys(data).filter((k) => k !== "tokenSecret"), ...(token !== undefined ? [token === null ? "token cleared" : "token"] : [])];
    const { connectionChanged, reset } = connectionReset(data, current.url);
    await db.gateway.update({ where: { id }, data: { ...data, ...reset } }).catch(conflictOnUnique(nameTaken(fields.name ?? current.name)));
    if (connectionChanged) await this.requestProbe(id);
    return { gateway: await this.view(id), changed };
  }

  async probe(id: string): Promise<{ gateway: GatewayView; outcome: ProbeOutcome }> {
    const { db, events, drivers, logger } = this.deps;
    const outcome = await probeGateway({ db, events, drivers, logger }, id);
    if (!outcome) throw ServiceError.notFound("Gateway");
    return { gateway: await this.view(id), outcome };
  }

  /** Pushes the current template revision to every agent of the gateway (docs/architecture.md, Contracts (templates)); progress arrives as events. */
  async syncTemplates(id: string, wake: boolean, actor: string): Promise<{ runId: string; name: string }> {
    const gateway = await this.acceptingWork(id);
    const running = await runningSync(this.deps.db, id);
    if (running) throw new ServiceError("conflict", `A template sync of ${gateway.name} is already running (run ${running})`);
    const { runId } = await startTemplateSync(this.deps.db, this.deps.boss, { gatewayId: id, wake, actor });
    return { runId, name: gateway.name };
  }

  /** A wake cycle for every agent of the gateway, as a queued fleet operation; answers at once. */
  async wakeAll(id: string, actor: string): Promise<{ operationId: string; name: string }> {
    const gateway = await this.acceptingWork(id);
    const operation = await this.deps.operations.start({ kind: "wake_gateway", gatewayId: id, agentIds: [], startedBy: actor });
    return { operationId: operation.id, name: gateway.name };
  }

  /** Recent sync runs of a gateway, newest first, each with its per-agent results. */
  async syncRuns(id: string, limit: number) {
    const { db } = this.deps;
    const runs = await db.templateSyncRun.findMany({
      where: { gatewayId: id },
      orderBy: { startedAt: "desc" },
      take: limit,
      include: { results: { orderBy: { at: "asc" } } },
    });
    const agentIds = [...new Set(runs.flatMap((r) => r.results.map((x) => x.agentId)))];
    const names = new Map((await db.agent.findMany({ where: { id: { in: agentIds } }, select: { id: true, name: true } })).map((a) => [a.id, a.name]));
    return runs.map((run) => ({ ...run, results: run.results.map((r) => ({ ...r, agentName: names.get(r.agentId) ?? null })) }));
  }

  /**
   * Starts deleting the gateway (docs/fleet.md): marks it as being deleted and queues the operation that deletes its
   * agents, then it. A delete already under way is the answer to a second one.
   */
  async delete(id: string, actor: string): Promise<GatewayDeleteStarted> {
    const { db, operations } = this.deps;
    const outcome = await db.$transaction(async (tx) => {
      // The lock orders this against agents and boards being created on the gateway (they wait for it, then see deletingAt).
      const [gateway] = await tx.$queryRaw<{ name: string }[]>`SELECT name FROM "Gateway" WHERE id = ${id}::uuid FOR UPDATE`;
      if (!gateway) return null;
      const running = await tx.fleetOperation.findFirst({ where: { gatewayId: id, ...ACTIVE_DELETE }, select: { id: true, total: true }, orderBy: { createdAt: "desc" } });
      if (running) return { id, name: gateway.name, deletedAgents: running.total, operationId: running.id, started: false };
      // A delete whose operation failed for good left deletingAt set: a new one keeps it.
      await tx.gateway.updateMany({ where: { id, deletingAt: null }, data: { deletingAt: await dbNow(tx) } });
      const agentIds = (await tx.agent.findMany({ where: { gatewayId: id }, select: { id: true } })).map((a) => a.id);
      const operationId = await operations.enqueue(tx, { kind: "gateway_delete", gatewayId: id, agentIds, startedBy: actor });
      return { id, name: gateway.name, deletedAgents: agentIds.length, operationId, started: true };
    });
    if (!outcome) throw ServiceError.notFound("Gateway");
    if (outcome.started) await operations.announce(outcome.operationId);
    return outcome;
  }

  private async view(id: string): Promise<GatewayView> {
    const gateway = await readGatewayView(this.deps.db, id);
    if (!gateway) throw ServiceError.notFound("Gateway");
    return gateway;
  }

  /** The gateway, if it exists and is not being deleted. */
  private async acceptingWork(id: string): Promise<{ name: string }> {
    const gateway = await this.deps.db.gateway.findUnique({ where: { id }, select: { name: true, deletingAt: true } });
    if (!gateway) throw ServiceError.notFound("Gateway");
    checkNotDeleting(gateway);
    return gateway;
  }

  private async checkNameFree(name: string): Promise<void> {
    if (await this.deps.db.gateway.findUnique({ where: { name }, select: { id: true } })) throw new ServiceError("conflict", nameTaken(name));
  }

  private async requestProbe(gatewayId: string): Promise<void> {
    await requestGatewayProbe(this.deps.boss, gatewayId).catch((err) => this.deps.logger.warn({ err: String(err) }, "could not schedule a gateway probe"));
  }
}
