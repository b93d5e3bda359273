"use client";

import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../providers";

/**
 * docs/architecture.md (pages) and docs/ops/: when no queue worker is alive, every page says that the lifecycle is paused, and what to run.
 * Kept fresh by `system.health` pushes (server/system/health.ts watches the workers); the slow refetch is only a
 * watchdog for pages that do not listen to the fleet room.
 */
export function WorkerBanner() {
  const trpc = useTRPC();
  const health = useQuery(trpc.system.health.queryOptions(undefined, { refetchInterval: 30_000, staleTime: 5_000 }));
  const h = health.data;
  if (!h || h.workersAlive > 0) return null;
  const otherSchema = h.workersOtherSchema > 0 ? h.workers.find((w) => w.alive && !w.sameSchema)?.queueSchema : undefined;
  return (
    <div
      role="alert"
      data-testid="worker-banner"
      className="shrink-0 border-b border-amber-300 bg-amber-50 px-4 py-2 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
    >
      <strong className="font-semibold">Lifecycle paused: no queue worker is running</strong>
      <span> — wake deadlines, retries and template syncs wait until one runs. Start one with </span>
      <code>npm run worker</code> (same <code>DATABASE_URL</code>) or restart the server with <code>MC_WORKER=1</code>.
      {otherSchema ? (
        <span>
          {" "}
          A worker is alive on queue schema <code>{otherSchema}</code>, but this server uses <code>{h.queueSchema}</code>: set the same{" "}
          <code>QUEUE_SCHEMA</code> on both.
        </span>
      ) : null}{" "}
      <Link href="/system" className="underline">
        System
      </Link>
    </div>
  );
}
