"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { shortRevision } from "@/lib/agents";
import { useTRPC } from "../providers";
import { RelativeTime } from "../time";
import { useRole } from "../use-role";
import { useLiveUpdates } from "../live/use-live-updates";
import { AgentsByStatus } from "./agents-by-status";
import { GatewayForm } from "./gateway-form";
import { GatewayStatusBadge } from "./gateway-status";
import { DataState } from "../page-state";
import { rooms } from "@/lib/events";
import { TableHead } from "../table-head";

/** /gateways: every gateway with its connection state, version, template revision and agents. */
export function GatewayList() {
  const trpc = useTRPC();
  const router = useRouter();
  const { isAdmin } = useRole();
  useLiveUpdates([rooms.fleet]);
  // While a gateway is being deleted (a queued operation), a slow poll drops it from the list once the delete is done.
  const q = useQuery(trpc.gateways.list.queryOptions(undefined, { refetchInterval: (query) => (query.state.data?.some((g) => g.deletingAt) ? 2_000 : false) }));
  const [adding, setAdding] = useState(false);
  const [filter, setFilter] = useState("");
  const shown = useMemo(() => {
    const t = filter.trim().toLowerCase();
    return (q.data ?? []).filter((g) => !t || `${g.name} ${g.driver} ${g.url ?? ""} ${g.status}`.toLowerCase().includes(t));
  }, [q.data, filter]);

  return (
    <div className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">Gateways</h1>
        <input
          type="search"
          data-shortcut-search
          className="input w-56"
          placeholder="Filter gateways…  ( / )"
          aria-label="Filter gateways"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        {isAdmin && !adding ? (
          <button type="button" className="btn btn-primary ml-auto" onClick={() => setAdding(true)}>
            Add gateway
          </button>
        ) : null}
      </div>

      {adding ? <GatewayForm onCancel={() => setAdding(false)} onDone={(g) => router.push(`/gateways/${g.id}`)} /> : null}

      <DataState
        query={q}
        what="gateways"
        retry
        empty={
          <div className="card p-6 text-sm text-zinc-600 dark:text-zinc-400" data-testid="gateways-empty">
            <p className="font-medium text-zinc-900 dark:text-zinc-100">No gateways yet.</p>
            <p className="mt-1">
              {isAdmin
                ? "Add one with “Add gateway”: pick a driver (http, openclaw or the built-in simulator), its URL and token. Its main agent is provisioned at once."
                : "An admin adds gateways; ask one to connect your runtime."}
            </p>
          </div>
        }
      >
        {() => (
          <div className="card overflow-x-auto">
            <table className="w-full min-w-[60rem] text-left text-sm" data-testid="gateway-table">
              <caption className="sr-only">Gateways</caption>
              <TableHead columns={["Name", "Connection", "Version", "Templates", "Agents", "Last contact", "Last error"]} cell="px-3 py-2" className="border-b border-zinc-200 text-xs text-zinc-500 dark:border-zinc-800 dark:text-zinc-400" />
              <tbody>
                {shown.map((g) => {
                  const stale = g.templateRevision !== g.currentTemplateRevision;
                  return (
                    <tr key={g.id} data-testid="gateway-row" data-gateway-name={g.name} data-status={g.status} data-deleting={Boolean(g.deletingAt)} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800/70">
                      <td className="px-3 py-2">
                        <Link href={`/gateways/${g.id}`} className="font-medium text-sky-700 hover:underline dark:text-sky-400">
                          {g.name}
                        </Link>
                        <div className="text-xs text-zinc-500">
                          {g.driver}
                          {g.url ? <span className="ml-1 break-all font-mono">{g.url}</span> : null}
                        </div>
                      </td>
                      <td className="px-3 py-2">
                        <GatewayStatusBadge status={g.status} />
                        {g.deletingAt ? <span className="ml-2 text-xs text-zinc-500">deleting…</span> : null}
                      </td>
                      <td className="px-3 py-2 font-mono text-xs">{g.runtimeVersion ?? "—"}</td>
                      <td className="px-3 py-2">
                        <span className="font-mono text-xs" title={g.templateRevision ?? "never synced"}>
                          {shortRevision(g.templateRevision)}
                        </span>
                        {stale ? (
                          <span
                            className="ml-1.5 rounded bg-amber-100 px-1 text-[10px] font-semibold uppercase text-amber-800 dark:bg-amber-950 dark:text-amber-300"
                            title={`Current revision is ${g.currentTemplateRevision}: Sync templates`}
                          >
                            stale
                          </span>
                        ) : null}
                      </td>
                      <td className="px-3 py-2">
                        <AgentsByStatus counts={g.agentsByStatus} />
                      </td>
                      <td className="px-3 py-2 text-xs">
                        <RelativeTime value={g.lastContactAt} empty="never" />
                      </td>
                      <td className="max-w-[20rem] truncate px-3 py-2 text-xs text-rose-700 dark:text-rose-400" title={g.lastError ?? undefined}>
                        {g.lastError ?? ""}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {shown.length === 0 ? <p className="p-4 text-sm text-zinc-500">No gateway matches “{filter}”.</p> : null}
          </div>
        )}
      </DataState>
    </div>
  );
}
