// Pieces shared by the notification log and the rules page: state and delivery pills in the console's colours.

export const TRIGGER_NAMES: Record<string, string> = {
  agent_offline: "agent offline",
  gateway_unreachable: "gateway unreachable",
  template_sync_failed: "template sync failed",
  no_worker: "no worker alive",
  reconcile_lag: "reconcile lag",
};

const PILL = "inline-flex h-5 items-center rounded-full px-2 text-xs font-medium ring-1 ring-inset";

const STATE_STYLE: Record<string, string> = {
  firing: "bg-rose-100 text-rose-800 ring-rose-300 dark:bg-rose-950 dark:text-rose-200 dark:ring-rose-800",
  resolved: "bg-emerald-100 text-emerald-800 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-200 dark:ring-emerald-800",
  test: "bg-zinc-100 text-zinc-700 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700",
};

const DELIVERY_STYLE: Record<string, string> = {
  pending: "bg-sky-100 text-sky-800 ring-sky-300 dark:bg-sky-950 dark:text-sky-200 dark:ring-sky-800",
  delivered: STATE_STYLE.resolved,
  failed: STATE_STYLE.firing,
  skipped: STATE_STYLE.test,
};

export function StatePill({ state }: { state: string }) {
  return (
    <span data-testid="notification-state" data-state={state} className={`${PILL} ${STATE_STYLE[state] ?? STATE_STYLE.test}`}>
      {state}
    </span>
  );
}

export function DeliveryPill({ status, attempts }: { status: string; attempts: number }) {
  const label = status === "pending" && attempts > 0 ? `retrying (${attempts} tried)` : status;
  return (
    <span data-testid="delivery-status" data-status={status} className={`${PILL} ${DELIVERY_STYLE[status] ?? DELIVERY_STYLE.skipped}`}>
      {label}
    </span>
  );
}
