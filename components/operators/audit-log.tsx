"use client";

// The operators' audit trail (operators.audit): who did what, filtered by actor and action, older pages on demand.
import { useState } from "react";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useTRPC } from "../providers";
import { AbsoluteTime } from "../time";
import { Section } from "./shared";
import { DataState } from "../page-state";
import { TableHead } from "../table-head";

export function AuditLog() {
  const trpc = useTRPC();
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [result, setResult] = useState<"" | "ok" | "failed">("");
  const filter = { actor: actor.trim() || undefined, action: action.trim() || undefined, result: result || undefined, limit: 100 };
  const q = useInfiniteQuery(
    trpc.operators.audit.infiniteQueryOptions(filter, {
      getNextPageParam: (page) => (page.length === 100 ? page[page.length - 1]?.id : undefined),
    }),
  );
  const rows = q.data?.pages.flat() ?? [];

  return (
    <Section title="Audit log">
      <div className="mb-3 flex flex-wrap items-end gap-2" role="search" aria-label="Filter the audit log">
        <label className="flex flex-col gap-1 text-xs">
          <span>Who</span>
          <input className="input w-56" value={actor} onChange={(e) => setActor(e.target.value)} placeholder="email contains…" aria-label="Who" />
        </label>
        <label className="flex flex-col gap-1 text-xs">
          <span>What</span>
          <input className="input w-56" value={action} onChange={(e) => setAction(e.target.value)} placeholder="action contains…" aria-label="What" />
        </label>
        <label className="flex flex-col gap-1 text-xs">
          <span>Result</span>
          <select className="input" value={result} onChange={(e) => setResult(e.target.value as "" | "ok" | "failed")} aria-label="Result">
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="failed">failed / denied</option>
          </select>
        </label>
      </div>
      <DataState query={q} what="the audit log" loading="Loading…" empty="No matching actions." isEmpty={() => rows.length === 0}>
        {() => (
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm" data-testid="audit-table">
              <TableHead columns={["When", "Who", "What", "Result", "Via"]} />
              <tbody>
                {rows.map((e) => {
                  const data = e.data as { result?: string; via?: string; code?: string };
                  const failed = data.result === "failed";
                  return (
                    <tr key={e.id} data-testid="audit-row" data-result={data.result ?? ""} className="border-t border-zinc-100 align-top dark:border-zinc-800">
                      <td className="whitespace-nowrap py-1.5 pr-3 text-xs">
                        <AbsoluteTime value={e.at} />
                      </td>
                      <td className="py-1.5 pr-3">{e.actor ?? "—"}</td>
                      <td className="py-1.5 pr-3 break-words">{e.message}</td>
                      <td className={`py-1.5 pr-3 ${failed ? "text-rose-700 dark:text-rose-400" : "text-emerald-700 dark:text-emerald-400"}`}>
                        {data.result ?? "—"}
                        {data.code ? <span className="ml-1 font-mono text-xs">{data.code}</span> : null}
                      </td>
                      <td className="py-1.5 text-xs text-zinc-500">{data.via ?? "—"}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {q.hasNextPage ? (
              <button type="button" className="btn mt-2" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
                {q.isFetchingNextPage ? "Loading…" : "Older"}
              </button>
            ) : null}
          </div>
        )}
      </DataState>
    </Section>
  );
}
