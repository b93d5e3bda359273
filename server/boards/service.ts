// The board aggregate: a board is created with its lead agent, in one transaction, so a board never exists without
// its lead.
import { conflictOnUnique, type Db } from "../db/prisma";
import type { LifecycleService } from "../lifecycle/service";
import { ServiceError } from "../platform/service-error";

export interface BoardsDeps {
  db: Db;
  lifecycle: LifecycleService;
}

export class BoardsService {
  constructor(private readonly deps: BoardsDeps) {}

  /** Boards (of one gateway, or all) with their gateway's name and agent count. */
  list(gatewayId?: string) {
    return this.deps.db.board.findMany({
      where: { gatewayId },
      include: { gateway: { select: { name: true } }, _count: { select: { agents: true } } },
      orderBy: [{ gatewayId: "asc" }, { name: "asc" }],
    });
  }

  /** The board and its lead ("<name> lead", in its first cycle): both or neither. */
  async create(input: { name: string; gatewayId: string }, actor: string) {
    const { db, lifecycle } = this.deps;
    const gateway = await db.gateway.findUnique({ where: { id: input.gatewayId }, select: { driver: true } });
    if (!gateway) throw ServiceError.notFound("Gateway");
    if (await db.board.findFirst({ where: { gatewayId: input.gatewayId, name: input.name }, select: { id: true } })) {
      throw new ServiceError("conflict", `A board named ${input.name} already exists on this gateway`);
    }
    const leadName = `${input.name} lead`;
    if (await db.agent.findFirst({ where: { gatewayId: input.gatewayId, name: leadName }, select: { id: true } })) {
      throw new ServiceError("conflict", `An agent named ${leadName} already exists on this gateway (the board's lead would take that name)`);
    }
    const boardId = crypto.randomUUID();
    const lead = await lifecycle
      .createAgent(
        { gatewayId: input.gatewayId, boardId, name: leadName, kind: "board_lead", simulatorBehaviour: gateway.driver === "simulator" ? "healthy" : null },
        actor,
        async (tx) => {
          await tx.board.create({ data: { id: boardId, name: input.name, gatewayId: input.gatewayId } });
        },
      )
      // Another request took the board's or the lead's name since the checks above.
      .catch(conflictOnUnique(`The board ${input.name} or its lead ${leadName} already exists on this gateway`));
    const board = await db.board.findUniqueOrThrow({ where: { id: boardId } });
    return { ...board, leadAgentId: lead.id };
  }
}
