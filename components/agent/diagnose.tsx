"use client";

import Link from "next/link";
import { diagnose, ms, type Cause, type CheckState, type FixAction, type GatewayFacts } from "@/lib/diagnose";
import type { AgentDetail, Health, LifecycleEvent } from "@/lib/client/types";
import { useNow } from "../use-now";


const TONE: Record<CheckState, string> = {
  ok: "bg-emerald-500",
  warn: "bg-amber-500",
  fail: "bg-rose-500",
  unknown: "bg-zinc-400",
};

const VERDICT_TONE: Record<Cause, string> = {
  healthy: "border-emerald-300 bg-emerald-50 text-emerald-950 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-50",
  converging: "border-sky-300 bg-sky-50 text-sky-950 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-50",
  deleting: "border-zinc-300 bg-zinc-50 text-zinc-900 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100",
  no_worker: "border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-50",
  gateway_unreachable: "border-orange-300 bg-orange-50 text-orange-950 dark:border-orange-800 dark:bg-orange-950 dark:text-orange-50",
  device_not_paired: "border-sky-300 bg-sky-50 text-sky-950 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-50",
  run_failed: "border-rose-300 bg-rose-50 text-rose-950 dark:border-rose-800 dark:bg-rose-950 dark:text-rose-50",
  old_token: "border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-50",
  heartbeats_rejected: "border-rose-300 bg-rose-50 text-rose-950 dark:border-rose-800 dark:bg-rose-950 dark:text-rose-50",
  stale_templates: "border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-50",
  no_checkin: "border-rose-300 bg-rose-50 text-rose-950 dark:border-rose-800 dark:bg-rose-950 dark:text-rose-50",
  heartbeat_lost: "border-fuchsia-300 bg-fuchsia-50 text-fuchsia-950 dark:border-fuchsia-800 dark:bg-fuchsia-950 dark:text-fuchsia-50",
  provision_failed: "border-rose-300 bg-rose-50 text-rose-950 dark:border-rose-800 dark:bg-rose-950 dark:text-rose-50",
  stuck: "border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-50",
};

interface Props {
  agent: AgentDetail;
  health: Health | undefined;
  gateway: GatewayFacts | undefined;
  events: LifecycleEvent[];
  canAct: boolean;
  onFix(action: FixAction): void;
}

/** The Diagnose panel: the checklist and, on top, one sentence saying what is wrong and which button fixes it. */
export function DiagnosePanel({ agent, health, gateway, events, canAct, onFix }: Props) {
  const now = useNow() || ms(agent.updatedAt);
  const { checks, verdict } = diagnose({ agent, health, gateway, events, now });
  const fix = verdict.fix;
  return (
    <section className="card p-4" aria-labelledby="diagnose-title" data-testid="diagnose" data-cause={verdict.cause}>
      <h2 id="diagnose-title" className="mb-3 text-sm font-semibold text-zinc-700 dark:text-zinc-300">
        Diagnose
      </h2>
      <div className={`mb-3 rounded-md border px-3 py-2 text-sm ${VERDICT_TONE[verdict.cause]}`} role="status" aria-live="polite" data-testid="diagnose-verdict" data-cause={verdict.cause}>
        <p>{verdict.sentence}</p>
        {fix === "worker" ? (
          <Link href="/system" className="btn mt-2">
            {verdict.fixLabel}
          </Link>
        ) : fix === "gateway" ? (
          <Link href={`/gateways/${agent.gatewayId}`} className="btn mt-2">
            {verdict.fixLabel}
          </Link>
        ) : fix && canAct ? (
          <button type="button" className="btn btn-primary mt-2" data-testid="diagnose-fix" onClick={() => onFix(fix)}>
            {verdict.fixLabel}
          </button>
        ) : null}
      </div>
      <ul className="space-y-2 text-sm">
        {checks.map((c) => (
          <li key={c.key} data-check={c.key} data-state={c.state} className="flex gap-2">
            <span aria-hidden className={`mt-1.5 size-2 shrink-0 rounded-full ${TONE[c.state]}`} />
            <div className="min-w-0">
              <div className="font-medium">
                {c.label} <span className="sr-only">: {c.state}</span>
              </div>
              <div className="break-words text-xs text-zinc-600 dark:text-zinc-400">{c.detail}</div>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
