"use client";

import Link from "next/link";
import { memo, useEffect, useRef } from "react";
import { agentProblem, PROBLEM_STYLES } from "@/lib/agents";
import type { AgentRow as Row } from "@/lib/agent-row";
import type { BoardSort, SortDir } from "@/lib/board-query";
import { KIND_LABELS, type AgentKind } from "@/lib/status";
import { StatusPill } from "../status-pill";
import { Countdown, RelativeTime } from "../time";
import { useScrollViewport } from "../use-scroll-viewport";

export type BoardRow =
  | {
      type: "group";
      key: string;
      gatewayId: string;
      gatewayName: string;
      gatewayDriver: string;
      gatewayStatus: string;
      boardId: string | null;
      boardName: string | null;
      ids: string[];
    }
  | { type: "agent"; key: string; agent: Row };

export const ROW_HEIGHT = 32;
/**
 * Below this many rows everything is rendered (simple DOM for find-in-page); above it, only what is visible. Low, so
 * that a board page of 200 rows paints only its visible rows: that is most of the time to the first rows.
 */
const VIRTUALIZE_ABOVE = 60;
const OVERSCAN = 12;

/** Column widths, shared by the header and every row. */
const COLUMNS =
  "2.25rem 7.25rem minmax(11rem,1.3fr) 7.25rem 4.25rem 8.75rem 6.5rem 7.25rem minmax(15rem,2.3fr) 4.75rem";

const HEADERS: { label: string; sort?: BoardSort }[] = [
  { label: "" },
  { label: "Status", sort: "status" },
  { label: "Name", sort: "name" },
  { label: "Kind" },
  { label: "Attempt", sort: "attempts" },
  { label: "Deadline" },
  { label: "Last seen", sort: "lastSeen" },
  { label: "Templates" },
  { label: "Last error" },
  { label: "Rejected" },
];
/** Ask for the next page when the visible window is this many rows from the end of what is loaded. */
const PREFETCH_ROWS = 150;

export interface TableSort {
  sort: BoardSort;
  dir: SortDir;
  onSort(sort: BoardSort): void;
}

interface Props {
  rows: BoardRow[];
  selected: ReadonlySet<string>;
  onToggle(id: string): void;
  onToggleMany(ids: string[], select: boolean): void;
  allSelected: boolean;
  someSelected: boolean;
  onToggleAll(): void;
  onFilterGateway(id: string): void;
  onFilterBoard(gatewayId: string, boardId: string): void;
  /** Sortable column headers (the board); without it the table keeps the order it is given. */
  sort?: TableSort;
  /** More rows exist beyond these: called as the operator scrolls near the end. */
  more?: { loading: boolean; load(): void };
}

export function AgentTable({ rows, selected, onToggle, onToggleMany, allSelected, someSelected, onToggleAll, onFilterGateway, onFilterBoard, sort, more }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const viewport = useScrollViewport(scrollRef, { top: 0, height: 900, width: 0 });
  const virtual = rows.length > VIRTUALIZE_ABOVE;


  const start = virtual ? Math.max(0, Math.floor(viewport.top / ROW_HEIGHT) - OVERSCAN) : 0;
  const end = virtual ? Math.min(rows.length, Math.ceil((viewport.top + viewport.height) / ROW_HEIGHT) + OVERSCAN) : rows.length;
  const visible = rows.slice(start, end);

  const nearEnd = Math.ceil((viewport.top + viewport.height) / ROW_HEIGHT) + PREFETCH_ROWS >= rows.length;
  useEffect(() => {
    if (more && !more.loading && nearEnd) more.load();
  }, [more, nearEnd]);
  const footer = more ? ROW_HEIGHT : 0;

  return (
    <div ref={scrollRef} className="min-h-0 flex-1 overflow-auto" data-testid="agent-table-scroll">
      <div role="table" aria-label="Agents" aria-rowcount={rows.length + 1} className="min-w-[75rem] text-sm">
        <div role="rowgroup" className="sticky top-0 z-10 border-b border-zinc-200 bg-zinc-100 dark:border-zinc-800 dark:bg-zinc-900">
          <div role="row" aria-rowindex={1} className="grid items-center px-2 text-xs font-medium text-zinc-600 dark:text-zinc-400" style={{ gridTemplateColumns: COLUMNS, height: ROW_HEIGHT }}>
            <div role="columnheader" className="flex items-center justify-center">
              <input
                type="checkbox"
                aria-label="Select all shown agents"
                checked={allSelected}
                ref={(el) => {
                  if (el) el.indeterminate = someSelected && !allSelected;
                }}
                onChange={onToggleAll}
                className="size-3.5 accent-sky-600"
              />
            </div>
            {HEADERS.slice(1).map((h) => {
              const active = sort && h.sort === sort.sort;
              return (
                <div
                  key={h.label}
                  role="columnheader"
                  aria-sort={active ? (sort.dir === "asc" ? "ascending" : "descending") : undefined}
                  className="truncate px-1.5"
                >
                  {sort && h.sort ? (
                    <button
                      type="button"
                      data-testid="sort-header"
                      data-sort={h.sort}
                      className={`hover:underline ${active ? "font-semibold text-zinc-900 dark:text-zinc-100" : ""}`}
                      title={active ? (sort.dir === "asc" ? "Sort descending" : "Back to grouping by gateway and board") : `Sort by ${h.label.toLowerCase()}`}
                      onClick={() => sort.onSort(h.sort!)}
                    >
                      {h.label}
                      {active ? (sort.dir === "asc" ? " ▲" : " ▼") : ""}
                    </button>
                  ) : (
                    h.label
                  )}
                </div>
              );
            })}
          </div>
        </div>
        <div role="rowgroup" className="relative" style={{ height: rows.length * ROW_HEIGHT + footer }}>
          {visible.map((row, i) => {
            const top = (start + i) * ROW_HEIGHT;
            if (row.type === "group") {
              const selectedInGroup = row.ids.filter((id) => selected.has(id)).length;
              return (
                <GroupRow
                  key={row.key}
                  row={row}
                  top={top}
                  rowIndex={start + i + 2}
                  selectedCount={selectedInGroup}
                  onToggleMany={onToggleMany}
                  onFilterGateway={onFilterGateway}
                  onFilterBoard={onFilterBoard}
                />
              );
            }
            return <AgentRow key={row.key} agent={row.agent} top={top} rowIndex={start + i + 2} selected={selected.has(row.agent.id)} onToggle={onToggle} />;
          })}
          {more ? (
            <div
              role="row"
              data-testid="agent-table-more"
              className="absolute inset-x-0 flex items-center px-4 text-xs text-zinc-500"
              style={{ top: rows.length * ROW_HEIGHT, height: ROW_HEIGHT }}
            >
              <div role="cell">{more.loading ? "Loading more agents…" : "Scroll for more agents"}</div>
            </div>
          ) : null}
        </div>
      </div>
    </div>
  );
}

const GATEWAY_STATUS_TONE: Record<string, string> = {
  reachable: "text-emerald-700 dark:text-emerald-400",
  unreachable: "text-orange-700 dark:text-orange-400 font-semibold",
  incompatible: "text-rose-700 dark:text-rose-400 font-semibold",
  unknown: "text-zinc-500",
};

function GroupRow({
  row,
  top,
  rowIndex,
  selectedCount,
  onToggleMany,
  onFilterGateway,
  onFilterBoard,
}: {
  row: Extract<BoardRow, { type: "group" }>;
  top: number;
  rowIndex: number;
  selectedCount: number;
  onToggleMany(ids: string[], select: boolean): void;
  onFilterGateway(id: string): void;
  onFilterBoard(gatewayId: string, boardId: string): void;
}) {
  const all = selectedCount === row.ids.length && row.ids.length > 0;
  const label = `${row.gatewayName}${row.boardName ? ` / ${row.boardName}` : " (gateway agents)"}`;
  return (
    <div
      role="row"
      aria-rowindex={rowIndex}
      data-testid="agent-group"
      data-gateway-id={row.gatewayId}
      data-board-id={row.boardId ?? ""}
      className="absolute inset-x-0 flex items-center gap-2 whitespace-nowrap border-b contain-strict border-zinc-200 bg-zinc-50 px-2 text-xs dark:border-zinc-800 dark:bg-zinc-900/60"
      style={{ top, height: ROW_HEIGHT }}
    >
      <div role="cell" className="flex w-[2.25rem] shrink-0 items-center justify-center">
        <input
          type="checkbox"
          aria-label={`Select all in ${label}`}
          checked={all}
          ref={(el) => {
            if (el) el.indeterminate = selectedCount > 0 && !all;
          }}
          onChange={() => onToggleMany(row.ids, !all)}
          className="size-3.5 accent-sky-600"
        />
      </div>
      <div role="cell" className="flex min-w-0 items-center gap-1.5 truncate">
        <button
          type="button"
          onClick={() => onFilterGateway(row.gatewayId)}
          className="font-semibold text-zinc-800 hover:underline dark:text-zinc-200"
          title={`Show only gateway ${row.gatewayName}`}
        >
          {row.gatewayName}
        </button>
        <span className="text-zinc-500">{row.gatewayDriver}</span>
        <span className={GATEWAY_STATUS_TONE[row.gatewayStatus] ?? "text-zinc-500"} title={`Gateway status: ${row.gatewayStatus}`}>
          {row.gatewayStatus === "unreachable" ? "gateway unreachable" : row.gatewayStatus}
        </span>
        <span aria-hidden className="text-zinc-400">/</span>
        {row.boardId ? (
          <button
            type="button"
            onClick={() => onFilterBoard(row.gatewayId, row.boardId!)}
            className="font-medium text-zinc-800 hover:underline dark:text-zinc-200"
            title={`Show only board ${row.boardName}`}
          >
            {row.boardName}
          </button>
        ) : (
          <span className="italic text-zinc-500">gateway agents</span>
        )}
      </div>
    </div>
  );
}

const AgentRow = memo(function AgentRow({
  agent,
  top,
  rowIndex,
  selected,
  onToggle,
}: {
  agent: Row;
  top: number;
  rowIndex: number;
  selected: boolean;
  onToggle(id: string): void;
}) {
  const problem = agentProblem(agent);
  const stale = agent.templateStale;
  const attemptsActive = agent.status === "waking" && agent.wakeAttempts > 1;
  return (
    <div
      role="row"
      aria-rowindex={rowIndex}
      aria-selected={selected}
      data-testid="agent-row"
      data-agent-id={agent.id}
      data-agent-name={agent.name}
      data-status={agent.status}
      data-last-seen={agent.lastSeenAt ? new Date(agent.lastSeenAt).toISOString() : ""}
      data-attempts={agent.wakeAttempts}
      className={`absolute inset-x-0 grid items-center whitespace-nowrap border-b contain-strict border-zinc-100 px-2 dark:border-zinc-800/70 ${
        selected ? "bg-sky-50 dark:bg-sky-950/40" : "bg-white hover:bg-zinc-50 dark:bg-zinc-950 dark:hover:bg-zinc-900"
      }`}
      style={{ top, height: ROW_HEIGHT, gridTemplateColumns: COLUMNS }}
    >
      <div role="cell" className="flex items-center justify-center">
        <input type="checkbox" aria-label={`Select ${agent.name}`} checked={selected} onChange={() => onToggle(agent.id)} className="size-3.5 accent-sky-600" />
      </div>
      <div role="cell" className="px-1.5">
        <StatusPill status={agent.status} />
      </div>
      <div role="cell" className="min-w-0 truncate px-1.5">
        <Link href={`/agents/${agent.id}`} prefetch={false} className="font-medium text-zinc-900 hover:text-sky-700 hover:underline dark:text-zinc-100 dark:hover:text-sky-400" title={agent.name}>
          {agent.name}
        </Link>
      </div>
      <div role="cell" className="truncate px-1.5 text-zinc-600 dark:text-zinc-400">
        {KIND_LABELS[agent.kind as AgentKind] ?? agent.kind}
      </div>
      <div
        role="cell"
        data-testid="attempts"
        className={`px-1.5 font-mono tabular-nums ${attemptsActive ? "font-semibold text-amber-700 dark:text-amber-400" : "text-zinc-700 dark:text-zinc-300"}`}
        title={`Wake attempt ${agent.wakeAttempts} of at most ${agent.maxWakeAttempts} in cycle ${agent.lifecycleGeneration}`}
      >
        {agent.wakeAttempts}/{agent.maxWakeAttempts}
      </div>
      <div role="cell" className="min-w-0 truncate px-1.5">
        <Countdown deadline={agent.checkinDeadlineAt} />
      </div>
      <div role="cell" className="truncate px-1.5 text-zinc-700 dark:text-zinc-300" data-testid="last-seen">
        <RelativeTime value={agent.lastSeenAt} empty="never" />
      </div>
      <div role="cell" className="flex min-w-0 items-center gap-1 px-1.5">
        {stale ? (
          <span
            data-testid="stale-templates"
            className="rounded bg-amber-100 px-1 text-[10px] font-semibold uppercase text-amber-800 dark:bg-amber-950 dark:text-amber-300"
            title="Stale templates: the agent runs an older revision than its gateway (revisions on the agent page)"
          >
            stale
          </span>
        ) : (
          <span className="text-xs text-zinc-500 dark:text-zinc-400">current</span>
        )}
      </div>
      <div role="cell" className="flex min-w-0 items-center gap-1.5 px-1.5" data-testid="last-error" data-error-kind={problem?.kind ?? ""} title={problem?.text}>
        {problem ? (
          <>
            <span className={`shrink-0 rounded px-1 text-[10px] font-semibold uppercase ring-1 ring-inset ${PROBLEM_STYLES[problem.kind]}`}>{problem.label}</span>
            <span className="truncate text-xs text-zinc-700 dark:text-zinc-300">{problem.text}</span>
          </>
        ) : (
          <span className="text-zinc-300 dark:text-zinc-600">—</span>
        )}
      </div>
      <div role="cell" className="px-1.5">
        {agent.heartbeatsRejected > 0 ? (
          <span
            data-testid="rejected-heartbeats"
            className="rounded bg-rose-100 px-1.5 py-0.5 font-mono text-xs font-semibold text-rose-800 dark:bg-rose-950 dark:text-rose-300"
            title={`${agent.heartbeatsRejected} rejected heartbeat(s)${agent.lastRejectedReason ? `; last: ${agent.lastRejectedReason}` : ""}`}
          >
            {agent.heartbeatsRejected}
          </span>
        ) : null}
      </div>
    </div>
  );
});
