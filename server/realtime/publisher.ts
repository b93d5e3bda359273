// Pushes to browsers. Rooms: "fleet" (everything), "gateway:<id>", "board:<id>", "agent:<id>".
// Works with a Socket.IO Server (web process) or a Postgres emitter (a worker-only process): both expose to().emit().
//
// Agent changes are coalesced: rows are buffered and every PUSH_INTERVAL_MS each room gets ONE `agent.updated`
// message carrying its changed rows in the board's wire form (lib/agent-row.ts, latest row per agent wins). With the
// PostgreSQL adapter every emit is a NOTIFY, so with it the batches of an interval travel to the other processes as
// ONE cluster message (serverSideEmit, relayed by `relayAgentRows` in each web process) and are delivered to this
// process's sockets directly: a fleet heartbeating thousands of times a second costs one NOTIFY per process per
// interval, not one per heartbeat or per agent room. Rooms that would get the very same rows share one emit.
import { Server as SocketServer } from "socket.io";
import { PostgresAdapter } from "@socket.io/postgres-adapter";
import { rooms, SOCKET_EVENTS } from "../../lib/events";
import { encodePush } from "../../lib/push";
import type { StoredEvent } from "../events/bus";
import type { Publisher } from "../events/publisher";
import type { AgentView } from "../agent-model/view";
import { encodeRows, type AgentRow, type EncodedRows } from "../../lib/agent-row";
import { rowFromView } from "../agent-model/row";

export interface Broadcaster {
  to(room: string | string[]): { emit(event: string, ...args: unknown[]): unknown };
}


/** How long agent changes are buffered before one message per room goes out. */
export const PUSH_INTERVAL_MS = 100;

/** The cluster message carrying one interval's row batches to the other processes. */
const AGENT_ROWS_RELAY = "mc:agent-rows";

type RowBatches = { rooms: string[]; rows: EncodedRows }[];

function deliver(target: Pick<Broadcaster, "to">, batches: RowBatches): void {
  for (const b of batches) target.to(b.rooms).emit(SOCKET_EVENTS.agentUpdated, b.rows);
}

/** Web processes: deliver the row batches other processes relay to this process's sockets. */
export function relayAgentRows(io: SocketServer): void {
  io.on(AGENT_ROWS_RELAY, (batches: RowBatches) => {
    if (Array.isArray(batches)) deliver(io.local, batches);
  });
}

function roomsFor(ids: { agentId?: string | null; gatewayId?: string | null; boardId?: string | null }): string[] {
  const list = [rooms.fleet];
  if (ids.gatewayId) list.push(rooms.gateway(ids.gatewayId));
  if (ids.boardId) list.push(rooms.board(ids.boardId));
  if (ids.agentId) list.push(rooms.agent(ids.agentId));
  return list;
}

/** Keeps the newest row per agent (updatedAt orders them; on a tie the later call wins). */
function keepNewest(buffer: Map<string, AgentRow>, row: AgentRow): void {
  const held = buffer.get(row.id);
  if (!held || held.updatedAt <= row.updatedAt) buffer.set(row.id, row);
}

/**
 * Groups buffered rows by room and merges rooms whose row lists are identical (an agent alone on its gateway and
 * board: gateway, board and agent rooms share one emit; a socket in several of them still gets one message).
 */
export function roomBatches(rows: Iterable<AgentRow>): { rooms: string[]; rows: AgentRow[] }[] {
  const byRoom = new Map<string, AgentRow[]>();
  for (const row of rows) {
    for (const room of roomsFor({ agentId: row.id, gatewayId: row.gatewayId, boardId: row.boardId })) {
      let list = byRoom.get(room);
      if (!list) byRoom.set(room, (list = []));
      list.push(row);
    }
  }
  const bySet = new Map<string, { rooms: string[]; rows: AgentRow[] }>();
  for (const [room, list] of byRoom) {
    const key = list.map((r) => r.id).join(",");
    const batch = bySet.get(key);
    if (batch) batch.rooms.push(room);
    else bySet.set(key, { rooms: [room], rows: list });
  }
  return [...bySet.values()];
}

export class SocketPublisher implements Publisher {
  private readonly buffer = new Map<string, AgentRow>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly target: () => Broadcaster | undefined,
    private readonly intervalMs = PUSH_INTERVAL_MS,
  ) {}

  lifecycleEvent(event: StoredEvent): void {
    this.target()?.to(roomsFor(event)).emit(SOCKET_EVENTS.lifecycleEvent, encodePush(event));
  }

  agentUpdated(agent: AgentView): void {
    this.agentRows([rowFromView(agent)]);
  }

  agentRows(rows: readonly AgentRow[]): void {
    for (const row of rows) keepNewest(this.buffer, row);
    if (this.buffer.size > 0 && !this.timer) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      // A pending push never keeps a stopping process alive; shutdown flushes explicitly.
      this.timer.unref();
    }
  }

  systemHealth(health: unknown): void {
    this.target()?.to(rooms.fleet).emit(SOCKET_EVENTS.systemHealth, encodePush(health));
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffer.size === 0) return;
    const rows = [...this.buffer.values()];
    this.buffer.clear();
    const target = this.target();
    if (!target) return;
    const batches = roomBatches(rows).map((b) => ({ rooms: b.rooms, rows: encodeRows(b.rows) }));
    if (target instanceof SocketServer && target.of("/").adapter instanceof PostgresAdapter) {
      deliver(target.local, batches);
      target.serverSideEmit(AGENT_ROWS_RELAY, batches);
    } else {
      deliver(target, batches);
    }
  }
}
