"use client";

import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { formatDuration } from "@/lib/time";
import type { ConvergeStats } from "@/lib/client/types";
import { useTRPC } from "../providers";
import { useLiveUpdates } from "../live/use-live-updates";
import { useNow } from "../use-now";
import { StateTimeline } from "./state-timeline";
import { DataState } from "../page-state";
import { rooms } from "@/lib/events";
import { TableHead } from "../table-head";
import { DEFAULT_FLEET_WINDOW, FLEET_WINDOWS, FLEET_WINDOW_NAMES } from "@/lib/fleet-windows";


/** /timeline: the fleet's status over a window (state timeline) and time-to-converge per gateway. */
export function FleetTimelineView() {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const windowKey = FLEET_WINDOW_NAMES.find((w) => w === params.get("window")) ?? DEFAULT_FLEET_WINDOW;
  const gatewayId = params.get("gateway") || undefined;
  const [text, setText] = useState(params.get("q") ?? "");
  useLiveUpdates([rooms.fleet]);
  const now = useNow();

  const q = useQuery(trpc.fleet.timeline.queryOptions({ window: windowKey, gatewayId }, { placeholderData: (prev) => prev, staleTime: 60_000 }));
  const gatewaysQ = useQuery(trpc.gateways.list.queryOptions());

  const setParam = (name: string, value: string | null) => {
    const p = new URLSearchParams(params.toString());
    if (value) p.set(name, value);
    else p.delete(name);
    const s = p.toString();
    router.replace(`${pathname}${s ? `?${s}` : ""}`, { scroll: false });
  };

  const rows = useMemo(() => {
    const t = text.trim().toLowerCase();
    const list = q.data?.agents ?? [];
    return t ? list.filter((a) => `${a.name} ${a.gatewayName} ${a.boardName ?? ""} ${a.status}`.toLowerCase().includes(t)) : list;
  }, [q.data, text]);

  const span = FLEET_WINDOWS[windowKey].seconds * 1000;
  const to = now || q.data?.to.getTime() || 0;
  const from = to - span;

  return (
    <div className="flex h-full flex-col">
      <div className="shrink-0 space-y-3 border-b border-zinc-200 bg-white px-4 py-3 dark:border-zinc-800 dark:bg-zinc-900">
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="text-base font-semibold">Fleet timeline</h1>
          <div role="group" aria-label="Time window" className="inline-flex overflow-hidden rounded-md border border-zinc-300 dark:border-zinc-700">
            {FLEET_WINDOW_NAMES.map((w) => (
              <button
                key={w}
                type="button"
                aria-pressed={w === windowKey}
                data-testid={`window-${w}`}
                onClick={() => setParam("window", w === DEFAULT_FLEET_WINDOW ? null : w)}
                className={`h-8 px-3 text-sm ${w === windowKey ? "bg-sky-600 text-white" : "bg-white hover:bg-zinc-100 dark:bg-zinc-900 dark:hover:bg-zinc-800"}`}
              >
                {FLEET_WINDOWS[w].label}
              </button>
            ))}
          </div>
          <select className="input" aria-label="Gateway" value={gatewayId ?? ""} onChange={(e) => setParam("gateway", e.target.value || null)}>
            <option value="">All gateways</option>
            {(gatewaysQ.data ?? []).map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
          <input
            type="search"
            data-shortcut-search
            className="input w-56"
            placeholder="Filter agents…  ( / )"
            aria-label="Filter agents"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
          <span className="text-xs text-zinc-500" data-testid="timeline-count">
            {q.data ? `${rows.length} agents` : ""}
            {q.isFetching && q.data ? " · updating…" : ""}
          </span>
        </div>
        <ConvergeTable stats={q.data?.converge} window={FLEET_WINDOWS[windowKey].label} />
      </div>
      <DataState
        query={q}
        what="the timeline"
        loading="Loading the fleet timeline…"
        retry
        padded
        empty={q.data?.agents.length === 0 ? "No agents yet: add a gateway to provision some." : "No agent matches this filter."}
        isEmpty={() => rows.length === 0}
      >
        {() => (
          <StateTimeline agents={rows} from={from} to={to} />
        )}
      </DataState>
    </div>
  );
}

const fmt = (ms: number | null) => (ms === null ? "—" : ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms));

function ConvergeTable({ stats, window }: { stats: ConvergeStats[] | undefined; window: string }) {
  if (!stats) return null;
  return (
    <div className="overflow-x-auto">
      <table className="w-full min-w-[40rem] text-left text-sm" data-testid="converge-table">
        <caption className="mb-1 text-left text-xs text-zinc-500">
          Time to converge per gateway, cycles started in the last {window} (cycle start → first check-in of that cycle)
        </caption>
        <TableHead columns={["Gateway", "Cycles", "Converged", "Gave up", "p50", "p95", "Slowest"]} rowClassName="border-b border-zinc-200 dark:border-zinc-800" />
        <tbody>
          {stats.length === 0 ? (
            <tr>
              <td colSpan={7} className="py-1.5 text-zinc-500">
                No cycle started in this window.
              </td>
            </tr>
          ) : (
            stats.map((s) => (
              <tr key={s.gatewayId} data-testid="converge-row" data-gateway-name={s.gatewayName} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800/70">
                <td className="py-1 pr-3 font-medium">{s.gatewayName}</td>
                <td className="py-1 pr-3 font-mono tabular-nums">{s.cycles}</td>
                <td className="py-1 pr-3 font-mono tabular-nums">{s.converged}</td>
                <td className={`py-1 pr-3 font-mono tabular-nums ${s.failed ? "text-rose-700 dark:text-rose-400" : ""}`}>{s.failed}</td>
                <td className="py-1 pr-3 font-mono tabular-nums" data-testid="p50">
                  {fmt(s.p50Ms)}
                </td>
                <td className="py-1 pr-3 font-mono tabular-nums" data-testid="p95">
                  {fmt(s.p95Ms)}
                </td>
                <td className="py-1 pr-3 font-mono tabular-nums">{fmt(s.maxMs)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
