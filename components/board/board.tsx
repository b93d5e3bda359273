"use client";

import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useInfiniteQuery, useMutation, useQuery } from "@tanstack/react-query";
import { EMPTY_FILTERS, filtersToQuery, hasFilters, pagesQueryOf, parseFilters, type BoardFilters } from "@/lib/board-filters";
import { decodeRows } from "@/lib/agent-row";
import { flattenPages, pageOf, type PagesQuery, type RowPage } from "@/lib/board-cache";
import { PAGE_LIMIT_DEFAULT, type BoardSort } from "@/lib/board-query";
import { AGENT_KINDS, AGENT_STATUSES, KIND_LABELS, STATUS_STYLES, type AgentKind, type AgentStatus } from "@/lib/status";
import { ConfirmDialog } from "../confirm-dialog";
import { errorMessage, useTRPC, useTRPCClient } from "../providers";
import { boardPagesKey, useLiveUpdates } from "../live/use-live-updates";
import { useRole } from "../use-role";
import { AgentTable } from "./agent-table";
import { toRows, useSelection } from "./rows";
import { BulkProgress } from "./bulk-progress";
import { DataState } from "../page-state";
import { rooms } from "@/lib/events";

/**
 * The board loads rows a page at a time (agents.page: filtered, searched and sorted by the server) as the operator
 * scrolls, with status counts from the server, and keeps the loaded pages live over the socket (use-live-updates.ts).
 */
const BULK_CHUNK = 10_000;

type TrpcClient = ReturnType<typeof useTRPCClient>;

async function fetchPage(client: TrpcClient, q: PagesQuery, cursor: string | null, signal: AbortSignal): Promise<RowPage> {
  const page = await client.agents.page.query({ ...q, cursor, limit: PAGE_LIMIT_DEFAULT }, { signal });
  return pageOf(decodeRows(page.rows), page.nextCursor, q.sort);
}

type Notice = { kind: "ok" | "error"; text: string } | null;

export function Board() {
  const trpc = useTRPC();
  const trpcClient = useTRPCClient();
  const router = useRouter();
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const filters = useMemo(() => parseFilters(searchParams), [searchParams]);
  const live = useLiveUpdates([rooms.fleet]);

  const pagesQuery = useMemo(() => pagesQueryOf(filters), [filters]);
  const countsInput = useMemo(() => {
    const { sort: _sort, dir: _dir, status: _status, ...rest } = pagesQuery;
    return rest;
  }, [pagesQuery]);
  const pagesQ = useInfiniteQuery({
    queryKey: boardPagesKey(pagesQuery),
    queryFn: ({ pageParam, signal }) => fetchPage(trpcClient, pagesQuery, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
    staleTime: 60_000,
  });
  const countsQ = useQuery(trpc.agents.counts.queryOptions(countsInput, { staleTime: 60_000 }));
  const fleetQ = useQuery(trpc.agents.counts.queryOptions({}, { staleTime: 60_000 }));
  const gatewaysQ = useQuery(trpc.gateways.list.queryOptions());
  const boardsQ = useQuery(trpc.boards.list.queryOptions());
  const { canAct } = useRole();

  // ---- filters in the URL ----------------------------------------------------------------------------------------
  // router.replace() lands asynchronously: changes are computed from the filters last asked for (`latest`), not from a
  // URL that may not have caught up yet, so quick successive changes never undo each other.
  const query = filtersToQuery(filters);
  const latest = useRef(filters);
  const urlQuery = useRef(query);
  const pending = useRef<string | null>(null);
  const [qDraft, setQDraft] = useState(filters.q);
  const typing = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    urlQuery.current = query;
    if (pending.current !== null && pending.current !== query) return; // our own navigation is still on its way
    const external = pending.current === null; // back/forward, a link, a bookmark
    pending.current = null;
    latest.current = filters;
    if (external) setQDraft(filters.q);
  }, [query, filters]);

  const setFilters = useCallback(
    (next: BoardFilters) => {
      latest.current = next;
      const q = filtersToQuery(next);
      if (q === urlQuery.current) {
        pending.current = null;
        return;
      }
      pending.current = q;
      router.replace(`${pathname}${q}`, { scroll: false });
    },
    [router, pathname],
  );
  const update = useCallback((patch: Partial<BoardFilters>) => setFilters({ ...latest.current, ...patch }), [setFilters]);

  const cancelTyping = () => {
    if (typing.current) clearTimeout(typing.current);
    typing.current = null;
  };
  useEffect(() => cancelTyping, []);
  const clearFilters = () => {
    cancelTyping();
    setQDraft("");
    setFilters(EMPTY_FILTERS);
  };
  const onSearchChange = (value: string) => {
    setQDraft(value);
    cancelTyping();
    typing.current = setTimeout(() => {
      typing.current = null;
      update({ q: value.trim() });
    }, 150);
  };

  // ---- derived lists ---------------------------------------------------------------------------------------------
  const loaded = useMemo(() => flattenPages(pagesQ.data?.pages ?? []), [pagesQ.data]);
  const counts = useMemo(() => {
    const c = Object.fromEntries(AGENT_STATUSES.map((s) => [s, 0])) as Record<AgentStatus, number>;
    return { ...c, ...countsQ.data };
  }, [countsQ.data]);
  const sum = (c: Partial<Record<AgentStatus, number>> | undefined, only?: AgentStatus[]) =>
    AGENT_STATUSES.reduce((n, s) => n + (!only?.length || only.includes(s) ? (c?.[s] ?? 0) : 0), 0);
  const matching = sum(countsQ.data, filters.status);
  const total = sum(fleetQ.data);
  const names = useMemo(() => {
    const gateways = new Map((gatewaysQ.data ?? []).map((g) => [g.id, { name: g.name, driver: g.driver, status: g.status }]));
    const boards = new Map((boardsQ.data ?? []).map((b) => [b.id, b.name]));
    return { gateway: (id: string) => gateways.get(id), board: (id: string) => boards.get(id) };
  }, [gatewaysQ.data, boardsQ.data]);
  const rows = useMemo(() => toRows(loaded, names, filters.sort === "group"), [loaded, names, filters.sort]);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = pagesQ;
  const more = useMemo(
    () => (hasNextPage ? { loading: isFetchingNextPage, load: () => void fetchNextPage() } : undefined),
    [hasNextPage, isFetchingNextPage, fetchNextPage],
  );
  const onSort = useCallback(
    (sort: BoardSort) => {
      const cur = latest.current;
      if (cur.sort !== sort) update({ sort, dir: "asc" });
      else if (cur.dir === "asc") update({ dir: "desc" });
      else update({ sort: "group", dir: "asc" });
    },
    [update],
  );

  // ---- selection ---------------------------------------------------------------------------------------------------
  const { selected, setSelected, toggle, toggleMany } = useSelection();
  const selectedShown = useMemo(() => loaded.filter((a) => selected.has(a.id)), [loaded, selected]);
  const allSelected = loaded.length > 0 && selectedShown.length === loaded.length;
  const toggleAll = useCallback(() => {
    setSelected(allSelected ? new Set() : new Set(loaded.map((a) => a.id)));
  }, [allSelected, loaded, setSelected]);

  // ---- bulk reprovision -------------------------------------------------------------------------------------------
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<Notice>(null);
  const [progress, setProgress] = useState<{ generations: ReadonlyMap<string, number>; done: boolean; operationIds?: string[] } | null>(null);
  const bulk = useMutation({
    mutationKey: trpc.agents.bulkReprovision.mutationKey(),
    mutationFn: async (ids: string[]) => {
      let started = 0;
      let missing = 0;
      const operationIds: string[] = [];
      for (let i = 0; i < ids.length; i += BULK_CHUNK) {
        const r = await trpcClient.agents.bulkReprovision.mutate({ ids: ids.slice(i, i + BULK_CHUNK) });
        started += r.started;
        missing += r.missing.length;
        if (r.operationId) operationIds.push(r.operationId);
      }
      return { started, missing, operationIds };
    },
    onMutate: (ids) => {
      const byId = new Map(loaded.map((a) => [a.id, a.lifecycleGeneration]));
      setProgress({ generations: new Map(ids.map((id) => [id, byId.get(id) ?? 0])), done: false });
    },
    onSuccess: ({ started, missing, operationIds }) => {
      setProgress((p) => (p ? { ...p, done: true, operationIds } : p));
      setNotice({
        kind: "ok",
        text: `Reprovision started for ${started} agent${started === 1 ? "" : "s"}${missing ? ` (${missing} no longer exist)` : ""}`,
      });
      setSelected(new Set());
      setConfirming(false);
    },
    onError: (err) => {
      setProgress(null);
      setNotice({ kind: "error", text: `Reprovision failed: ${errorMessage(err)}` });
      setConfirming(false);
    },
  });

  const onFilterGateway = useCallback((id: string) => update({ gateway: id, board: null }), [update]);
  const onFilterBoard = useCallback((gatewayId: string, boardId: string) => update({ gateway: gatewayId, board: boardId }), [update]);

  const gatewayOptions = useMemo(() => (gatewaysQ.data ?? []).map((g) => ({ id: g.id, name: g.name })), [gatewaysQ.data]);
  const boardOptions = useMemo(() => {
    const list = boardsQ.data ?? [];
    return list
      .filter((b) => !filters.gateway || b.gatewayId === filters.gateway)
      .map((b) => ({ id: b.id, name: filters.gateway ? b.name : `${b.gateway.name} / ${b.name}` }));
  }, [boardsQ.data, filters.gateway]);

  return (
    <div className="flex h-full flex-col">
      <div className="shrink-0 space-y-2 border-b border-zinc-200 bg-white px-4 py-3 dark:border-zinc-800 dark:bg-zinc-900">
        <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
          <h1 className="text-base font-semibold">Live board</h1>
          <StatusStrip counts={counts} active={filters.status} onChange={(status) => update({ status })} total={sum(countsQ.data)} />
          <div className="ml-auto flex items-center gap-2">
            {live === "reconnecting" ? <span className="text-xs text-amber-700 dark:text-amber-400">Live updates interrupted — reconnecting…</span> : null}
            {canAct ? (
              <button
                type="button"
                className="btn btn-primary"
                disabled={selectedShown.length === 0 || bulk.isPending}
                title="Start a new cycle (fresh wake attempts) for every selected agent"
                onClick={() => {
                  setNotice(null);
                  setConfirming(true);
                }}
              >
                Reprovision selected{selectedShown.length ? ` (${selectedShown.length})` : ""}
              </button>
            ) : null}
          </div>
        </div>
        <div className="flex flex-wrap items-center gap-2" role="search" aria-label="Filter agents">
          <input
            id="agent-search"
            data-shortcut-search
            type="search"
            className="input w-64"
            placeholder="Search agents…  ( / )"
            aria-label="Search agents by name"
            aria-keyshortcuts="/"
            value={qDraft}
            onChange={(e) => onSearchChange(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                cancelTyping();
                setQDraft("");
                update({ q: "" });
                e.currentTarget.blur();
              }
            }}
          />
          <select className="input" aria-label="Gateway" value={filters.gateway ?? ""} onChange={(e) => update({ gateway: e.target.value || null, board: null })}>
            <option value="">All gateways</option>
            {gatewayOptions.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
          <select className="input max-w-64" aria-label="Board" value={filters.board ?? ""} onChange={(e) => update({ board: e.target.value || null })}>
            <option value="">All boards</option>
            {boardOptions.map((b) => (
              <option key={b.id} value={b.id}>
                {b.name}
              </option>
            ))}
          </select>
          <select className="input" aria-label="Kind" value={filters.kind ?? ""} onChange={(e) => update({ kind: (e.target.value || null) as AgentKind | null })}>
            <option value="">All kinds</option>
            {AGENT_KINDS.map((k) => (
              <option key={k} value={k}>
                {KIND_LABELS[k]}
              </option>
            ))}
          </select>
          {hasFilters(filters) ? (
            <button
              type="button"
              className="btn"
              onClick={clearFilters}
            >
              Clear filters
            </button>
          ) : null}
          <span className="text-xs text-zinc-500 dark:text-zinc-400" data-testid="agent-count">
            {countsQ.data && fleetQ.data ? `${matching} of ${total} agents` : ""}
            {selectedShown.length ? ` · ${selectedShown.length} selected` : ""}
          </span>
        </div>
        {progress ? (
          <BulkProgress
            generations={progress.generations}
            agents={loaded}
            starting={!progress.done}
            operationIds={progress.operationIds}
            onDismiss={() => setProgress(null)}
          />
        ) : null}
        {notice ? (
          <div
            className={`flex items-center gap-3 rounded-md px-3 py-1.5 text-sm ${
              notice.kind === "ok"
                ? "bg-emerald-50 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100"
                : "bg-rose-50 text-rose-900 dark:bg-rose-950 dark:text-rose-100"
            }`}
          >
            <span role={notice.kind === "error" ? "alert" : "status"} data-testid="action-result" data-kind={notice.kind}>
              {notice.text}
            </span>
            <button type="button" className="ml-auto text-xs underline" onClick={() => setNotice(null)}>
              Dismiss
            </button>
          </div>
        ) : null}
      </div>

      <DataState query={pagesQ} what="agents" retry padded>
        {() =>
          loaded.length === 0 && !hasFilters(filters) && fleetQ.data && total === 0 ? (
            <div className="p-6 text-sm text-zinc-600 dark:text-zinc-400" data-testid="empty-board">
              <p className="font-medium text-zinc-900 dark:text-zinc-100">No agents yet.</p>
              <p className="mt-1">
                Agents are created with their gateway: <Link href="/gateways" className="text-sky-700 underline dark:text-sky-400">add a gateway</Link>{" "}
                and its main agent starts its first cycle at once. An empty database gets a demo simulator fleet on start unless{" "}
                <code>MC_DEMO=0</code>.
              </p>
            </div>
          ) : loaded.length === 0 ? (
            <div className="p-6 text-sm text-zinc-500" data-testid="no-matches">
              <p>No agents match these filters.</p>
              <button type="button" className="btn mt-2" onClick={clearFilters}>
                Clear filters
              </button>
            </div>
          ) : (
            <AgentTable
              // A new filter or sort starts at the top: a scroll position far down a longer list would show nothing.
              key={query}
              rows={rows}
              selected={selected}
              onToggle={toggle}
              onToggleMany={toggleMany}
              allSelected={allSelected}
              someSelected={selectedShown.length > 0}
              onToggleAll={toggleAll}
              onFilterGateway={onFilterGateway}
              onFilterBoard={onFilterBoard}
              sort={{ sort: filters.sort, dir: filters.dir, onSort }}
              more={more}
            />
          )
        }
      </DataState>

      <ConfirmDialog
        open={confirming}
        title={`Reprovision ${selectedShown.length} agent${selectedShown.length === 1 ? "" : "s"}?`}
        busy={bulk.isPending}
        onCancel={() => setConfirming(false)}
        onConfirm={() => bulk.mutate(selectedShown.map((a) => a.id))}
      >
        Each selected agent starts a new cycle: new token, current templates, and fresh wake attempts (up to its gateway&apos;s
        maximum). Agents that are online now will be woken again.
      </ConfirmDialog>
    </div>
  );
}

function StatusStrip({
  counts,
  active,
  total,
  onChange,
}: {
  counts: Record<AgentStatus, number>;
  active: AgentStatus[];
  total: number;
  onChange(status: AgentStatus[]): void;
}) {
  return (
    <div className="flex flex-wrap items-center gap-1.5" role="group" aria-label="Filter by status">
      <button
        type="button"
        aria-pressed={active.length === 0}
        data-testid="status-count-all"
        onClick={() => onChange([])}
        className={`inline-flex h-7 items-center gap-1.5 rounded-md border px-2 text-xs ${
          active.length === 0 ? "border-zinc-500 bg-zinc-100 dark:bg-zinc-800" : "border-zinc-200 dark:border-zinc-700"
        }`}
      >
        all <span className="font-mono font-semibold tabular-nums">{total}</span>
      </button>
      {AGENT_STATUSES.map((s) => {
        const on = active.includes(s);
        const style = STATUS_STYLES[s];
        return (
          <button
            key={s}
            type="button"
            aria-pressed={on}
            data-testid="status-count"
            data-status={s}
            data-count={counts[s]}
            title={on ? `Stop filtering by ${s}` : `Show ${s} agents (adds to the status filter)`}
            onClick={() => onChange(on ? active.filter((x) => x !== s) : [...active, s])}
            className={`inline-flex h-7 items-center gap-1.5 rounded-md border px-2 text-xs ${
              on ? style.active : "border-zinc-200 hover:bg-zinc-50 dark:border-zinc-700 dark:hover:bg-zinc-800"
            } ${counts[s] === 0 && !on ? "opacity-60" : ""}`}
          >
            <span aria-hidden className={`size-2 rounded-full ${style.dot}`} />
            {s}
            <span className="font-mono font-semibold tabular-nums">{counts[s]}</span>
          </button>
        );
      })}
    </div>
  );
}

