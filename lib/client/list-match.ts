// Which cached list a pushed agent or event belongs in: the browser's copy of the server's where clauses
// (agents.list, events.list), so live updates add and drop rows exactly as a refetch would.
import type { Agent, AgentListInput, EventsListInput, LifecycleEvent } from "./types";

/** Whether an agent belongs in the result of `agents.list` with this input (mirrors the server's where clause). */
export function matchesListInput(agent: Agent, input: AgentListInput | undefined): boolean {
  if (!input) return true;
  if (input.status?.length && !input.status.includes(agent.status)) return false;
  if (input.gatewayId && agent.gatewayId !== input.gatewayId) return false;
  if (input.boardId && agent.boardId !== input.boardId) return false;
  if (input.kind?.length && !input.kind.includes(agent.kind)) return false;
  if (input.q && !agent.name.toLowerCase().includes(input.q.trim().toLowerCase())) return false;
  return true;
}

export function matchesEventsInput(event: LifecycleEvent, input: EventsListInput | undefined): boolean {
  if (!input) return true;
  if (input.agentId && event.agentId !== input.agentId) return false;
  if (input.gatewayId && event.gatewayId !== input.gatewayId) return false;
  if (input.boardId && event.boardId !== input.boardId) return false;
  if (input.events?.length && !input.events.includes(event.event)) return false;
  if (input.before) return false; // an older page: new events never belong there
  return true;
}
