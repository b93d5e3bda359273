// Progress of queued fleet operations (server/fleet/) as the console shows it: the state `fleet.operation(s)` fetched,
// brought forward by the `fleet.operation.progress` events the live socket pushed since (a push can be newer than the
// last fetch, or arrive before it).

export interface OperationProgress {
  total: number;
  done: number;
  failed: number;
  status: string;
}

/**
 * Applies pushed progress events to `known` (operation id → fetched progress), in place. A pushed event wins when it
 * says more was done, or that the operation ended. Operations not in `known` are taken from the pushes only when
 * `adopt` says so (an operation the page follows before its first fetch).
 */
export function applyPushedProgress(known: Map<string, OperationProgress>, pushed: readonly { data?: unknown }[], adopt: (operationId: string) => boolean = () => false): void {
  for (const e of pushed) {
    const d = (e.data ?? {}) as Partial<OperationProgress> & { operationId?: string };
    if (!d.operationId || d.done === undefined) continue;
    const current = known.get(d.operationId);
    if (!current && !adopt(d.operationId)) continue;
    const ended = d.status === "done" || d.status === "failed";
    if (!current || d.done > current.done || (ended && current.status !== d.status)) {
      known.set(d.operationId, { total: d.total ?? current?.total ?? 0, done: d.done, failed: d.failed ?? 0, status: d.status ?? current?.status ?? "running" });
    }
  }
}
