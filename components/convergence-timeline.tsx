"use client";

// The convergence timeline (docs/architecture.md, Contracts (pages)): each wake attempt is a bar from sent to deadline, coloured by outcome, with a
// tick where the agent checked in; heartbeats are marks; the status over time is a band on top; a pending attempt has
// a moving now-line.
import { useEffect, useMemo, useRef, useState } from "react";
import { isAgentStatus, OUTCOME_STYLES, outcomeStyle, STATUS_STYLES, WAKE_OUTCOMES } from "@/lib/status";
import { formatAbsolute, formatClock, formatDuration, toDate } from "@/lib/time";
import type { LifecycleEvent, WakeAttempt } from "@/lib/client/types";
import { useNow } from "./use-now";

const MAX_ATTEMPTS_DRAWN = 12;
const LABEL_W = 96;
const RIGHT_PAD = 16;
const TOP = 18;
const BAND_H = 10;
const ROW_H = 20;
const BAR_H = 12;
const AXIS_H = 22;
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

interface Props {
  attempts: WakeAttempt[];
  events: LifecycleEvent[];
  status: string;
}

interface Segment {
  from: number;
  to: number;
  status: string;
}

export function ConvergenceTimeline({ attempts, events, status }: Props) {
  const now = useNow();
  const wrapRef = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  const [tip, setTip] = useState<{ x: number; y: number; text: string } | null>(null);
  const showTip = (text: string) => (e: { currentTarget: Element; clientX?: number; clientY?: number }) => {
    const box = wrapRef.current?.getBoundingClientRect();
    if (!box) return;
    const r = e.currentTarget.getBoundingClientRect();
    const cx = e.clientX ?? r.left + r.width / 2;
    const cy = e.clientY ?? r.top;
    setTip({ x: cx - box.left, y: cy - box.top, text });
  };
  const hideTip = () => setTip(null);

  useEffect(() => {
    const el = wrapRef.current;
    if (!el) return;
    const ro = new ResizeObserver(([entry]) => setWidth(Math.max(360, Math.floor(entry.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const drawn = useMemo(
    () =>
      [...attempts]
        .sort((a, b) => (toDate(a.sentAt)?.getTime() ?? 0) - (toDate(b.sentAt)?.getTime() ?? 0))
        .slice(-MAX_ATTEMPTS_DRAWN),
    [attempts],
  );

  if (drawn.length === 0) {
    return (
      <div ref={wrapRef} data-testid="convergence-timeline" className="text-sm text-zinc-500">
        No wake attempts yet.
      </div>
    );
  }

  const t = (d: Date | string | null | undefined) => toDate(d)?.getTime() ?? NaN;
  // Before the first client tick (server render) the latest send time stands in for now.
  const clock = now > 0 ? now : Math.max(...drawn.map((a) => t(a.sentAt)));
  const anyPending = drawn.some((a) => a.outcome === "pending");
  let t0 = Math.min(...drawn.map((a) => t(a.sentAt)));
  let t1 = Math.max(
    ...drawn.flatMap((a) => [t(a.deadlineAt), t(a.checkedInAt), t(a.resolvedAt)].filter((x) => !Number.isNaN(x))),
    anyPending ? clock : 0,
  );
  const span0 = Math.max(t1 - t0, 5_000);
  t0 -= span0 * 0.02;
  t1 += span0 * 0.04;
  const span = t1 - t0;

  const plotW = width - LABEL_W - RIGHT_PAD;
  const x = (ms: number) => LABEL_W + ((ms - t0) / span) * plotW;
  const clampX = (ms: number) => Math.min(LABEL_W + plotW, Math.max(LABEL_W, x(ms)));

  const bandY = TOP;
  const hbY = TOP + BAND_H + 8;
  const rowsY = hbY + BAND_H + 8;
  const plotBottom = rowsY + drawn.length * ROW_H;
  const height = plotBottom + AXIS_H;

  const segments = statusSegments(events, status, t0, Math.min(t1, clock));
  const heartbeats = events.filter((e) => (e.event === "agent.heartbeat" || e.event === "agent.heartbeat.rejected") && inRange(t(e.at), t0, t1));

  // Axis ticks relative to the first wake.
  const first = Math.min(...drawn.map((a) => t(a.sentAt)));
  const step = (STEPS.find((s) => (span / 1000) / s <= 8) ?? 86400) * 1000;
  const ticks: number[] = [];
  for (let v = first; v <= t1; v += step) ticks.push(v);
  for (let v = first - step; v >= t0; v -= step) ticks.unshift(v);

  const showNow = clock >= t0 && clock <= t1;

  return (
    <div ref={wrapRef} data-testid="convergence-timeline" className="relative w-full">
      <svg width={width} height={height} role="group" aria-label={`Convergence timeline of the last ${drawn.length} wake attempts`} className="block text-[11px]">
        {/* grid + axis */}
        {ticks.map((v) => (
          <g key={v}>
            <line x1={x(v)} x2={x(v)} y1={TOP - 4} y2={plotBottom} className="stroke-zinc-200 dark:stroke-zinc-800" strokeWidth={1} />
            <text x={x(v)} y={plotBottom + 14} textAnchor="middle" className="fill-zinc-500 dark:fill-zinc-400">
              {v === first ? formatClock(v) : `${v > first ? "+" : "−"}${formatDuration(Math.abs(v - first))}`}
            </text>
          </g>
        ))}

        {/* status band */}
        <text x={8} y={bandY + BAND_H - 1} className="fill-zinc-500 dark:fill-zinc-400">
          status
        </text>
        {segments.map((s, i) => (
          <rect
            key={i}
            data-testid="status-band"
            data-status={s.status}
            x={clampX(s.from)}
            y={bandY}
            width={Math.max(1, clampX(s.to) - clampX(s.from))}
            height={BAND_H}
            className={isAgentStatus(s.status) ? STATUS_STYLES[s.status].fill : "fill-zinc-400"}
            opacity={0.85}
            onMouseMove={showTip(`${s.status}: ${formatAbsolute(s.from)} → ${formatAbsolute(s.to)} (${formatDuration(s.to - s.from)})`)}
            onMouseLeave={hideTip}
          >
            <title>{`${s.status}: ${formatAbsolute(s.from)} → ${formatAbsolute(s.to)}`}</title>
          </rect>
        ))}

        {/* heartbeats */}
        <text x={8} y={hbY + BAND_H - 1} className="fill-zinc-500 dark:fill-zinc-400">
          heartbeats
        </text>
        <line x1={LABEL_W} x2={LABEL_W + plotW} y1={hbY + BAND_H / 2} y2={hbY + BAND_H / 2} className="stroke-zinc-200 dark:stroke-zinc-800" />
        {heartbeats.map((e) => (
          <line
            key={e.id}
            data-testid="heartbeat-mark"
            x1={x(t(e.at))}
            x2={x(t(e.at))}
            y1={hbY}
            y2={hbY + BAND_H}
            strokeWidth={2}
            className={e.event === "agent.heartbeat" ? "stroke-emerald-600 dark:stroke-emerald-400" : "stroke-rose-600 dark:stroke-rose-400"}
            onMouseMove={showTip(`${e.event === "agent.heartbeat" ? "Heartbeat" : "Rejected heartbeat"} at ${formatAbsolute(e.at)}: ${e.message}`)}
            onMouseLeave={hideTip}
          >
            <title>{`${e.event === "agent.heartbeat" ? "Heartbeat" : "Rejected heartbeat"} at ${formatAbsolute(e.at)}: ${e.message}`}</title>
          </line>
        ))}

        {/* one bar per attempt */}
        {drawn.map((a, i) => {
          const y = rowsY + i * ROW_H;
          const sent = t(a.sentAt);
          const deadline = t(a.deadlineAt);
          const checked = t(a.checkedInAt);
          const style = outcomeStyle(a.outcome);
          const title = [
            `Cycle ${a.generation}, attempt ${a.attempt}: ${style.label}`,
            `sent ${formatAbsolute(sent)}`,
            `deadline ${formatAbsolute(deadline)}`,
            Number.isNaN(checked) ? null : `checked in ${formatAbsolute(checked)} (after ${formatDuration(checked - sent)})`,
            a.error ? `error: ${a.error}` : null,
          ]
            .filter(Boolean)
            .join("\n");
          return (
            <g
              key={a.id}
              data-testid="timeline-bar"
              data-outcome={a.outcome}
              data-attempt={a.attempt}
              data-generation={a.generation}
              tabIndex={0}
              role="img"
              aria-label={title.replace(/\n/g, "; ")}
              onMouseMove={showTip(title)}
              onMouseLeave={hideTip}
              onFocus={showTip(title)}
              onBlur={hideTip}
              className="outline-none focus-visible:[&>rect]:stroke-sky-500 focus-visible:[&>rect]:stroke-2"
            >
              <title>{title}</title>
              <text x={8} y={y + BAR_H - 1} className="fill-zinc-600 dark:fill-zinc-300">
                {`c${a.generation} #${a.attempt}`}
              </text>
              <rect
                x={x(sent)}
                y={y}
                width={Math.max(2, x(deadline) - x(sent))}
                height={BAR_H}
                rx={2}
                className={style.fill}
                opacity={a.outcome === "pending" ? 0.55 : 0.9}
              />
              {a.outcome === "pending" && clock > sent ? (
                <rect x={x(sent)} y={y} width={Math.max(0, Math.min(x(clock), x(deadline)) - x(sent))} height={BAR_H} rx={2} className={style.fill} />
              ) : null}
              {!Number.isNaN(checked) ? (
                <g data-testid="checkin-tick">
                  <line x1={x(checked)} x2={x(checked)} y1={y - 3} y2={y + BAR_H + 3} strokeWidth={2.5} className="stroke-zinc-900 dark:stroke-white" />
                </g>
              ) : null}
              {a.outcome === "rpc_failed" ? (
                <text x={x(deadline) + 4} y={y + BAR_H - 1} className="fill-orange-700 dark:fill-orange-400">
                  gateway call failed
                </text>
              ) : null}
            </g>
          );
        })}

        {showNow ? (
          <g data-testid="now-line">
            <line x1={x(clock)} x2={x(clock)} y1={TOP - 6} y2={plotBottom} strokeWidth={1.5} strokeDasharray="3 2" className="stroke-sky-600 dark:stroke-sky-400" />
            <text x={x(clock)} y={TOP - 8} textAnchor="middle" className="fill-sky-700 dark:fill-sky-400">
              now
            </text>
          </g>
        ) : null}
      </svg>
      {tip ? (
        <div
          role="tooltip"
          data-testid="timeline-tooltip"
          className="pointer-events-none absolute z-20 max-w-sm -translate-x-1/2 -translate-y-full whitespace-pre-line rounded-md border border-zinc-200 bg-white px-2 py-1 text-xs text-zinc-800 shadow-lg dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100"
          style={{ left: Math.min(Math.max(tip.x, 120), width - 120), top: tip.y - 8 }}
        >
          {tip.text}
        </div>
      ) : null}
      <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-zinc-600 dark:text-zinc-400" aria-label="Legend">
        {WAKE_OUTCOMES.map((o) => (
          <li key={o} className="flex items-center gap-1.5">
            <svg width="14" height="8" aria-hidden>
              <rect width="14" height="8" rx="2" className={OUTCOME_STYLES[o].fill} />
            </svg>
            {OUTCOME_STYLES[o].label}
          </li>
        ))}
        <li className="flex items-center gap-1.5">
          <svg width="6" height="12" aria-hidden>
            <line x1="3" x2="3" y1="0" y2="12" strokeWidth="2.5" className="stroke-zinc-900 dark:stroke-white" />
          </svg>
          check-in
        </li>
      </ul>
    </div>
  );
}

function inRange(v: number, a: number, b: number) {
  return !Number.isNaN(v) && v >= a && v <= b;
}

/** Status over [t0, t1] from `agent.status.changed` events (data: {from, to}); the last segment is the current status. */
function statusSegments(events: LifecycleEvent[], current: string, t0: number, t1: number): Segment[] {
  const changes = events
    .filter((e) => e.event === "agent.status.changed")
    .map((e) => ({ at: toDate(e.at)?.getTime() ?? NaN, from: String(e.data?.from ?? ""), to: String(e.data?.to ?? "") }))
    .filter((c) => !Number.isNaN(c.at))
    .sort((a, b) => a.at - b.at);
  if (t1 <= t0) return [];
  const before = changes.filter((c) => c.at <= t0).pop();
  const inside = changes.filter((c) => c.at > t0 && c.at <= t1);
  let status = before?.to || inside[0]?.from || current;
  let from = t0;
  const out: Segment[] = [];
  for (const c of inside) {
    if (status) out.push({ from, to: c.at, status });
    from = c.at;
    status = c.to;
  }
  out.push({ from, to: t1, status: inside.length || before ? status : current });
  return out.filter((s) => s.to > s.from);
}
