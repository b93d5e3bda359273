import { AGENT_STATUSES, STATUS_STYLES } from "@/lib/status";

/** A small stacked bar of a gateway's agents per status, with the counts for screen readers and on hover. */
export function AgentsByStatus({ counts }: { counts: Record<string, number> }) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (total === 0) return <span className="text-xs text-zinc-500">no agents</span>;
  const text = AGENT_STATUSES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(", ");
  return (
    <span className="inline-flex items-center gap-2" title={text}>
      <span aria-hidden className="flex h-2 w-24 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800">
        {AGENT_STATUSES.map((s) => (counts[s] ? <span key={s} className={STATUS_STYLES[s].dot} style={{ width: `${(counts[s] / total) * 100}%` }} /> : null))}
      </span>
      <span className="font-mono text-xs tabular-nums">{total}</span>
      <span className="sr-only">agents: {text}</span>
    </span>
  );
}
