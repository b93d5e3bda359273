"use client";

import Link from "next/link";
import { useState, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { formatAbsolute, formatDuration } from "@/lib/time";
import type { FailedJob, Health } from "@/lib/client/types";
import { errorMessage, useTRPC } from "../providers";
import { RelativeTime } from "../time";
import { useRole } from "../use-role";
import { useLiveUpdates } from "../live/use-live-updates";
import { DataState } from "../page-state";
import { rooms } from "@/lib/events";
import { TableHead } from "../table-head";

const STATES = ["created", "retry", "active", "completed", "cancelled", "failed"] as const;

/** /system: queue workers, queue depth per state, reconcile lag and failed jobs with Retry. */
export function SystemView() {
  const trpc = useTRPC();
  useLiveUpdates([rooms.fleet]);
  const healthQ = useQuery(trpc.system.health.queryOptions(undefined, { staleTime: 2_000 }));
  const failedQ = useQuery(trpc.system.failedJobs.queryOptions({ limit: 50 }));
  const h = healthQ.data;

  return (
    <div className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">System</h1>
        {h ? (
          <span className="text-xs text-zinc-500">
            Queue schema <code>{h.queueSchema}</code> · checked <RelativeTime value={h.checkedAt} />
          </span>
        ) : null}
        <button type="button" className="btn ml-auto" onClick={() => void healthQ.refetch()} disabled={healthQ.isFetching}>
          {healthQ.isFetching ? "Refreshing…" : "Refresh"}
        </button>
      </div>
      <DataState query={healthQ} what="system health" retry>
        {(health) => (
          <>
            <Summary h={health} />
            <Workers h={health} />
            <Queues h={health} />
          </>
        )}
      </DataState>
      <FailedJobs jobs={failedQ.data} loading={failedQ.isPending} error={failedQ.error} />
    </div>
  );
}

function Summary({ h }: { h: Health }) {
  const lag = h.queue.oldestOverdueSeconds;
  const tiles: { label: string; value: ReactNode; tone: string; testId: string; hint: string }[] = [
    {
      label: "Workers alive",
      value: h.workersAlive,
      tone: h.workersAlive > 0 ? "text-emerald-700 dark:text-emerald-400" : "text-rose-700 dark:text-rose-400",
      testId: "workers-alive",
      hint: h.workersAlive > 0 ? `beating within the last ${h.workerStaleAfterSeconds}s` : "lifecycle is paused: run `npm run worker`",
    },
    {
      label: "Reconcile lag",
      value: lag > 0 ? formatDuration(lag * 1000) : "0s",
      tone: lag > 5 ? "text-rose-700 dark:text-rose-400" : lag > 1 ? "text-amber-700 dark:text-amber-400" : "text-emerald-700 dark:text-emerald-400",
      testId: "reconcile-lag",
      hint: "age of the oldest overdue deadline job (should stay under 1 s)",
    },
    {
      label: "Deadline jobs waiting",
      value: h.queue.waiting,
      tone: "",
      testId: "queue-depth",
      hint: `${h.queue.overdue} overdue, ${h.queue.active} running`,
    },
    {
      label: "Failed jobs",
      value: h.queueStats.reduce((n, q) => n + q.failed, 0),
      tone: h.queueStats.some((q) => q.failed > 0) ? "text-rose-700 dark:text-rose-400" : "",
      testId: "failed-count",
      hint: "across all queues (kept for the retention period)",
    },
  ];
  return (
    <div className="grid grid-cols-2 gap-3 lg:grid-cols-4">
      {tiles.map((t) => (
        <div key={t.label} className="card p-3" data-testid={t.testId}>
          <div className="text-xs text-zinc-500">{t.label}</div>
          <div className={`mt-1 font-mono text-2xl font-semibold tabular-nums ${t.tone}`}>{t.value}</div>
          <div className="mt-1 text-xs text-zinc-500">{t.hint}</div>
        </div>
      ))}
    </div>
  );
}

function Workers({ h }: { h: Health }) {
  return (
    <section className="card p-4" aria-labelledby="workers-title">
      <h2 id="workers-title" className="mb-2 text-sm font-semibold text-zinc-700 dark:text-zinc-300">
        Queue workers
      </h2>
      {h.workers.length === 0 ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="no-workers">
          No worker has ever registered on this database. Start one with <code>npm run worker</code> (same <code>DATABASE_URL</code> and{" "}
          <code>QUEUE_SCHEMA</code>), or run the server with <code>MC_WORKER=1</code> (the default).
        </p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full min-w-[44rem] text-left text-sm" data-testid="worker-table">
            <TableHead columns={["State", "Worker", "Host / pid", "Queue schema", "Started", "Last beat"]} cell="py-1.5 pr-3" className="text-xs text-zinc-500" rowClassName="border-b border-zinc-200 dark:border-zinc-800" />
            <tbody>
              {h.workers.map((w) => (
                <tr key={w.id} data-testid="worker-row" data-alive={w.alive} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800/70">
                  <td className="py-1.5 pr-3">
                    <span
                      className={`inline-flex h-5 items-center gap-1 rounded-full px-2 text-xs font-medium ring-1 ring-inset ${
                        w.alive
                          ? "bg-emerald-100 text-emerald-800 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-200 dark:ring-emerald-800"
                          : "bg-rose-100 text-rose-800 ring-rose-300 dark:bg-rose-950 dark:text-rose-200 dark:ring-rose-800"
                      }`}
                    >
                      {w.alive ? "alive" : "stale"}
                    </span>
                  </td>
                  <td className="py-1.5 pr-3 font-mono text-xs">{w.id}</td>
                  <td className="py-1.5 pr-3 text-xs">
                    {w.host} / {w.pid}
                  </td>
                  <td className="py-1.5 pr-3 text-xs">
                    <code>{w.queueSchema}</code>
                    {!w.sameSchema ? <span className="ml-1 font-semibold text-rose-700 dark:text-rose-400">≠ this server ({h.queueSchema})</span> : null}
                  </td>
                  <td className="py-1.5 pr-3 text-xs">
                    <RelativeTime value={w.startedAt} />
                  </td>
                  <td className="py-1.5 pr-3 text-xs" data-testid="worker-last-beat">
                    <RelativeTime value={w.lastBeatAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Queues({ h }: { h: Health }) {
  return (
    <section className="card p-4" aria-labelledby="queues-title">
      <h2 id="queues-title" className="mb-2 text-sm font-semibold text-zinc-700 dark:text-zinc-300">
        Queues
      </h2>
      <div className="overflow-x-auto">
        <table className="w-full min-w-[44rem] text-left text-sm" data-testid="queue-table">
          <thead className="text-xs text-zinc-500">
            <tr className="border-b border-zinc-200 dark:border-zinc-800">
              <th className="py-1.5 pr-3 font-medium">Queue</th>
              {STATES.map((s) => (
                <th key={s} className="py-1.5 pr-3 text-right font-medium">
                  {s}
                </th>
              ))}
              <th className="py-1.5 pr-3 text-right font-medium">overdue</th>
              <th className="py-1.5 pr-3 text-right font-medium">oldest overdue</th>
            </tr>
          </thead>
          <tbody>
            {h.queueStats.map((q) => (
              <tr key={q.name} data-testid="queue-row" data-queue={q.name} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800/70">
                <td className="py-1.5 pr-3 font-mono text-xs">{q.name}</td>
                {STATES.map((s) => (
                  <td key={s} className={`py-1.5 pr-3 text-right font-mono tabular-nums ${s === "failed" && q.states[s] > 0 ? "text-rose-700 dark:text-rose-400" : ""}`}>
                    {q.states[s]}
                  </td>
                ))}
                <td className={`py-1.5 pr-3 text-right font-mono tabular-nums ${q.overdue > 0 ? "text-amber-700 dark:text-amber-400" : ""}`}>{q.overdue}</td>
                <td className="py-1.5 pr-3 text-right font-mono tabular-nums">{q.oldestOverdueSeconds > 0 ? formatDuration(q.oldestOverdueSeconds * 1000) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function FailedJobs({ jobs, loading, error }: { jobs: FailedJob[] | undefined; loading: boolean; error: unknown }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { canAct } = useRole();
  const [result, setResult] = useState<string | null>(null);
  const retry = useMutation(
    trpc.system.retryJob.mutationOptions({
      onSuccess: (_, v) => {
        setResult(`Job ${v.id.slice(0, 8)} is queued again`);
        void queryClient.invalidateQueries(trpc.system.failedJobs.queryFilter());
        void queryClient.invalidateQueries(trpc.system.health.queryFilter());
      },
      onError: (e) => setResult(`Retry failed: ${errorMessage(e)}`),
    }),
  );
  return (
    <section className="card p-4" aria-labelledby="failed-title">
      <h2 id="failed-title" className="mb-2 text-sm font-semibold text-zinc-700 dark:text-zinc-300">
        Recent failed jobs
      </h2>
      {result ? (
        <p role="status" className="mb-2 text-sm" data-testid="retry-result">
          {result}
        </p>
      ) : null}
      {loading ? (
        <p className="text-sm text-zinc-500">Loading…</p>
      ) : error ? (
        <p className="text-sm text-rose-700" role="alert">
          Could not load failed jobs: {errorMessage(error)}
        </p>
      ) : !jobs || jobs.length === 0 ? (
        <p className="text-sm text-zinc-500" data-testid="no-failed-jobs">
          No failed jobs. A reconcile that throws is retried by the queue first; jobs land here only after their retries ran out.
        </p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full min-w-[48rem] text-left text-sm" data-testid="failed-jobs">
            <thead className="text-xs text-zinc-500">
              <tr className="border-b border-zinc-200 dark:border-zinc-800">
                <th className="py-1.5 pr-3 font-medium">Failed</th>
                <th className="py-1.5 pr-3 font-medium">Queue</th>
                <th className="py-1.5 pr-3 font-medium">Job</th>
                <th className="py-1.5 pr-3 font-medium">Agent</th>
                <th className="py-1.5 pr-3 font-medium">Retries</th>
                <th className="py-1.5 pr-3 font-medium">Error</th>
                <th className="py-1.5 pr-3" />
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.id} data-testid="failed-job" className="border-b border-zinc-100 last:border-0 dark:border-zinc-800/70">
                  <td className="py-1.5 pr-3 text-xs" title={formatAbsolute(j.completedOn ?? j.createdOn)}>
                    <RelativeTime value={j.completedOn ?? j.createdOn} />
                  </td>
                  <td className="py-1.5 pr-3 font-mono text-xs">{j.queue}</td>
                  <td className="py-1.5 pr-3 font-mono text-xs" title={j.id}>
                    {j.id.slice(0, 8)}
                  </td>
                  <td className="py-1.5 pr-3 text-xs">
                    {j.agentId ? (
                      <Link href={`/agents/${j.agentId}`} className="text-sky-700 underline dark:text-sky-400">
                        {j.agentId.slice(0, 8)}
                      </Link>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td className="py-1.5 pr-3 font-mono text-xs">
                    {j.retryCount}/{j.retryLimit}
                  </td>
                  <td className="max-w-[28rem] truncate py-1.5 pr-3 text-xs text-rose-700 dark:text-rose-400" title={j.error ?? undefined}>
                    {j.error ?? "—"}
                  </td>
                  <td className="py-1.5 pr-3 text-right">
                    {canAct ? (
                      <button type="button" className="btn" disabled={retry.isPending} onClick={() => retry.mutate({ queue: j.queue, id: j.id })}>
                        Retry
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
