// The port the event bus and services push live updates through; server/realtime implements it over Socket.IO.
import type { StoredEvent } from "./bus";
import type { AgentView } from "../agent-model/view";
import type { AgentRow } from "../../lib/agent-row";

export interface Publisher {
  lifecycleEvent(event: StoredEvent): void;
  /** An agent changed (full view); pushed with the next coalesced batch. */
  agentUpdated(agent: AgentView): void;
  /** Agents changed, as board rows straight from SQL (a batched heartbeat's RETURNING): no view read needed. */
  agentRows(rows: readonly AgentRow[]): void;
  systemHealth(health: unknown): void;
  /** Sends what is buffered now (shutdown, tests). */
  flush(): void;
}
