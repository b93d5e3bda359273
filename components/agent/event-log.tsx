"use client";

import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { formatAbsolute, formatClock, toDate } from "@/lib/time";
import { EVENT_GROUPS, isErrorEvent } from "@/lib/events";
import type { EventsListInput, LifecycleEvent } from "@/lib/client/types";
import { useTRPC } from "../providers";
import { DataState } from "../page-state";

function eventTone(name: string): string {
  if (isErrorEvent(name)) return "text-rose-700 dark:text-rose-400";
  if (name === "agent.heartbeat" || name.endsWith(".succeeded") || name === "queue.worker.success") return "text-emerald-700 dark:text-emerald-400";
  if (name.startsWith("lifecycle.wake") || name === "lifecycle.reconcile.retriggered") return "text-amber-700 dark:text-amber-400";
  if (name === "operator.action" || name === "lifecycle.cycle.started") return "text-sky-700 dark:text-sky-400";
  return "text-zinc-600 dark:text-zinc-400";
}

const PAGE_SIZES = [200, 500, 1000];

/**
 * The filterable event log of one agent or gateway (events.list), newest first, kept live by socket pushes into the
 * same query (components/live/use-live-updates.ts).
 */
export function EventLog({ agentId, gatewayId, title = "Event log" }: { agentId?: string; gatewayId?: string; title?: string }) {
  const trpc = useTRPC();
  const [group, setGroup] = useState("all");
  const [text, setText] = useState("");
  const [size, setSize] = useState(0);
  const events = EVENT_GROUPS.find((g) => g.key === group)?.events ?? undefined;
  const input: EventsListInput = { agentId, gatewayId, events: events ?? undefined, limit: PAGE_SIZES[size] };
  const q = useQuery(trpc.events.list.queryOptions(input, { placeholderData: (prev) => prev }));
  const shown = useMemo(() => {
    const t = text.trim().toLowerCase();
    const list = q.data ?? [];
    return t ? list.filter((e) => `${e.event} ${e.message} ${e.actor ?? ""}`.toLowerCase().includes(t)) : list;
  }, [q.data, text]);

  return (
    <section className="card p-4" aria-labelledby="event-log-title">
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <h2 id="event-log-title" className="text-sm font-semibold text-zinc-700 dark:text-zinc-300">
          {title}
          {q.data ? <span className="ml-1 font-normal text-zinc-500">({shown.length}{shown.length !== q.data.length ? ` of ${q.data.length}` : ""})</span> : null}
        </h2>
        <div className="ml-auto flex flex-wrap items-center gap-2" role="search" aria-label="Filter events">
          <select className="input" aria-label="Event type" value={group} onChange={(e) => setGroup(e.target.value)} data-testid="event-filter">
            {EVENT_GROUPS.map((g) => (
              <option key={g.key} value={g.key}>
                {g.label}
              </option>
            ))}
          </select>
          <input type="search" className="input w-48" placeholder="Filter messages…" aria-label="Filter event messages" value={text} onChange={(e) => setText(e.target.value)} />
        </div>
      </div>
      <DataState
        query={q}
        what="events"
        retry
        empty={q.data?.length === 0 ? (group === "all" ? "No events yet." : "No events of this type.") : "No events match this text."}
        isEmpty={() => shown.length === 0}
      >
        {() => (
          <EventList events={shown} />
        )}
      </DataState>
      {q.data && q.data.length >= PAGE_SIZES[size] && size < PAGE_SIZES.length - 1 ? (
        <button type="button" className="btn mt-3" onClick={() => setSize((s) => s + 1)}>
          Show more (up to {PAGE_SIZES[size + 1]})
        </button>
      ) : null}
    </section>
  );
}

export function EventList({ events }: { events: LifecycleEvent[] }) {
  return (
    <ol className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800/70" data-testid="event-log" aria-label="Events, newest first">
      {events.map((e) => (
        <li key={e.id} data-testid="event-row" data-event={e.event} className="grid grid-cols-[6.5rem_minmax(0,1fr)] items-baseline gap-x-3 gap-y-0.5 py-1.5 md:grid-cols-[6.5rem_17rem_minmax(0,1fr)]">
          <span className="font-mono text-xs tabular-nums text-zinc-500" title={formatAbsolute(e.at)}>
            <time dateTime={toDate(e.at)?.toISOString()}>{formatClock(e.at, true)}</time>
          </span>
          <span className={`truncate font-mono text-xs ${eventTone(e.event)}`} title={e.event}>
            {e.event}
          </span>
          <span className="col-span-2 min-w-0 break-words md:col-span-1">
            {e.message}
            {e.generation != null || e.attempt != null || e.actor ? (
              <span className="ml-2 text-xs text-zinc-500">
                {e.generation != null ? `cycle ${e.generation}` : ""}
                {e.attempt != null ? ` · attempt ${e.attempt}` : ""}
                {e.actor ? ` · by ${e.actor}` : ""}
              </span>
            ) : null}
          </span>
        </li>
      ))}
    </ol>
  );
}
