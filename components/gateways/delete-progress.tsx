"use client";

import { useEffect, useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../providers";
import { ProgressBar } from "../progress-bar";
import { applyPushedProgress, type OperationProgress } from "@/lib/client/fleet-progress";

/**
 * Progress of a gateway delete, a queued fleet operation (server/fleet/): read from `fleet.operation`, kept current by
 * the `fleet.operation.progress` events the live socket pushes (a slow poll covers a lost push), as the board's bulk
 * progress panel does. Calls `onDone` once the operation finished (the gateway is gone by then).
 */
export function DeleteProgress({ gatewayId, operationId, onDone }: { gatewayId: string; operationId: string; onDone(): void }) {
  const trpc = useTRPC();
  const opQ = useQuery(
    trpc.fleet.operation.queryOptions({ id: operationId }, { refetchInterval: (q) => (q.state.data?.status === "done" || q.state.data?.status === "failed" ? false : 2_000) }),
  );
  const pushedQ = useQuery(trpc.events.list.queryOptions({ gatewayId, events: ["fleet.operation.progress"], limit: 50 }));

  const op = useMemo(() => {
    const known = new Map<string, OperationProgress>();
    if (opQ.data) known.set(operationId, { total: opQ.data.total, done: opQ.data.done, failed: opQ.data.failed, status: opQ.data.status });
    applyPushedProgress(known, pushedQ.data ?? [], (id) => id === operationId);
    const progress = known.get(operationId);
    return progress ? { ...progress, error: opQ.data?.error ?? null } : null;
  }, [opQ.data, pushedQ.data, operationId]);

  const status = op?.status;
  useEffect(() => {
    if (status === "done") onDone();
  }, [status, onDone]);

  const total = op?.total ?? 0;
  const done = op?.done ?? 0;
  const heading = status === "failed" ? `Delete stopped: ${op?.error ?? "failed"} (delete again to resume)` : status === "done" ? "Gateway deleted" : done === 0 ? "Delete queued…" : "Deleting agents…";
  return (
    <div className="rounded-md border border-zinc-200 px-3 py-2 text-sm dark:border-zinc-700" data-testid="gateway-delete-progress" data-status={status ?? "queued"} role="status" aria-live="polite">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
        <span className="font-medium">{heading}</span>
        <span className="text-xs text-zinc-600 dark:text-zinc-400">
          {done}/{total} agents deleted
        </span>
      </div>
      <ProgressBar label="Agents the gateway delete has removed" total={total} succeeded={status === "failed" ? 0 : done} failed={status === "failed" ? done : 0} />
    </div>
  );
}
