// Names shared by the server, the browser and the CLI (scripts/mc.ts): stored and pushed event names, Socket.IO
// message names and room names. Client-safe: no imports.
// Event names are part of the product contract (docs/lifecycle.md, Events): logs, the timeline and the live stream all use them.
export const EVENT_NAMES = [
  "lifecycle.cycle.started",
  "lifecycle.provision.succeeded",
  "lifecycle.provision.failed",
  "lifecycle.wake.sent",
  "lifecycle.wake.failed",
  // Beyond the original contract: the gateway reported that the run a delivered wake started failed.
  "lifecycle.run.failed",
  "lifecycle.queue.enqueued",
  "queue.worker.success",
  "queue.worker.failed",
  "lifecycle.reconcile.deferred",
  "lifecycle.reconcile.retriggered",
  "lifecycle.reconcile.max_attempts_reached",
  "lifecycle.reconcile.skip_not_stuck",
  "lifecycle.reconcile.skip_stale_generation",
  "lifecycle.reconcile.skip_missing_agent",
  "lifecycle.reconcile.skip_deleting",
  "lifecycle.reconcile.skip_cycle_ended",
  "lifecycle.reconcile.skip_no_wake_outstanding",
  "lifecycle.reconcile.repaired",
  "lifecycle.delete.failed",
  "agent.heartbeat",
  "agent.heartbeat.rejected",
  "agent.status.changed",
  "agent.heartbeat_lost",
  "gateway.templates.sync.started",
  "gateway.templates.sync.succeeded",
  "gateway.templates.sync.failed",
  "gateway.status.changed",
  "operator.action",
  // A fleet operation's progress (server/fleet/operations.ts): pushed a few times a second, its end stored.
  "fleet.operation.progress",
] as const;

export type EventName = (typeof EVENT_NAMES)[number];

/** The events of a template sync run (the gateway page follows a run with them). */
export const TEMPLATE_SYNC_EVENTS: EventName[] = EVENT_NAMES.filter((name) => name.startsWith("gateway.templates.sync."));

/** Events that report something going wrong (the log's "Errors only" filter, its red lines). */
export function isErrorEvent(name: string): boolean {
  return /failed|max_attempts|heartbeat_lost|rejected/.test(name);
}

const named = (test: (name: EventName) => boolean): EventName[] => EVENT_NAMES.filter(test);

/** Named groups of events for the event log's filter (docs/lifecycle.md, Events); `null` is every event. */
export const EVENT_GROUPS: { key: string; label: string; events: EventName[] | null }[] = [
  { key: "all", label: "All events", events: null },
  {
    key: "cycle",
    label: "Cycle & wakes",
    events: named((n) => /^lifecycle\.(cycle|provision|wake|run)\./.test(n) || n === "lifecycle.reconcile.retriggered" || n === "lifecycle.reconcile.max_attempts_reached"),
  },
  { key: "heartbeats", label: "Heartbeats & status", events: named((n) => n.startsWith("agent.")) },
  { key: "queue", label: "Queue & reconcile", events: named((n) => /^(lifecycle\.queue|queue\.worker|lifecycle\.reconcile)\./.test(n)) },
  { key: "templates", label: "Templates", events: TEMPLATE_SYNC_EVENTS },
  { key: "operator", label: "Operator actions", events: ["operator.action"] },
  { key: "errors", label: "Errors only", events: named(isErrorEvent) },
];

/** Socket.IO server → client event names (docs/architecture.md, Contracts). */
export const SOCKET_EVENTS = {
  agentUpdated: "agent.updated",
  lifecycleEvent: "lifecycle.event",
  systemHealth: "system.health",
} as const;

/** Socket.IO client → server messages: join and leave rooms (`{ rooms: string[] }`, at most MAX_ROOMS_PER_MESSAGE). */
export const SOCKET_COMMANDS = { subscribe: "subscribe", unsubscribe: "unsubscribe" } as const;
export const MAX_ROOMS_PER_MESSAGE = 100;

/** Rooms a socket may join: the whole fleet, or one gateway, board or agent. */
export const rooms = {
  fleet: "fleet",
  gateway: (id: string) => `gateway:${id}`,
  board: (id: string) => `board:${id}`,
  agent: (id: string) => `agent:${id}`,
};

/** The room names the server accepts; one invalid room makes it refuse the whole subscription. */
export const ROOM_PATTERN = /^(fleet|(gateway|board|agent):[0-9a-f-]{36})$/;

export function isRoom(room: string): boolean {
  return ROOM_PATTERN.test(room);
}
