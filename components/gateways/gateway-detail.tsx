"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { shortRevision } from "@/lib/agents";
import { rowOfAgent, sortAgents } from "@/lib/client/agents";
import { formatAbsolute, formatDuration, toDate } from "@/lib/time";
import type { Agent } from "@/lib/client/types";
import { AgentTable } from "../board/agent-table";
import { toRows, useSelection } from "../board/rows";
import { ConfirmDialog } from "../confirm-dialog";
import { PageLoadError, PageLoading } from "../page-state";
import { NoticeBar, Section, type Notice } from "../notice";
import { EventLog } from "../agent/event-log";
import { errorMessage, useTRPC } from "../providers";
import { AbsoluteTime, RelativeTime } from "../time";
import { useRole } from "../use-role";
import { useLiveUpdates } from "../live/use-live-updates";
import { AgentsByStatus } from "./agents-by-status";
import { GatewayForm } from "./gateway-form";
import { GatewayStatusBadge } from "./gateway-status";
import { PairingRequest } from "./pairing-request";
import { latestSync, SyncProgress } from "./sync-progress";
import { DeleteProgress } from "./delete-progress";
import { rooms, TEMPLATE_SYNC_EVENTS } from "@/lib/events";

/** /gateways/[id]: connection, version, templates and sync history, actions, and the gateway's agents. */
export function GatewayDetailView({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const { canAct, isAdmin } = useRole();
  useLiveUpdates([rooms.gateway(id)]);

  const [deleted, setDeleted] = useState(false);
  const gwQ = useQuery(trpc.gateways.get.queryOptions({ id }, { enabled: !deleted }));
  const agentsQ = useQuery(trpc.agents.list.queryOptions({ gatewayId: id, limit: 20_000 }, { enabled: !deleted }));
  const runsQ = useQuery(trpc.gateways.syncRuns.queryOptions({ id, limit: 10 }, { enabled: !deleted }));
  const syncEventsQ = useQuery(trpc.events.list.queryOptions({ gatewayId: id, events: TEMPLATE_SYNC_EVENTS, limit: 1000 }, { enabled: !deleted }));

  const [editing, setEditing] = useState(false);
  const [confirm, setConfirm] = useState<"sync" | "delete" | null>(null);
  const [wakeAfterSync, setWakeAfterSync] = useState(false);
  const [notice, setNotice] = useState<Notice>(null);
  const [deleteOp, setDeleteOp] = useState<string | null>(null);

  const gw = gwQ.data;
  // A gateway already being deleted when the page opened: follow the operation under way.
  const opsQ = useQuery(trpc.fleet.operations.queryOptions({ gatewayId: id, limit: 20 }, { enabled: Boolean(gw?.deletingAt) && !deleteOp && !deleted }));
  const operationId = deleteOp ?? opsQ.data?.find((o) => o.kind === "gateway_delete" && (o.status === "queued" || o.status === "running"))?.id ?? null;
  useEffect(() => {
    if (gw?.name) document.title = `${gw.name} · Gateway · Mission Control`;
  }, [gw?.name]);

  const refresh = useCallback(() => {
    void queryClient.invalidateQueries(trpc.gateways.get.queryFilter({ id }));
    void queryClient.invalidateQueries(trpc.gateways.syncRuns.queryFilter({ id }));
    void queryClient.invalidateQueries(trpc.gateways.list.queryFilter());
  }, [queryClient, trpc, id]);

  // The final sync event (or a status change) refreshes the gateway and its history.
  const sync = useMemo(() => latestSync(syncEventsQ.data ?? []), [syncEventsQ.data]);
  const syncFinal = sync?.final ? sync.runId : null;
  useEffect(() => {
    if (syncFinal) refresh();
  }, [syncFinal, refresh]);

  const probe = useMutation(
    trpc.gateways.probe.mutationOptions({
      onSuccess: (g) => {
        setNotice({ kind: g.status === "reachable" ? "ok" : "error", text: `Probe: ${g.status}${g.runtimeVersion ? `, version ${g.runtimeVersion}` : ""}${g.lastError ? ` — ${g.lastError}` : ""}` });
        refresh();
      },
      onError: (e) => setNotice({ kind: "error", text: `Probe failed: ${errorMessage(e)}` }),
    }),
  );
  const syncM = useMutation(
    trpc.gateways.syncTemplates.mutationOptions({
      onSuccess: () => {
        setConfirm(null);
        setNotice(null);
        refresh();
      },
      onError: (e) => {
        setConfirm(null);
        setNotice({ kind: "error", text: `Sync templates failed: ${errorMessage(e)}` });
      },
    }),
  );
  const remove = useMutation(
    trpc.gateways.delete.mutationOptions({
      onSuccess: (r) => {
        setConfirm(null);
        setDeleteOp(r.operationId);
        void queryClient.invalidateQueries(trpc.gateways.list.queryFilter());
        setNotice({ kind: "ok", text: `Deleting the gateway and its ${r.deletedAgents} agents` });
      },
      onError: (e) => {
        setConfirm(null);
        setNotice({ kind: "error", text: `Delete failed: ${errorMessage(e)}` });
      },
    }),
  );

  // The queued delete finished: the gateway is gone.
  const onDeleted = useCallback(() => {
    setDeleted(true);
    void queryClient.invalidateQueries(trpc.gateways.list.queryFilter());
    void queryClient.invalidateQueries(trpc.agents.list.queryFilter());
    router.push("/gateways");
  }, [queryClient, trpc, router]);

  const agents = useMemo(() => sortAgents(agentsQ.data ?? []), [agentsQ.data]);
  const agentNames = useMemo(() => new Map(agents.map((a) => [a.id, a.name])), [agents]);

  if (deleted) return <p className="p-6 text-sm">Gateway deleted.</p>;
  if (gwQ.isPending) return <PageLoading what="gateway" />;
  // The row goes a moment before the operation reports done.
  if (operationId && (gwQ.isError || !gw)) {
    return (
      <div className="mx-auto max-w-7xl p-4">
        <DeleteProgress gatewayId={id} operationId={operationId} onDone={onDeleted} />
      </div>
    );
  }
  if (gwQ.isError || !gw) return <PageLoadError what="gateway" error={gwQ.error} backHref="/gateways" backLabel="All gateways" />;

  const stale = gw.templateRevision !== gw.currentTemplateRevision;
  const syncRunning = Boolean(sync && !sync.final) || (runsQ.data ?? []).some((r) => r.status === "running");
  const agentCount = Object.values(gw.agentsByStatus).reduce((a, b) => a + b, 0);

  return (
    <div className="mx-auto flex max-w-7xl flex-col gap-4 p-4" data-testid="gateway-detail" data-status={gw.status}>
      <div className="flex flex-wrap items-start gap-3">
        <div className="min-w-0">
          <nav aria-label="Breadcrumb" className="text-xs text-zinc-500 dark:text-zinc-400">
            <Link href="/gateways" className="hover:underline">
              Gateways
            </Link>
          </nav>
          <h1 className="mt-0.5 flex flex-wrap items-center gap-2 text-xl font-semibold">
            <span className="truncate">{gw.name}</span>
            <GatewayStatusBadge status={gw.status} />
            <span className="text-sm font-normal text-zinc-500">{gw.driver}</span>
          </h1>
        </div>
        <div className="ml-auto flex flex-wrap items-center gap-2">
          {canAct ? (
            <>
              <button type="button" className="btn" disabled={probe.isPending} onClick={() => probe.mutate({ id })}>
                {probe.isPending ? "Probing…" : "Probe now"}
              </button>
              <button type="button" className="btn btn-primary" disabled={syncRunning || syncM.isPending || Boolean(gw.deletingAt)} onClick={() => setConfirm("sync")}>
                Sync templates
              </button>
            </>
          ) : null}
          {isAdmin ? (
            <>
              <button type="button" className="btn" onClick={() => setEditing((v) => !v)} aria-expanded={editing}>
                Edit
              </button>
              <button type="button" className="btn btn-danger" disabled={operationId !== null} onClick={() => setConfirm("delete")}>
                Delete
              </button>
            </>
          ) : null}
        </div>
      </div>

      <NoticeBar notice={notice} onDismiss={() => setNotice(null)} />

      {operationId ? <DeleteProgress gatewayId={id} operationId={operationId} onDone={onDeleted} /> : null}

      {editing ? (
        <GatewayForm
          gateway={gw}
          onCancel={() => setEditing(false)}
          onDone={() => {
            setEditing(false);
            setNotice({ kind: "ok", text: "Gateway saved" });
          }}
        />
      ) : null}

      {gw.pairingRequestId ? (
        <PairingRequest requestId={gw.pairingRequestId} probing={probe.isPending} onProbe={canAct ? () => probe.mutate({ id }) : undefined} />
      ) : gw.status === "unreachable" || gw.status === "incompatible" ? (
        <div role="alert" className="rounded-md bg-orange-50 px-3 py-2 text-sm text-orange-900 ring-1 ring-inset ring-orange-300 dark:bg-orange-950 dark:text-orange-100 dark:ring-orange-800">
          <strong>Gateway {gw.status}.</strong> {gw.lastError ?? ""} Wakes to its agents fail until it answers: check its URL, token and network
          {isAdmin ? " (Edit)" : ""}, then Probe now.
        </div>
      ) : null}

      <div className="grid gap-4 lg:grid-cols-2">
        <Section title="Connection">
          <dl className="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-2">
            <Item label="State">
              <GatewayStatusBadge status={gw.status} />
            </Item>
            <Item label="Runtime version">
              <span className="font-mono text-xs">{gw.runtimeVersion ?? "—"}</span>
              {gw.protocolVersion ? <span className="ml-2 text-xs text-zinc-500">protocol {gw.protocolVersion}</span> : null}
            </Item>
            <Item label="URL">{gw.url ? <span className="break-all font-mono text-xs">{gw.url}</span> : <Muted>none</Muted>}</Item>
            <Item label="Token">{gw.hasToken ? "set (write-only)" : <Muted>not set</Muted>}</Item>
            <Item label="Last contact">
              <AbsoluteTime value={gw.lastContactAt} empty="never" />
            </Item>
            <Item label="Last error">{gw.lastError ? <span className="break-words text-rose-700 dark:text-rose-400">{gw.lastError}</span> : <Muted>none</Muted>}</Item>
            <Item label="Check-in deadline">{gw.checkinDeadlineSeconds ? `${gw.checkinDeadlineSeconds}s` : <Muted>server default</Muted>}</Item>
            <Item label="Max wake attempts">{gw.maxWakeAttempts ?? <Muted>server default</Muted>}</Item>
            {gw.workspaceRoot ? <Item label="Workspace root">{gw.workspaceRoot}</Item> : null}
            <Item label="Agents">
              <AgentsByStatus counts={gw.agentsByStatus} />
            </Item>
          </dl>
        </Section>

        <Section title="Templates">
          <dl className="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-2">
            <Item label="Last synced revision">
              <span className="font-mono text-xs" title={gw.templateRevision ?? undefined}>
                {shortRevision(gw.templateRevision)}
              </span>
              {stale ? (
                <span className="ml-2 rounded bg-amber-100 px-1 text-[10px] font-semibold uppercase text-amber-800 dark:bg-amber-950 dark:text-amber-300" data-testid="gateway-stale">
                  stale
                </span>
              ) : null}
            </Item>
            <Item label="Current revision">
              <span className="font-mono text-xs" title={gw.currentTemplateRevision}>
                {shortRevision(gw.currentTemplateRevision)}
              </span>
            </Item>
          </dl>
          <div className="mt-3">
            <SyncProgress events={syncEventsQ.data ?? []} agentNames={agentNames} />
          </div>
          <SyncHistory runs={runsQ.data} loading={runsQ.isPending} agentNames={agentNames} />
        </Section>
      </div>

      <section className="card flex flex-col" aria-labelledby="gw-agents-title">
        <div className="flex items-center gap-2 px-4 pt-4 pb-2">
          <h2 id="gw-agents-title" className="text-sm font-semibold text-zinc-700 dark:text-zinc-300">
            Agents ({agentCount})
          </h2>
          <Link href={`/?gateway=${id}`} className="ml-auto text-xs text-sky-700 underline dark:text-sky-400">
            Open on the board
          </Link>
        </div>
        {agentsQ.isPending ? (
          <p className="px-4 pb-4 text-sm text-zinc-500">Loading agents…</p>
        ) : agents.length === 0 ? (
          <p className="px-4 pb-4 text-sm text-zinc-500">No agents on this gateway. Its main agent appears as soon as it is created.</p>
        ) : (
          <GatewayAgents agents={agents} />
        )}
      </section>

      <EventLog gatewayId={id} title="Gateway events" />

      <ConfirmDialog
        open={confirm === "sync"}
        title={`Sync templates to ${gw.name}?`}
        busy={syncM.isPending}
        onCancel={() => setConfirm(null)}
        onConfirm={() => syncM.mutate({ id, wake: wakeAfterSync })}
      >
        <p>
          Pushes template revision <code>{shortRevision(gw.currentTemplateRevision)}</code> to all {agentCount} agents of this gateway without waking them.
        </p>
        <label className="mt-2 flex items-center gap-1.5">
          <input type="checkbox" checked={wakeAfterSync} onChange={(e) => setWakeAfterSync(e.target.checked)} /> Also wake the agents afterwards
        </label>
      </ConfirmDialog>
      <ConfirmDialog open={confirm === "delete"} title={`Delete ${gw.name}?`} danger busy={remove.isPending} onCancel={() => setConfirm(null)} onConfirm={() => remove.mutate({ id })}>
        Its {agentCount} agents are removed from the runtime and from Mission Control, with its boards and sync history. This cannot be undone.
      </ConfirmDialog>
    </div>
  );
}

function GatewayAgents({ agents }: { agents: Agent[] }) {
  const { selected, setSelected, toggle, toggleMany } = useSelection();
  const rows = useMemo(() => {
    const gateways = new Map(agents.map((a) => [a.gatewayId, a.gateway]));
    const boards = new Map(agents.map((a) => [a.boardId, a.board?.name]));
    return toRows(agents.map(rowOfAgent), { gateway: (gid) => gateways.get(gid), board: (bid) => boards.get(bid) });
  }, [agents]);
  const all = selected.size === agents.length;
  const noop = useCallback(() => undefined, []);
  return (
    <div className="flex h-[min(32rem,70vh)] flex-col border-t border-zinc-200 dark:border-zinc-800">
      <AgentTable
        rows={rows}
        selected={selected}
        onToggle={toggle}
        onToggleMany={toggleMany}
        allSelected={all}
        someSelected={selected.size > 0}
        onToggleAll={() => setSelected(all ? new Set() : new Set(agents.map((a) => a.id)))}
        onFilterGateway={noop}
        onFilterBoard={noop}
      />
    </div>
  );
}

type Run = {
  id: string;
  status: string;
  revision: string;
  wake: boolean;
  startedBy: string;
  startedAt: Date;
  finishedAt: Date | null;
  total: number;
  succeeded: number;
  failed: number;
  results: { id: string; agentId: string; agentName: string | null; ok: boolean; error: string | null; at: Date }[];
};

function SyncHistory({ runs, loading, agentNames }: { runs: Run[] | undefined; loading: boolean; agentNames: Map<string, string> }) {
  return (
    <div className="mt-4">
      <h3 className="mb-1.5 text-xs font-semibold uppercase tracking-wide text-zinc-500">Sync history</h3>
      {loading ? (
        <p className="text-sm text-zinc-500">Loading…</p>
      ) : !runs || runs.length === 0 ? (
        <p className="text-sm text-zinc-500">No template sync yet. “Sync templates” pushes the current revision to every agent of this gateway.</p>
      ) : (
        <ul className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800/70" data-testid="sync-history">
          {runs.map((r) => {
            const duration = r.finishedAt ? (toDate(r.finishedAt)!.getTime() - toDate(r.startedAt)!.getTime()) : null;
            const failures = r.results.filter((x) => !x.ok);
            return (
              <li key={r.id} className="py-1.5" data-testid="sync-run" data-status={r.status}>
                <details>
                  <summary className="flex flex-wrap items-center gap-x-2">
                    <span
                      className={`rounded px-1.5 text-xs font-medium ${
                        r.status === "succeeded"
                          ? "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200"
                          : r.status === "failed"
                            ? "bg-rose-100 text-rose-800 dark:bg-rose-950 dark:text-rose-200"
                            : "bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-200"
                      }`}
                    >
                      {r.status}
                    </span>
                    <span title={formatAbsolute(r.startedAt)}>
                      <RelativeTime value={r.startedAt} />
                    </span>
                    <span className="text-xs text-zinc-500">
                      {r.succeeded}/{r.total} ok{r.failed ? `, ${r.failed} failed` : ""} · rev <span className="font-mono">{shortRevision(r.revision)}</span>
                      {r.wake ? " · with wake" : ""} · by {r.startedBy}
                      {duration !== null ? ` · ${formatDuration(duration)}` : ""}
                    </span>
                  </summary>
                  {r.results.length ? (
                    <ul className="mt-1 max-h-48 overflow-auto pl-4 text-xs">
                      {(failures.length ? failures : r.results).slice(0, 200).map((x) => (
                        <li key={x.id} className={x.ok ? "text-zinc-600 dark:text-zinc-400" : "text-rose-700 dark:text-rose-400"}>
                          <Link href={`/agents/${x.agentId}`} className="underline">
                            {x.agentName ?? agentNames.get(x.agentId) ?? x.agentId}
                          </Link>
                          : {x.ok ? "ok" : x.error ?? "failed"}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <p className="mt-1 pl-4 text-xs text-zinc-500">No per-agent results.</p>
                  )}
                </details>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}


function Item({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="mt-0.5">{children}</dd>
    </div>
  );
}

function Muted({ children }: { children: ReactNode }) {
  return <span className="text-zinc-400 dark:text-zinc-500">{children}</span>;
}
