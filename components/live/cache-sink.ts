// The TanStack Query side of live updates: pushed rows and events are buffered briefly and written into every cached
// view of them (the board's pages, agents.list / agents.get / agents.timeline, events.list, fleet.timeline); pushes of
// the last seconds are replayed over data fetched before them. The board's own reconciliation is lib/board-cache.ts.
import type { InfiniteData, QueryClient, QueryKey } from "@tanstack/react-query";
import { matchesEventsInput, matchesListInput } from "@/lib/client/list-match";
import type { AgentRow } from "@/lib/agent-row";
import { applyRows, mergeRowIntoView, type PagesQuery, type RowPage } from "@/lib/board-cache";
import { toDate } from "@/lib/time";
import type { Agent, AgentDetail, AgentListInput, AgentTimeline, EventsListInput, FleetTimeline, LifecycleEvent } from "@/lib/client/types";
import type { useTRPC } from "../providers";

type Trpc = ReturnType<typeof useTRPC>;

/** How long pushes are buffered before one cache write (keeps a 10k-agent fleet converging smooth). */
const FLUSH_MS = 120;
/** Status counts are refetched at most this often while rows change status (one GROUP BY on the server). */
const COUNTS_MS = 1_500;

/** The board's loaded pages (components/board/board.tsx), decoded rows per page, one cache entry per filter and sort. */
export const BOARD_PAGES_KEY = ["board", "pages"] as const;
export function boardPagesKey(q: PagesQuery): QueryKey {
  return [...BOARD_PAGES_KEY, q];
}
type BoardPages = InfiniteData<RowPage, string | null>;

/**
 * Agents known to be deleted. The server pushes the agent once more with status `deleting` and then nothing (the row is
 * gone); its `operator.action` event ("deleted agent") is the signal that removes it from every list.
 */
export const removedIds = new Set<string>();

export interface Sink {
  client: QueryClient;
  /** One `agent.updated` message: a batch of board rows. */
  rows(rows: AgentRow[]): void;
  event(event: LifecycleEvent): void;
  /** Drop a deleted agent from every list, and ignore late pushes about it. */
  remove(id: string): void;
  health(): void;
  /** Data fetched before a subscription took effect may have missed pushes: refetch it. */
  resync(rooms: string[], since: number): void;
  /** After a reconnect: refetch everything that is shown. */
  refetchAll(): void;
}

/** Whether a merge changed nothing shown (a repeated push): then the cache is left alone. */
function sameFields(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k of Object.keys(x)) {
    const u = x[k];
    const v = y[k];
    if (u === v) continue;
    if (u instanceof Date && v instanceof Date && u.getTime() === v.getTime()) continue;
    return false;
  }
  return true;
}

function inputOf<T>(key: QueryKey): T | undefined {
  const meta = key[1] as { input?: T } | undefined;
  return meta?.input;
}

export function createSink(client: QueryClient, trpc: Trpc): Sink {
  const agents = new Map<string, AgentRow>();
  const removals = new Set<string>();
  const events: LifecycleEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;

  const schedule = () => {
    timer ??= setTimeout(flush, FLUSH_MS);
  };

  // Pushes of the last seconds. A page or list fetched before a push can arrive after it (a resync, a refetch after
  // reconnect, the next page while scrolling): those rows are older than what was pushed, so the pushed versions are
  // applied again on top (only where newer, so this settles at once).
  const recent = new Map<string, { row: AgentRow; at: number }>();
  const RECENT_MS = 30_000;
  const listFilter = trpc.agents.list.queryFilter();
  const recentEvents: { event: LifecycleEvent; at: number }[] = [];
  const eventsFilter = trpc.events.list.queryFilter();
  const recentRows = () => {
    const cutoff = Date.now() - RECENT_MS;
    for (const [id, r] of recent) if (r.at < cutoff) recent.delete(id);
    return [...recent.values()].map((r) => r.row);
  };
  client.getQueryCache().subscribe((e) => {
    if (e.type !== "updated" || e.action.type !== "success" || e.action.manual) return;
    const key = e.query.queryKey;
    if (recentEvents.length && client.getQueryCache().findAll(eventsFilter).includes(e.query)) {
      // Same for event lists: events pushed while a fetch was on its way are merged back in (newest first).
      const data = e.query.state.data as LifecycleEvent[] | undefined;
      if (!data) return;
      const cutoff = Date.now() - RECENT_MS;
      while (recentEvents.length && recentEvents[0].at < cutoff) recentEvents.shift();
      const input = inputOf<EventsListInput>(key);
      const known = new Set(data.map((x) => x.id));
      const newest = data.length ? BigInt(data[0].id) : 0n;
      const missing = recentEvents
        .map((r) => r.event)
        .filter((x) => !known.has(x.id) && BigInt(x.id) > newest && matchesEventsInput(x, input))
        .reverse();
      if (missing.length) client.setQueryData<LifecycleEvent[]>(key, [...missing, ...data]);
      return;
    }
    if (recent.size === 0) return;
    if (key[0] === BOARD_PAGES_KEY[0] && key[1] === BOARD_PAGES_KEY[1]) {
      const data = e.query.state.data as BoardPages | undefined;
      if (!data) return;
      const result = applyRows(data.pages, recentRows(), key[2] as PagesQuery, removedIds);
      if (result.changed) client.setQueryData<BoardPages>(key, { ...data, pages: result.pages });
      return;
    }
    if (!client.getQueryCache().findAll(listFilter).includes(e.query)) return;
    const data = e.query.state.data as Agent[] | undefined;
    if (!data) return;
    const next = mergeIntoList(data, new Map(recentRows().map((r) => [r.id, r])), new Set(), inputOf<AgentListInput>(key));
    if (next.list !== data) client.setQueryData<Agent[]>(key, next.list);
  });

  /**
   * Full agent views (agents.list: the gateway page, the CLI) take a pushed row's fields; an agent the list has not
   * got, or a change the row cannot carry (a new error text), means refetching the list.
   */
  function mergeIntoList(data: Agent[], rows: Map<string, AgentRow>, gone: Set<string>, input: AgentListInput | undefined) {
    let changed = false;
    let refetch = false;
    const seen = new Set<string>();
    const list: Agent[] = [];
    for (const current of data) {
      if (gone.has(current.id)) {
        changed = true;
        continue;
      }
      const row = rows.get(current.id);
      if (!row) {
        list.push(current);
        continue;
      }
      seen.add(current.id);
      const merged = mergeRowIntoView(current, row);
      if (merged === null) list.push(current);
      else if (merged === "refetch") {
        refetch = true;
        list.push(current);
      } else if (row.updatedAt === toDate(current.updatedAt)?.getTime() && sameFields(merged, current)) list.push(current);
      else {
        changed = true;
        if (matchesListInput(merged, input)) list.push(merged);
      }
    }
    for (const [id, row] of rows) if (!seen.has(id) && matchesListInput(row as unknown as Agent, input)) refetch = true;
    return { list: changed ? list : data, refetch };
  }

  let countsTimer: ReturnType<typeof setTimeout> | null = null;
  let countsAt = 0;
  function countsChanged() {
    if (countsTimer) return;
    const wait = Math.max(0, countsAt + COUNTS_MS - Date.now());
    countsTimer = setTimeout(() => {
      countsTimer = null;
      countsAt = Date.now();
      void client.invalidateQueries({ ...trpc.agents.counts.queryFilter(), refetchType: "active" });
    }, wait);
  }

  function flushAgents() {
    if (agents.size === 0 && removals.size === 0) return;
    const pending = new Map([...agents].filter(([id]) => !removedIds.has(id)));
    const gone = new Set(removals);
    const stamp = Date.now();
    for (const [id, row] of pending) recent.set(id, { row, at: stamp });
    for (const id of gone) recent.delete(id);
    agents.clear();
    removals.clear();
    const batch = [...pending.values()];

    // The board's pages: one reconciled write per cached filter and sort (lib/board-cache.ts).
    let countsStale = gone.size > 0;
    for (const [key, data] of client.getQueriesData<BoardPages>({ queryKey: BOARD_PAGES_KEY })) {
      if (!data) continue;
      const result = applyRows(data.pages, batch, key[2] as PagesQuery, gone);
      if (result.changed) client.setQueryData<BoardPages>(key, { ...data, pages: result.pages });
      if (result.countsStale || result.beyond > 0) countsStale = true;
    }
    if (countsStale) countsChanged();

    for (const [key, data] of client.getQueriesData<Agent[]>(trpc.agents.list.queryFilter())) {
      if (!data) continue;
      const next = mergeIntoList(data, pending, gone, inputOf<AgentListInput>(key));
      if (next.list !== data) client.setQueryData<Agent[]>(key, next.list);
      if (next.refetch) void client.invalidateQueries({ queryKey: key, exact: true, refetchType: "active" });
    }

    // agents.get: merge the row, keep the attempts (refreshed when lifecycle events arrive).
    for (const row of pending.values()) {
      const key = trpc.agents.get.queryKey({ id: row.id });
      const old = client.getQueryData<AgentDetail>(key);
      if (!old) continue;
      const merged = mergeRowIntoView(old, row);
      if (merged === "refetch") void client.invalidateQueries({ queryKey: key, exact: true, refetchType: "active" });
      else if (merged) client.setQueryData<AgentDetail>(key, merged);
    }
  }

  function flushEvents() {
    if (events.length === 0) return;
    const batch = events.splice(0, events.length);
    const stamp = Date.now();
    for (const event of batch) recentEvents.push({ event, at: stamp });
    if (recentEvents.length > 5_000) recentEvents.splice(0, recentEvents.length - 5_000);
    const byAgent = new Map<string, LifecycleEvent[]>();
    for (const e of batch) {
      if (!e.agentId) continue;
      const list = byAgent.get(e.agentId) ?? [];
      list.push(e);
      byAgent.set(e.agentId, list);
    }

    // agents.timeline of that agent: events are stored oldest first.
    for (const [agentId, list] of byAgent) {
      for (const [key, data] of client.getQueriesData<AgentTimeline>(trpc.agents.timeline.queryFilter({ id: agentId }))) {
        if (!data) continue;
        const known = new Set(data.events.map((e) => e.id));
        const fresh = list.filter((e) => !known.has(e.id));
        if (fresh.length === 0) continue;
        const merged = [...data.events, ...fresh].sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
        client.setQueryData<AgentTimeline>(key, { ...data, events: merged });
      }
      // Wake attempts (agents.get) change with lifecycle events: refetch the agent if it is shown.
      void client.invalidateQueries({ ...trpc.agents.get.queryFilter({ id: agentId }), refetchType: "active" });
    }

    // fleet.timeline: status changes extend the state timeline of their agent.
    const changes = batch.filter((e) => e.event === "agent.status.changed" && e.agentId && typeof e.data?.to === "string");
    if (changes.length) {
      for (const [key, data] of client.getQueriesData<FleetTimeline>(trpc.fleet.timeline.queryFilter())) {
        if (!data) continue;
        const byAgent = new Map<string, [number, string][]>();
        for (const e of changes) {
          const list = byAgent.get(e.agentId!) ?? [];
          list.push([toDate(e.at)?.getTime() ?? Date.now(), String(e.data?.to)]);
          byAgent.set(e.agentId!, list);
        }
        let changed = false;
        const agents = data.agents.map((a) => {
          const add = byAgent.get(a.id);
          if (!add) return a;
          const last = a.changes[a.changes.length - 1]?.[0] ?? 0;
          const fresh = add.filter(([t]) => t > last);
          if (!fresh.length) return a;
          changed = true;
          return { ...a, status: fresh[fresh.length - 1][1] as typeof a.status, changes: [...a.changes, ...fresh] };
        });
        if (changed) client.setQueryData<FleetTimeline>(key, { ...data, agents });
      }
    }

    // events.list: newest first.
    const lists = client.getQueriesData<LifecycleEvent[]>(trpc.events.list.queryFilter());
    for (const [key, data] of lists) {
      if (!data) continue;
      const input = inputOf<EventsListInput>(key);
      const known = new Set(data.map((e) => e.id));
      const fresh = batch.filter((e) => !known.has(e.id) && matchesEventsInput(e, input)).reverse();
      if (fresh.length === 0) continue;
      const limit = input?.limit ?? 200;
      client.setQueryData<LifecycleEvent[]>(key, [...fresh, ...data].slice(0, Math.max(limit, data.length)));
    }
  }

  // Gateway views (gateways.get / gateways.list) are refetched when an event says they changed: a status change of the
  // gateway, the end of a template sync, or (throttled) agents changing status, which moves the per-status counts.
  let gatewaysStale = false;
  let lastGatewayRefetch = 0;
  function flushGateways() {
    if (!gatewaysStale) return;
    const now = Date.now();
    if (now - lastGatewayRefetch < 2_000) {
      schedule();
      return;
    }
    gatewaysStale = false;
    lastGatewayRefetch = now;
    void client.invalidateQueries({ ...trpc.gateways.get.queryFilter(), refetchType: "active" });
    void client.invalidateQueries({ ...trpc.gateways.list.queryFilter(), refetchType: "active" });
  }

  function flush() {
    timer = null;
    flushAgents();
    flushEvents();
    flushGateways();
  }

  return {
    client,
    rows(rows) {
      for (const row of rows) {
        const had = agents.get(row.id);
        if (!had || row.updatedAt >= had.updatedAt) agents.set(row.id, row);
      }
      schedule();
    },
    event(event) {
      events.push(event);
      if (
        event.event === "gateway.status.changed" ||
        event.event === "agent.status.changed" ||
        (event.event.startsWith("gateway.templates.sync.") && !event.agentId) ||
        (event.event === "operator.action" && !event.agentId && event.gatewayId)
      ) {
        gatewaysStale = true;
      }
      if (event.event === "operator.action" && event.agentId && event.data?.action === "deleted agent") {
        removedIds.add(event.agentId);
        removals.add(event.agentId);
      }
      schedule();
    },
    remove(id) {
      removedIds.add(id);
      removals.add(id);
      schedule();
    },
    health() {
      void client.invalidateQueries(trpc.system.health.queryFilter());
      void client.invalidateQueries({ ...trpc.system.failedJobs.queryFilter(), refetchType: "active" });
    },
    resync(rooms, since) {
      const stale = { predicate: (q: { state: { dataUpdatedAt: number } }) => q.state.dataUpdatedAt > 0 && q.state.dataUpdatedAt < since };
      for (const room of rooms) {
        if (room === "fleet" || room.startsWith("gateway:") || room.startsWith("board:")) {
          void client.invalidateQueries({ queryKey: BOARD_PAGES_KEY, ...stale });
          void client.invalidateQueries({ ...trpc.agents.counts.queryFilter(), ...stale });
          void client.invalidateQueries({ ...trpc.agents.list.queryFilter(), ...stale });
          void client.invalidateQueries({ ...trpc.events.list.queryFilter(), ...stale });
        } else if (room.startsWith("agent:")) {
          const id = room.slice("agent:".length);
          void client.invalidateQueries({ ...trpc.agents.get.queryFilter({ id }), ...stale });
          void client.invalidateQueries({ ...trpc.agents.timeline.queryFilter({ id }), ...stale });
        }
      }
    },
    refetchAll() {
      void client.invalidateQueries();
    },
  };
}
