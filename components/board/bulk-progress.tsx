"use client";

import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { AgentRow } from "@/lib/agent-row";
import { useTRPC } from "../providers";
import { ProgressBar } from "../progress-bar";
import { applyPushedProgress, type OperationProgress } from "@/lib/client/fleet-progress";

interface Props {
  /** The agents reprovisioned, with their cycle (generation) before the reprovision. */
  generations: ReadonlyMap<string, number>;
  /** Agents the board has loaded (may be one page of the fleet, or none): their new cycles' outcome, where known. */
  agents: readonly Pick<AgentRow, "id" | "status" | "lifecycleGeneration">[] | undefined;
  /** The bulkReprovision calls are still running. */
  starting: boolean;
  /** The operations the calls queued; without them, every fleet operation started since this panel opened. */
  operationIds?: readonly string[];
  onDismiss(): void;
}

/** How recent an operation must be to be this panel's when it is not told which (browser and server clocks differ). */
const SINCE_MARGIN_MS = 30_000;

/**
 * Progress of a bulk reprovision. The work runs as queued fleet operations (server/fleet/): their done/total and
 * failures come from `fleet.operations`, kept current by the `fleet.operation.progress` events the live socket pushes
 * (a slow poll covers a lost push). Where the board has the agents loaded, their new cycles' outcome is shown too.
 */
export function BulkProgress({ generations, agents, starting, operationIds, onDismiss }: Props) {
  const trpc = useTRPC();
  const [since] = useState(() => new Date(Date.now() - SINCE_MARGIN_MS));
  const opsQ = useQuery(
    trpc.fleet.operations.queryOptions(
      { since, limit: 200 },
      { refetchInterval: (q) => (q.state.data?.length && q.state.data.every((o) => o.status === "done" || o.status === "failed") ? false : 2_000) },
    ),
  );
  const pushedQ = useQuery(trpc.events.list.queryOptions({ events: ["fleet.operation.progress"], limit: 200 }));

  const op = useMemo(() => {
    const wanted = operationIds ? new Set(operationIds) : null;
    const byId = new Map<string, OperationProgress>();
    for (const o of opsQ.data ?? []) {
      if (wanted ? wanted.has(o.id) : o.kind === "reprovision") byId.set(o.id, { total: o.total, done: o.done, failed: o.failed, status: o.status });
    }
    applyPushedProgress(byId, pushedQ.data ?? []);
    const list = [...byId.values()];
    return {
      count: list.length,
      total: list.reduce((n, o) => n + o.total, 0),
      done: list.reduce((n, o) => n + o.done, 0),
      failed: list.reduce((n, o) => n + o.failed, 0),
      ended: list.length > 0 && list.every((o) => o.status === "done" || o.status === "failed"),
      stopped: list.filter((o) => o.status === "failed").length,
    };
  }, [opsQ.data, pushedQ.data, operationIds]);

  const c = useMemo(() => {
    const r = { known: 0, waiting: 0, cycling: 0, online: 0, offline: 0 };
    if (!agents) return r;
    const byId = new Map(agents.map((a) => [a.id, a]));
    for (const [id, before] of generations) {
      const a = byId.get(id);
      if (!a) continue;
      r.known += 1;
      if (a.lifecycleGeneration <= before) r.waiting += 1;
      else if (a.status === "online") r.online += 1;
      else if (a.status === "offline") r.offline += 1;
      else r.cycling += 1;
    }
    return r;
  }, [generations, agents]);

  const total = op.total || generations.size;
  // Done: every queued operation ended, and the loaded agents' new cycles ended too.
  const done = !starting && op.ended && c.waiting + c.cycling === 0;
  const heading = starting
    ? `Queuing the reprovision of ${generations.size} agents…`
    : done
      ? op.stopped
        ? "Reprovision stopped"
        : "Reprovision finished"
      : op.count === 0 || op.done === 0
        ? "Reprovision queued…"
        : "Reprovisioning…";
  return (
    <div className="rounded-md border border-zinc-200 px-3 py-2 text-sm dark:border-zinc-700" data-testid="bulk-progress" data-done={done} role="status" aria-live="polite">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
        <span className="font-medium">{heading}</span>
        <span className="text-xs text-zinc-600 dark:text-zinc-400" data-testid="bulk-progress-counts">
          {op.done}/{total} done
          {op.failed ? (
            <>
              {" · "}
              <span className="text-rose-700 dark:text-rose-400">{op.failed} failed</span>
            </>
          ) : null}
          {c.known ? (
            <>
              {" · "}
              <span className="text-emerald-700 dark:text-emerald-400">{c.online} online</span> ·{" "}
              <span className="text-rose-700 dark:text-rose-400">{c.offline} offline</span> · {c.cycling} cycling
            </>
          ) : null}
          {op.stopped ? ` · ${op.stopped} operation${op.stopped === 1 ? "" : "s"} stopped` : ""}
        </span>
        <button type="button" className="ml-auto text-xs underline" onClick={onDismiss}>
          {done ? "Dismiss" : "Hide"}
        </button>
      </div>
      <ProgressBar label="Agents the queued reprovision has handled" total={total} succeeded={op.done - op.failed} failed={op.failed} />
    </div>
  );
}
