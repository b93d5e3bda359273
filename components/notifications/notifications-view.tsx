"use client";

import Link from "next/link";
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { errorMessage, useTRPC } from "../providers";
import { NoticeBar, Section, type Notice } from "../notice";
import { DataState } from "../page-state";
import { AbsoluteTime, RelativeTime } from "../time";
import { useRole } from "../use-role";
import { DeliveryPill, StatePill, TRIGGER_NAMES } from "./shared";
import { TableHead } from "../table-head";

const FILTERS = [
  { value: undefined, label: "All" },
  { value: "firing", label: "Firing" },
  { value: "resolved", label: "Resolved" },
  { value: "test", label: "Tests" },
] as const;

type StateFilter = (typeof FILTERS)[number]["value"];

/** /notifications: what was sent, to which channel, whether it arrived; acknowledge what someone is handling. */
export function NotificationsView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { canAct, isAdmin } = useRole();
  const [state, setState] = useState<StateFilter>(undefined);
  const [notice, setNotice] = useState<Notice>(null);
  // Deliveries change on their own (retries, backoff): the log follows them.
  const list = useQuery(trpc.notifications.list.queryOptions(state ? { state } : undefined, { refetchInterval: 3000 }));
  const ack = useMutation(
    trpc.notifications.acknowledge.mutationOptions({
      onSuccess: (r) => {
        setNotice({ kind: "ok", text: `Acknowledged: you (${r.acknowledgedBy}) are on it` });
        void queryClient.invalidateQueries(trpc.notifications.list.pathFilter());
      },
      onError: (err) => setNotice({ kind: "error", text: `Acknowledge failed: ${errorMessage(err)}` }),
    }),
  );

  return (
    <div className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">Notifications</h1>
        {isAdmin ? (
          <Link href="/notifications/rules" className="btn ml-auto">
            Rules and channels
          </Link>
        ) : null}
      </div>
      <p className="max-w-3xl text-sm text-zinc-600 dark:text-zinc-400">
        One notification per rule and gateway (or for the whole installation): an outage of a gateway with 240 agents is one message, and its
        recovery one more. A notification waits a few seconds for related failures before it is sent; failed deliveries are retried with backoff.
      </p>
      <NoticeBar notice={notice} onDismiss={() => setNotice(null)} />
      <div role="tablist" aria-label="Filter by state" className="flex gap-1">
        {FILTERS.map((f) => (
          <button
            key={f.label}
            type="button"
            role="tab"
            aria-selected={state === f.value}
            className={`btn h-7 ${state === f.value ? "btn-primary" : ""}`}
            onClick={() => setState(f.value)}
          >
            {f.label}
          </button>
        ))}
      </div>
      <Section title="Log">
        <DataState query={list} what="notifications" empty={`Nothing sent yet.${isAdmin ? " Create a channel and a rule under Rules and channels, then send a test." : ""}`}>
          {(notifications) => (
            <div className="overflow-x-auto">
              <table className="w-full text-left text-sm" data-testid="notifications-table">
                <TableHead columns={["State", "What happened", "Rule", "Opened", "Deliveries", "Acknowledged"]} />
                <tbody>
                  {notifications.map((n) => (
                    <tr key={n.id} data-testid="notification-row" data-state={n.state} className="border-t border-zinc-100 align-top dark:border-zinc-800">
                      <td className="py-1.5 pr-3">
                        <StatePill state={n.state} />
                      </td>
                      <td className="max-w-xl py-1.5 pr-3">
                        <div className="font-medium">{n.title}</div>
                        <details className="text-xs text-zinc-600 dark:text-zinc-400">
                          <summary className="cursor-pointer select-none">details</summary>
                          <p className="whitespace-pre-wrap break-words pt-1">{n.summary}</p>
                        </details>
                        {n.agentId ? (
                          <Link className="text-xs underline" href={`/agents/${n.agentId}`}>
                            Open the agent (Diagnose)
                          </Link>
                        ) : n.gatewayId ? (
                          <Link className="text-xs underline" href={`/gateways/${n.gatewayId}`}>
                            Open the gateway
                          </Link>
                        ) : null}
                      </td>
                      <td className="py-1.5 pr-3 text-xs">
                        <div>{n.ruleName}</div>
                        {n.trigger ? <div className="text-zinc-500">{TRIGGER_NAMES[n.trigger] ?? n.trigger}</div> : null}
                      </td>
                      <td className="py-1.5 pr-3 text-xs">
                        <AbsoluteTime value={n.openedAt} />
                        {n.resolvedAt ? (
                          <div className="text-zinc-500">
                            resolved <RelativeTime value={n.resolvedAt} />
                          </div>
                        ) : null}
                      </td>
                      <td className="py-1.5 pr-3 text-xs">
                        {n.deliveries.length === 0 ? (
                          <span className="text-zinc-500">no channel</span>
                        ) : (
                          <ul className="space-y-1">
                            {n.deliveries.map((d) => (
                              <li key={d.id} data-testid="delivery" data-channel={d.channelName} className="flex flex-wrap items-center gap-1">
                                <span className="text-zinc-500">{d.kind}</span> → <span className="font-medium">{d.channelName}</span>
                                <DeliveryPill status={d.status} attempts={d.attempts} />
                                {d.deliveredAt ? <RelativeTime value={d.deliveredAt} className="text-zinc-500" /> : null}
                                {d.lastError && d.status !== "delivered" ? <span className="w-full break-words text-rose-700 dark:text-rose-400">{d.lastError}</span> : null}
                              </li>
                            ))}
                          </ul>
                        )}
                      </td>
                      <td className="py-1.5 text-xs">
                        {n.acknowledgedBy ? (
                          <span>
                            {n.acknowledgedBy} <RelativeTime value={n.acknowledgedAt} className="text-zinc-500" />
                          </span>
                        ) : n.state !== "test" && canAct ? (
                          <button type="button" className="btn h-7" disabled={ack.isPending} onClick={() => ack.mutate({ id: n.id })}>
                            Acknowledge
                          </button>
                        ) : (
                          <span className="text-zinc-400">—</span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </DataState>
      </Section>
    </div>
  );
}
