"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { useState, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "./providers";
import { useLiveState } from "./use-live-updates";

function isLoginPath(pathname: string | null): boolean {
  return pathname === "/login" || (pathname ?? "").startsWith("/login/");
}

export function AppShell({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  if (isLoginPath(pathname)) return <main className="min-h-dvh">{children}</main>;
  return (
    <div className="flex h-dvh flex-col">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-2 focus:py-1 dark:focus:bg-zinc-900">
        Skip to content
      </a>
      <TopNav pathname={pathname ?? "/"} />
      <WorkerBanner />
      <main id="main" className="min-h-0 flex-1 overflow-auto">
        {children}
      </main>
    </div>
  );
}

const LINKS = [{ href: "/", label: "Board", match: (p: string) => p === "/" || p.startsWith("/agents/") }];

function TopNav({ pathname }: { pathname: string }) {
  const trpc = useTRPC();
  const me = useQuery(trpc.system.me.queryOptions(undefined, { staleTime: Infinity }));
  const [signingOut, setSigningOut] = useState(false);

  async function signOut() {
    setSigningOut(true);
    try {
      await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin" });
    } finally {
      window.location.assign("/login");
    }
  }

  return (
    <header className="flex h-11 shrink-0 items-center gap-4 border-b border-zinc-200 bg-white px-4 dark:border-zinc-800 dark:bg-zinc-900">
      <Link href="/" className="flex items-center gap-2 text-sm font-semibold tracking-tight">
        <span aria-hidden className="inline-block size-2.5 rounded-sm bg-emerald-500" />
        Mission Control
      </Link>
      <nav aria-label="Main" className="flex items-center gap-1">
        {LINKS.map((l) => {
          const active = l.match(pathname);
          return (
            <Link
              key={l.href}
              href={l.href}
              aria-current={active ? "page" : undefined}
              className={`rounded-md px-2.5 py-1 text-sm ${
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
        {me.data ? (
          <span data-testid="current-user" className="text-zinc-600 dark:text-zinc-400">
            <span className="text-zinc-900 dark:text-zinc-100">{me.data.email}</span>
            <span className="ml-1.5 rounded bg-zinc-100 px-1.5 py-0.5 text-xs dark:bg-zinc-800">{me.data.role}</span>
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

/** SPEC §8/§9: when no queue worker is alive, every page says that the lifecycle is paused. */
function WorkerBanner() {
  const trpc = useTRPC();
  const health = useQuery(trpc.system.health.queryOptions(undefined, { refetchInterval: 15_000, staleTime: 5_000 }));
  if (!health.data || health.data.workersAlive !== 0) return null;
  return (
    <div
      role="alert"
      data-testid="worker-banner"
      className="shrink-0 border-b border-amber-300 bg-amber-50 px-4 py-2 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
    >
      <strong className="font-semibold">Lifecycle paused: no queue worker is running</strong> — start one with{" "}
      <code>npm run worker</code> or restart with <code>MC_WORKER=1</code>
    </div>
  );
}
