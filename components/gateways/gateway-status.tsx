// Gateway connection state in one colour per state, used on every gateway view.
const STYLES: Record<string, string> = {
  reachable: "bg-emerald-100 text-emerald-800 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-200 dark:ring-emerald-800",
  unreachable: "bg-orange-100 text-orange-800 ring-orange-300 dark:bg-orange-950 dark:text-orange-200 dark:ring-orange-800",
  incompatible: "bg-rose-100 text-rose-800 ring-rose-300 dark:bg-rose-950 dark:text-rose-200 dark:ring-rose-800",
  unknown: "bg-zinc-200 text-zinc-700 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700",
};

export function GatewayStatusBadge({ status }: { status: string }) {
  return (
    <span
      data-testid="gateway-status"
      data-status={status}
      className={`inline-flex h-5 items-center rounded-full px-2 text-xs font-medium ring-1 ring-inset ${STYLES[status] ?? STYLES.unknown}`}
    >
      {status === "unreachable" ? "gateway unreachable" : status}
    </span>
  );
}
