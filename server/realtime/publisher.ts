// Pushes to browsers. Rooms: "fleet" (everything), "gateway:<id>", "board:<id>", "agent:<id>".
// Works with a Socket.IO Server (web process) or a Postgres emitter (a worker-only process): both expose to().emit().
import { SOCKET_EVENTS } from "../events/names";
import type { StoredEvent } from "../events/bus";
import type { AgentView } from "../agents/view";

export interface Broadcaster {
  to(room: string | string[]): { emit(event: string, ...args: unknown[]): unknown };
}

export interface Publisher {
  lifecycleEvent(event: StoredEvent): void;
  agentUpdated(agent: AgentView): void;
  systemHealth(health: unknown): void;
}

export const rooms = {
  fleet: "fleet",
  gateway: (id: string) => `gateway:${id}`,
  board: (id: string) => `board:${id}`,
  agent: (id: string) => `agent:${id}`,
};

function roomsFor(ids: { agentId?: string | null; gatewayId?: string | null; boardId?: string | null }): string[] {
  const list = [rooms.fleet];
  if (ids.gatewayId) list.push(rooms.gateway(ids.gatewayId));
  if (ids.boardId) list.push(rooms.board(ids.boardId));
  if (ids.agentId) list.push(rooms.agent(ids.agentId));
  return list;
}

export class SocketPublisher implements Publisher {
  constructor(private readonly target: () => Broadcaster | undefined) {}

  lifecycleEvent(event: StoredEvent): void {
    this.target()?.to(roomsFor(event)).emit(SOCKET_EVENTS.lifecycleEvent, event);
  }

  agentUpdated(agent: AgentView): void {
    this.target()?.to(roomsFor({ agentId: agent.id, gatewayId: agent.gatewayId, boardId: agent.boardId })).emit(SOCKET_EVENTS.agentUpdated, agent);
  }

  systemHealth(health: unknown): void {
    this.target()?.to(rooms.fleet).emit(SOCKET_EVENTS.systemHealth, health);
  }
}

/** For tests and processes without browsers. */
export class RecordingPublisher implements Publisher {
  readonly events: StoredEvent[] = [];
  readonly agents: AgentView[] = [];
  lifecycleEvent(event: StoredEvent): void {
    this.events.push(event);
  }
  agentUpdated(agent: AgentView): void {
    this.agents.push(agent);
  }
  systemHealth(): void {}
}
