import { statusStyle } from "@/lib/status";

/** The agent status exactly as stored, in its one colour (lib/status.ts). */
export function StatusPill({ status, className = "", testId = "status-pill" }: { status: string; className?: string; testId?: string }) {
  const style = statusStyle(status);
  return (
    <span
      data-testid={testId}
      data-status={status}
      className={`inline-flex h-5 items-center gap-1 rounded-full px-2 text-xs font-medium ring-1 ring-inset ${style.pill} ${className}`}
    >
      <span aria-hidden className={`size-1.5 rounded-full ${style.dot} ${status === "waking" ? "animate-pulse" : ""}`} />
      {status}
    </span>
  );
}
