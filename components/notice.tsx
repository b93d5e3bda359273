import type { ReactNode } from "react";

/** The result of the last action on a page: every action confirms what it did, or says why it failed. */
export type Notice = { kind: "ok" | "error"; text: string } | null;

export function NoticeBar({ notice, onDismiss }: { notice: Notice; onDismiss(): void }) {
  if (!notice) return null;
  return (
    <div
      className={`flex items-center gap-3 rounded-md px-3 py-2 text-sm ${
        notice.kind === "ok" ? "bg-emerald-50 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100" : "bg-rose-50 text-rose-900 dark:bg-rose-950 dark:text-rose-100"
      }`}
    >
      <span role={notice.kind === "error" ? "alert" : "status"} data-testid="action-result" data-kind={notice.kind}>
        {notice.text}
      </span>
      <button type="button" className="ml-auto text-xs underline" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}

/** A titled card of a page, with optional actions on the right of its title. */
export function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card p-4" aria-label={title}>
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <h2 className="text-sm font-semibold text-zinc-700 dark:text-zinc-300">{title}</h2>
        {actions ? <div className="ml-auto flex items-center gap-2">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}
