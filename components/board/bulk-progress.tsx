"use client";

import { useMemo } from "react";
import type { Agent } from "@/lib/types";

interface Props {
  /** The agents reprovisioned, with their cycle (generation) before the reprovision. */
  generations: ReadonlyMap<string, number>;
  agents: Agent[] | undefined;
  /** The bulkReprovision call is still running. */
  starting: boolean;
  onDismiss(): void;
}

/**
 * Progress of a bulk reprovision, live from the socket-fed cache: an agent counts once it is in a newer cycle than
 * before, and is done when that cycle ended online (converged) or offline (gave up).
 */
export function BulkProgress({ generations, agents, starting, onDismiss }: Props) {
  const c = useMemo(() => {
    const r = { total: generations.size, waiting: 0, cycling: 0, online: 0, offline: 0, gone: 0 };
    const byId = new Map((agents ?? []).map((a) => [a.id, a]));
    for (const [id, before] of generations) {
      const a = byId.get(id);
      if (!a) r.gone += 1;
      else if (a.lifecycleGeneration <= before) r.waiting += 1;
      else if (a.status === "online") r.online += 1;
      else if (a.status === "offline") r.offline += 1;
      else r.cycling += 1;
    }
    return r;
  }, [generations, agents]);
  const finished = c.online + c.offline + c.gone;
  const done = !starting && finished === c.total;
  const pct = (n: number) => `${c.total ? (n / c.total) * 100 : 0}%`;
  return (
    <div className="rounded-md border border-zinc-200 px-3 py-2 text-sm dark:border-zinc-700" data-testid="bulk-progress" data-done={done} role="status" aria-live="polite">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
        <span className="font-medium">{starting ? `Starting reprovision of ${c.total} agents…` : done ? "Reprovision finished" : "Reprovisioning…"}</span>
        <span className="text-xs text-zinc-600 dark:text-zinc-400" data-testid="bulk-progress-counts">
          {finished}/{c.total} done · <span className="text-emerald-700 dark:text-emerald-400">{c.online} online</span> ·{" "}
          <span className="text-rose-700 dark:text-rose-400">{c.offline} offline</span> · {c.cycling} cycling
          {c.waiting ? ` · ${c.waiting} not started yet` : ""}
          {c.gone ? ` · ${c.gone} deleted` : ""}
        </span>
        <button type="button" className="ml-auto text-xs underline" onClick={onDismiss}>
          {done ? "Dismiss" : "Hide"}
        </button>
      </div>
      <div
        className="mt-1.5 flex h-1.5 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
        role="progressbar"
        aria-label="Agents whose new cycle has ended"
        aria-valuemin={0}
        aria-valuemax={c.total}
        aria-valuenow={finished}
      >
        <div className="bg-emerald-500" style={{ width: pct(c.online) }} />
        <div className="bg-rose-500" style={{ width: pct(c.offline) }} />
        <div className="bg-amber-400" style={{ width: pct(c.cycling) }} />
      </div>
    </div>
  );
}
