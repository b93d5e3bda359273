"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { useState, type ReactNode } from "react";
import { useLiveState } from "../live/use-live-updates";
import { useRole } from "../use-role";
import { NAV_LINKS } from "./nav-links";
import { WorkerBanner } from "./worker-banner";
import { KeyboardShortcuts } from "./keyboard-shortcuts";

function isLoginPath(pathname: string | null): boolean {
  return pathname === "/login" || (pathname ?? "").startsWith("/login/");
}

export function AppShell({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  if (isLoginPath(pathname)) return <main className="min-h-dvh">{children}</main>;
  return <SignedInShell pathname={pathname ?? "/"}>{children}</SignedInShell>;
}

function SignedInShell({ pathname, children }: { pathname: string; children: ReactNode }) {
  const role = useRole();
  return (
    <div className="flex h-dvh flex-col">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-2 focus:py-1 dark:focus:bg-zinc-900"
      >
        Skip to content
      </a>
      <TopNav pathname={pathname} isAdmin={role.isAdmin} email={role.email} role={role.role} />
      <WorkerBanner />
      <main id="main" className="min-h-0 flex-1 overflow-auto">
        {children}
      </main>
      <KeyboardShortcuts isAdmin={role.isAdmin} />
    </div>
  );
}

function TopNav({ pathname, isAdmin, email, role }: { pathname: string; isAdmin: boolean; email: string | null; role: string | null }) {
  const [signingOut, setSigningOut] = useState(false);
  const links = NAV_LINKS.filter((l) => !l.adminOnly || isAdmin);

  async function signOut() {
    setSigningOut(true);
    try {
      await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin" });
    } finally {
      window.location.assign("/login");
    }
  }

  return (
    <header className="flex shrink-0 flex-wrap items-center gap-x-4 gap-y-1 border-b border-zinc-200 bg-white px-3 py-1.5 sm:px-4 dark:border-zinc-800 dark:bg-zinc-900">
      <Link href="/" prefetch={false} className="flex items-center gap-2 text-sm font-semibold tracking-tight">
        <span aria-hidden className="inline-block size-2.5 rounded-sm bg-emerald-500" />
        <span className="hidden sm:inline">Mission Control</span>
      </Link>
      <nav aria-label="Main" className="order-last -mx-1 flex w-full items-center gap-0.5 overflow-x-auto sm:order-none sm:w-auto">
        {links.map((l) => {
          const active = l.match(pathname);
          return (
            <Link
              key={l.href}
              href={l.href}
              // Prefetching every section as the console opens competes with the board's first rows for the server.
              prefetch={false}
              aria-current={active ? "page" : undefined}
              aria-keyshortcuts={`g ${l.key}`}
              title={`${l.label} (g ${l.key})`}
              className={`whitespace-nowrap rounded-md px-2.5 py-1 text-sm ${
                active
                  ? "bg-zinc-100 font-medium text-zinc-900 dark:bg-zinc-800 dark:text-zinc-100"
                  : "text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100"
              }`}
            >
              {l.label}
            </Link>
          );
        })}
      </nav>
      <div className="ml-auto flex items-center gap-3 text-sm">
        <LiveIndicator />
        {email ? (
          <span data-testid="current-user" className="hidden text-zinc-600 md:inline dark:text-zinc-400">
            <span className="text-zinc-900 dark:text-zinc-100">{email}</span>
            <span className="ml-1.5 rounded bg-zinc-100 px-1.5 py-0.5 text-xs dark:bg-zinc-800" data-testid="current-role">
              {role}
            </span>
          </span>
        ) : null}
        <button type="button" className="btn" onClick={signOut} disabled={signingOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

function LiveIndicator() {
  const state = useLiveState();
  if (state === "idle") return null;
  const live = state === "live";
  return (
    <span
      data-testid="live-indicator"
      data-state={state}
      role="status"
      className={`inline-flex items-center gap-1.5 text-xs ${live ? "text-emerald-700 dark:text-emerald-400" : "text-amber-700 dark:text-amber-400"}`}
      title={live ? "Receiving live updates" : "Live updates interrupted; reconnecting"}
    >
      <span aria-hidden className={`size-2 rounded-full ${live ? "bg-emerald-500" : "animate-pulse bg-amber-500"}`} />
      {live ? "Live" : state === "connecting" ? "Connecting…" : "Reconnecting…"}
    </span>
  );
}
