"use client";

// The fleet state timeline (like Grafana's "state timeline"): one row per agent, its status over [from, to] as
// coloured segments. Rows are virtualised, so 10,000 agents scroll smoothly; the right edge follows the clock.
import Link from "next/link";
import { memo, useRef } from "react";
import { AGENT_STATUSES, statusStyle } from "@/lib/status";
import { formatAbsolute, formatClock, formatDuration } from "@/lib/time";
import type { FleetTimelineAgent } from "@/lib/client/types";
import { useScrollViewport } from "../use-scroll-viewport";

const ROW_H = 20;
const LABEL_W = 224;
const OVERSCAN = 10;
const STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];

export interface Segment {
  from: number;
  to: number;
  status: string;
}

/** The agent's status segments clipped to [from, to]. */
export function segmentsOf(agent: Pick<FleetTimelineAgent, "since" | "initial" | "changes">, from: number, to: number): Segment[] {
  const out: Segment[] = [];
  let status = agent.initial;
  let at = Math.max(agent.since, from);
  for (const [t, next] of agent.changes) {
    if (t > at && t > from) out.push({ from: at, to: Math.min(t, to), status });
    at = Math.max(at, t);
    status = next;
  }
  if (to > at) out.push({ from: at, to, status });
  return out.filter((s) => s.to > s.from);
}

interface Props {
  agents: FleetTimelineAgent[];
  from: number;
  to: number;
}

export function StateTimeline({ agents, from, to }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const view = useScrollViewport(scrollRef, { top: 0, height: 600, width: 1000 });


  const plotW = Math.max(200, view.width - LABEL_W - 12);
  const span = Math.max(1, to - from);
  const x = (t: number) => ((t - from) / span) * plotW;
  const start = Math.max(0, Math.floor(view.top / ROW_H) - OVERSCAN);
  const end = Math.min(agents.length, Math.ceil((view.top + view.height) / ROW_H) + OVERSCAN);

  const stepS = STEPS.find((s) => span / 1000 / s <= 8) ?? 21600;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / (stepS * 1000)) * stepS * 1000; t <= to; t += stepS * 1000) ticks.push(t);

  return (
    <div className="flex min-h-0 flex-1 flex-col" data-testid="state-timeline" data-rows={agents.length}>
      <div ref={scrollRef} className="min-h-0 flex-1 overflow-auto" role="table" aria-label="Agent status over time" aria-rowcount={agents.length + 1}>
        <div role="rowgroup" className="sticky top-0 z-10 flex border-b border-zinc-200 bg-zinc-100 text-[11px] text-zinc-600 dark:border-zinc-800 dark:bg-zinc-900 dark:text-zinc-400" style={{ height: 24 }}>
          <div role="row" className="flex w-full">
            <div role="columnheader" className="shrink-0 px-2 leading-6" style={{ width: LABEL_W }}>
              Agent
            </div>
            <div role="columnheader" className="relative" style={{ width: plotW }}>
              <span className="sr-only">
                Status from {formatAbsolute(from)} to {formatAbsolute(to)}
              </span>
              {ticks.map((t) => (
                <span key={t} aria-hidden className="absolute top-1 -translate-x-1/2 whitespace-nowrap" style={{ left: x(t) }}>
                  {formatClock(t).slice(0, 5)}
                </span>
              ))}
              <span aria-hidden className="absolute top-1 right-0 whitespace-nowrap text-sky-700 dark:text-sky-400">
                now
              </span>
            </div>
          </div>
        </div>
        <div role="rowgroup" className="relative" style={{ height: agents.length * ROW_H }}>
          {/* grid lines */}
          <svg aria-hidden className="pointer-events-none absolute top-0" style={{ left: LABEL_W, height: agents.length * ROW_H }} width={plotW} height={agents.length * ROW_H}>
            {ticks.map((t) => (
              <line key={t} x1={x(t)} x2={x(t)} y1={0} y2={agents.length * ROW_H} className="stroke-zinc-200 dark:stroke-zinc-800" />
            ))}
          </svg>
          {agents.slice(start, end).map((a, i) => (
            <Row key={a.id} agent={a} top={(start + i) * ROW_H} from={from} to={to} plotW={plotW} rowIndex={start + i + 2} />
          ))}
        </div>
      </div>
      <ul className="flex shrink-0 flex-wrap gap-x-4 gap-y-1 border-t border-zinc-200 px-3 py-1.5 text-xs text-zinc-600 dark:border-zinc-800 dark:text-zinc-400" aria-label="Legend">
        {AGENT_STATUSES.map((s) => (
          <li key={s} className="flex items-center gap-1.5">
            <span aria-hidden className={`inline-block h-2.5 w-4 rounded-sm ${statusStyle(s).dot}`} />
            {s}
          </li>
        ))}
      </ul>
    </div>
  );
}

const Row = memo(function Row({
  agent,
  top,
  from,
  to,
  plotW,
  rowIndex,
}: {
  agent: FleetTimelineAgent;
  top: number;
  from: number;
  to: number;
  plotW: number;
  rowIndex: number;
}) {
  const span = Math.max(1, to - from);
  const x = (t: number) => ((t - from) / span) * plotW;
  const segs = segmentsOf(agent, from, to);
  return (
    <div
      role="row"
      aria-rowindex={rowIndex}
      data-testid="timeline-row"
      data-agent-id={agent.id}
      data-agent-name={agent.name}
      data-status={agent.status}
      className="absolute inset-x-0 flex items-center border-b border-zinc-100 hover:bg-zinc-50 dark:border-zinc-800/60 dark:hover:bg-zinc-900"
      style={{ top, height: ROW_H }}
    >
      <div role="rowheader" className="shrink-0 truncate px-2 text-xs" style={{ width: LABEL_W }} title={`${agent.gatewayName}${agent.boardName ? ` / ${agent.boardName}` : ""} / ${agent.name}`}>
        <Link href={`/agents/${agent.id}`} prefetch={false} className="hover:underline">
          {agent.name}
        </Link>
        <span className="ml-1 text-zinc-500">
          {agent.gatewayName}
          {agent.boardName ? ` / ${agent.boardName}` : ""}
        </span>
      </div>
      <div role="cell" className="relative" style={{ width: plotW, height: ROW_H - 6 }}>
        <span className="sr-only">
          {segs.map((s) => `${s.status} ${formatClock(s.from)}–${formatClock(s.to)}`).join(", ")}
        </span>
        <svg width={plotW} height={ROW_H - 6} aria-hidden className="block">
          {segs.map((s, i) => (
            <rect
              key={i}
              data-testid="state-segment"
              data-status={s.status}
              x={x(s.from)}
              y={0}
              width={Math.max(1, x(s.to) - x(s.from))}
              height={ROW_H - 6}
              className={statusStyle(s.status).fill}
            >
              <title>{`${agent.name}: ${s.status} from ${formatAbsolute(s.from)} to ${formatAbsolute(s.to)} (${formatDuration(s.to - s.from)})`}</title>
            </rect>
          ))}
        </svg>
      </div>
    </div>
  );
});
