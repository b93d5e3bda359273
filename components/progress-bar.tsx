// The one progress bar of long work (bulk reprovision, template sync, gateway delete): succeeded in green, failed in
// red, out of the total; an empty total shows an empty bar.

export function ProgressBar({ label, total, succeeded, failed = 0, className = "mt-1.5" }: { label: string; total: number; succeeded: number; failed?: number; className?: string }) {
  const pct = (n: number) => `${total > 0 ? (Math.min(Math.max(n, 0), total) / total) * 100 : 0}%`;
  return (
    <div
      className={`${className} flex h-1.5 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={Math.min(succeeded + failed, total)}
    >
      <div className="bg-emerald-500 transition-[width]" style={{ width: pct(succeeded) }} />
      <div className="bg-rose-500 transition-[width]" style={{ width: pct(failed) }} />
    </div>
  );
}
