"use client";

import { useMemo } from "react";
import type { LifecycleEvent } from "@/lib/client/types";
import { ProgressBar } from "../progress-bar";

export interface SyncState {
  runId: string;
  total: number;
  wake: boolean;
  done: number;
  succeeded: number;
  failed: number;
  final: boolean;
  revision: string | null;
  failures: { agentId: string | null; error: string }[];
}

/**
 * The newest template sync run of a gateway, from its live `gateway.templates.sync.*` events (newest first):
 * started {runId,total,wake,revision}; per agent {runId,done,total,error?}; final {runId,final,succeeded,failed}.
 */
export function latestSync(events: LifecycleEvent[]): SyncState | null {
  const started = events.find((e) => e.event === "gateway.templates.sync.started");
  if (!started) return null;
  const runId = String(started.data?.runId ?? "");
  const state: SyncState = {
    runId,
    total: Number(started.data?.total ?? 0),
    wake: Boolean(started.data?.wake),
    done: 0,
    succeeded: 0,
    failed: 0,
    final: false,
    revision: typeof started.data?.revision === "string" ? started.data.revision : null,
    failures: [],
  };
  for (const e of events) {
    if (e.data?.runId !== runId || e.event === "gateway.templates.sync.started") continue;
    if (e.data?.final) {
      state.final = true;
      state.succeeded = Number(e.data.succeeded ?? state.succeeded);
      state.failed = Number(e.data.failed ?? state.failed);
      continue;
    }
    if (!e.agentId) continue;
    state.done = Math.max(state.done, Number(e.data?.done ?? 0));
    if (!state.final) {
      if (e.event === "gateway.templates.sync.succeeded") state.succeeded += 1;
      else {
        state.failed += 1;
        state.failures.push({ agentId: e.agentId, error: String(e.data?.error ?? e.message) });
      }
    } else if (e.event === "gateway.templates.sync.failed") {
      state.failures.push({ agentId: e.agentId, error: String(e.data?.error ?? e.message) });
    }
  }
  if (state.final) state.done = state.total;
  return state;
}

/** Live progress of the newest sync run: a bar and counts, updated per agent as events arrive. */
export function SyncProgress({ events, agentNames }: { events: LifecycleEvent[]; agentNames: Map<string, string> }) {
  const s = useMemo(() => latestSync(events), [events]);
  if (!s) return null;
  return (
    <div className="rounded-md border border-zinc-200 p-3 text-sm dark:border-zinc-700" data-testid="sync-progress" data-final={s.final} data-done={s.done} data-total={s.total}>
      <div className="flex flex-wrap items-center gap-x-3" role="status" aria-live="polite">
        <span className="font-medium">{s.final ? (s.failed ? "Template sync finished with failures" : "Template sync finished") : "Syncing templates…"}</span>
        <span className="text-xs text-zinc-600 dark:text-zinc-400" data-testid="sync-progress-counts">
          {s.done}/{s.total} agents · <span className="text-emerald-700 dark:text-emerald-400">{s.succeeded} ok</span>
          {s.failed ? <span className="text-rose-700 dark:text-rose-400"> · {s.failed} failed</span> : null}
          {s.wake ? " · agents are woken after the sync" : ""}
        </span>
      </div>
      <ProgressBar className="mt-2" label="Agents synced" total={s.total} succeeded={s.succeeded} failed={s.failed} />
      {s.failures.length ? (
        <ul className="mt-2 space-y-0.5 text-xs text-rose-700 dark:text-rose-400">
          {s.failures.slice(0, 10).map((f, i) => (
            <li key={i}>
              {f.agentId ? agentNames.get(f.agentId) ?? f.agentId : "gateway"}: {f.error}
            </li>
          ))}
          {s.failures.length > 10 ? <li>… and {s.failures.length - 10} more</li> : null}
        </ul>
      ) : null}
    </div>
  );
}
