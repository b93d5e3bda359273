"use client";

import type { ReactNode } from "react";
import { CopyButton } from "../copy-button";

export { NoticeBar, Section, type Notice } from "../notice";

export const ROLE_OPTIONS = [
  { value: "viewer", label: "viewer — sees everything, acts on nothing" },
  { value: "operator", label: "operator — acts on agents (reprovision, wake, rotate, delete)" },
  { value: "admin", label: "admin — also manages gateways, operators and tokens" },
] as const;

export type RoleValue = (typeof ROLE_OPTIONS)[number]["value"];

export const ROLE_BADGE: Record<string, string> = {
  admin: "bg-violet-100 text-violet-800 ring-violet-300 dark:bg-violet-950 dark:text-violet-200 dark:ring-violet-800",
  operator: "bg-sky-100 text-sky-800 ring-sky-300 dark:bg-sky-950 dark:text-sky-200 dark:ring-sky-800",
  viewer: "bg-zinc-100 text-zinc-700 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700",
};

export function RoleBadge({ role }: { role: string }) {
  return <span className={`inline-flex rounded px-1.5 py-0.5 text-xs font-medium ring-1 ring-inset ${ROLE_BADGE[role] ?? ROLE_BADGE.viewer}`}>{role}</span>;
}



/**
 * A secret shown exactly once (a new API token, a generated password): selectable, copyable, and gone when dismissed.
 * The server keeps only a hash; nobody can show it again.
 */
export function OneTimeSecret({ label, value, hint, onDismiss }: { label: string; value: string; hint?: ReactNode; onDismiss(): void }) {
  return (
    <div role="status" data-testid="one-time-secret" className="flex flex-col gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
      <p className="font-medium">{label} — shown once: copy it now, it cannot be shown again.</p>
      <div className="flex flex-wrap items-center gap-2">
        <code data-testid="one-time-secret-value" className="select-all break-all bg-white px-2 py-1 dark:bg-zinc-900">
          {value}
        </code>
        <CopyButton value={value} />
        <button type="button" className="btn ml-auto" onClick={onDismiss}>
          Done
        </button>
      </div>
      {hint ? <div className="text-xs text-amber-900 dark:text-amber-200">{hint}</div> : null}
    </div>
  );
}

export function AdminOnly({ loaded, isAdmin, what, children }: { loaded: boolean; isAdmin: boolean; what: string; children: ReactNode }) {
  if (!loaded) {
    return (
      <p className="p-6 text-sm text-zinc-500" role="status">
        Loading…
      </p>
    );
  }
  if (!isAdmin) {
    return (
      <div className="mx-auto max-w-3xl p-6 text-sm" role="alert" data-testid="admin-only">
        <h1 className="text-lg font-semibold">Admins only</h1>
        <p className="mt-1 text-zinc-600 dark:text-zinc-400">Only admins manage {what}. Ask an admin if you need access.</p>
      </div>
    );
  }
  return <>{children}</>;
}
