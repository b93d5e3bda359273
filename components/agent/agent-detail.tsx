"use client";

import Link from "next/link";
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { agentProblem, hasStaleTemplates, PROBLEM_STYLES, shortRevision } from "@/lib/agents";
import { KIND_LABELS, outcomeStyle, type AgentKind } from "@/lib/status";
import { formatAbsolute, formatClock, formatDuration, toDate } from "@/lib/time";
import type { Agent, AgentDetail, WakeAttempt } from "@/lib/client/types";
import { ConfirmDialog } from "../confirm-dialog";
import { PageLoadError, PageLoading } from "../page-state";
import { NoticeBar, Section, type Notice } from "../notice";
import { ConvergenceTimeline } from "../convergence-timeline";
import { useRole } from "../use-role";
import { DiagnosePanel } from "./diagnose";
import { EventLog } from "./event-log";
import { errorMessage, useTRPC } from "../providers";
import { StatusPill } from "../status-pill";
import { AbsoluteTime, Countdown, RelativeTime } from "../time";
import { forgetAgent, useLiveUpdates } from "../live/use-live-updates";
import { rooms } from "@/lib/events";
import { TableHead } from "../table-head";

type Action = "reprovision" | "wake" | "rotate" | "delete";

export function AgentDetailView({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  useLiveUpdates([rooms.agent(id)]);

  const [deleted, setDeleted] = useState<string | null>(null);
  const getQ = useQuery(trpc.agents.get.queryOptions({ id }, { enabled: !deleted }));
  const timelineQ = useQuery(trpc.agents.timeline.queryOptions({ id }, { enabled: !deleted }));
  const healthQ = useQuery(trpc.system.health.queryOptions(undefined, { staleTime: 5_000 }));
  const { canAct } = useRole();

  const agent = getQ.data;
  const gatewayQ = useQuery(trpc.gateways.get.queryOptions({ id: agent?.gatewayId ?? "" }, { enabled: Boolean(agent?.gatewayId) && !deleted, staleTime: 10_000 }));
  useEffect(() => {
    if (agent?.name) document.title = `${agent.name} · Agent · Mission Control`;
  }, [agent?.name]);

  const [confirm, setConfirmState] = useState<Action | null>(null);
  const [notice, setNotice] = useState<Notice>(null);
  const setConfirm = (action: Action | null) => {
    if (action) setNotice(null);
    setConfirmState(action);
  };

  const applyAgent = (view: Agent) => {
    queryClient.setQueryData<AgentDetail>(trpc.agents.get.queryKey({ id }), (old) => (old ? { ...old, ...view } : old));
    void queryClient.invalidateQueries(trpc.agents.get.queryFilter({ id }));
  };
  const onActionError = (what: string) => (err: unknown) => {
    setConfirm(null);
    setNotice({ kind: "error", text: `${what} failed: ${errorMessage(err)}` });
  };

  const reprovision = useMutation(
    trpc.agents.reprovision.mutationOptions({
      onSuccess: (view) => {
        setConfirm(null);
        setNotice({ kind: "ok", text: `Reprovision started: cycle ${view.lifecycleGeneration}` });
        applyAgent(view);
      },
      onError: onActionError("Reprovision"),
    }),
  );
  const wake = useMutation(
    trpc.agents.wake.mutationOptions({
      onSuccess: (view) => {
        setConfirm(null);
        setNotice({ kind: "ok", text: `Wake started: cycle ${view.lifecycleGeneration}` });
        applyAgent(view);
      },
      onError: onActionError("Wake"),
    }),
  );
  const rotate = useMutation(
    trpc.agents.rotateToken.mutationOptions({
      onSuccess: () => {
        setConfirm(null);
        setNotice({ kind: "ok", text: "Token rotated: the new token is delivered to the gateway; the previous one stays valid for a short overlap" });
        void queryClient.invalidateQueries(trpc.agents.get.queryFilter({ id }));
      },
      onError: onActionError("Rotate token"),
    }),
  );
  const remove = useMutation(
    trpc.agents.delete.mutationOptions({
      onSuccess: (result) => {
        const name = agent?.name ?? "Agent";
        setConfirm(null);
        if (!result.deleted) {
          // Committed but not finished (its job finishes it): the agent shows `deleting` until then.
          setNotice({ kind: "error", text: `${name} is being deleted but could not be removed yet; it will finish in the background (Delete again to retry now)` });
          return;
        }
        setDeleted(name);
        setNotice({ kind: "ok", text: `Deleted ${name}` });
        forgetAgent(id);
        for (const [key, data] of queryClient.getQueriesData<Agent[]>(trpc.agents.list.queryFilter())) {
          if (data) queryClient.setQueryData<Agent[]>(key, data.filter((a) => a.id !== id));
        }
        queryClient.removeQueries(trpc.agents.get.queryFilter({ id }));
        queryClient.removeQueries(trpc.agents.timeline.queryFilter({ id }));
      },
      onError: onActionError("Delete"),
    }),
  );
  const busy = reprovision.isPending || wake.isPending || rotate.isPending || remove.isPending;

  const attempts = useMemo(() => agent?.attempts ?? [], [agent?.attempts]);

  if (deleted) {
    return (
      <div className="mx-auto max-w-3xl p-6">
        <NoticeBar notice={notice} onDismiss={() => setNotice(null)} />
        <p className="mt-4 text-sm">
          <Link href="/" className="text-sky-700 underline dark:text-sky-400">
            Back to the board
          </Link>
        </p>
      </div>
    );
  }

  if (getQ.isPending) return <PageLoading what="agent" />;
  if (getQ.isError || !agent) return <PageLoadError what="agent" error={getQ.error} backHref="/" backLabel="Back to the board" />;

  const problem = agentProblem(agent);
  const stale = hasStaleTemplates(agent);
  const nextCycle = agent.lifecycleGeneration + 1;

  return (
    <div className="mx-auto flex max-w-7xl flex-col gap-4 p-4" data-testid="agent-detail" data-agent-id={agent.id} data-status={agent.status}>
      {/* header */}
      <div className="flex flex-wrap items-start gap-3">
        <div className="min-w-0">
          <nav aria-label="Breadcrumb" className="text-xs text-zinc-500 dark:text-zinc-400">
            <Link href="/" className="hover:underline">
              Board
            </Link>
            <span aria-hidden> / </span>
            <Link href={`/?gateway=${agent.gatewayId}`} className="hover:underline">
              {agent.gateway.name}
            </Link>
            {agent.boardId ? (
              <>
                <span aria-hidden> / </span>
                <Link href={`/?gateway=${agent.gatewayId}&board=${agent.boardId}`} className="hover:underline">
                  {agent.board?.name}
                </Link>
              </>
            ) : null}
          </nav>
          <h1 className="mt-0.5 flex flex-wrap items-center gap-2 text-xl font-semibold">
            <span className="truncate">{agent.name}</span>
            <StatusPill status={agent.status} />
            <span className="text-sm font-normal text-zinc-500 dark:text-zinc-400">{KIND_LABELS[agent.kind as AgentKind] ?? agent.kind}</span>
          </h1>
        </div>
        {canAct ? (
          <div className="ml-auto flex flex-wrap items-center gap-2" data-testid="agent-actions">
            <button type="button" className="btn btn-primary" disabled={busy} onClick={() => setConfirm("reprovision")} title="New token, current templates, fresh wake attempts">
              Reprovision
            </button>
            <button type="button" className="btn" disabled={busy} onClick={() => setConfirm("wake")} title="A new wake cycle with fresh attempts, no reprovisioning">
              Wake
            </button>
            <button type="button" className="btn" disabled={busy} onClick={() => setConfirm("rotate")} title="Issue a new agent token and deliver it to the gateway">
              Rotate token
            </button>
            <button type="button" className="btn btn-danger" disabled={busy} onClick={() => setConfirm("delete")} title="Remove the agent from its gateway and from Mission Control">
              Delete
            </button>
          </div>
        ) : null}
      </div>

      <NoticeBar notice={notice} onDismiss={() => setNotice(null)} />

      {problem ? (
        <div data-testid="agent-problem" data-error-kind={problem.kind} className={`flex items-start gap-2 rounded-md px-3 py-2 text-sm ring-1 ring-inset ${PROBLEM_STYLES[problem.kind]}`}>
          <span className="shrink-0 text-xs font-bold uppercase">{problem.label}</span>
          <span className="break-words">{problem.text}</span>
        </div>
      ) : null}

      <div className="grid gap-4 lg:grid-cols-[minmax(0,1fr)_20rem]">
        <Section title="Lifecycle">
          <dl className="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-2 xl:grid-cols-3">
            <Field name="status" label="Status">
              <StatusPill status={agent.status} testId="field-status-pill" />
              {agent.statusReason ? <span className="ml-2 font-mono text-xs text-zinc-500">{agent.statusReason}</span> : null}
            </Field>
            <Field name="wakeAttempts" label="Wake attempts">
              <span className="font-mono tabular-nums">
                {agent.wakeAttempts}/{agent.maxWakeAttempts}
              </span>
            </Field>
            <Field name="checkinDeadlineAt" label="Check-in deadline">
              <Countdown deadline={agent.checkinDeadlineAt} />
              {agent.checkinDeadlineAt ? <span className="ml-2 text-xs text-zinc-500">{formatAbsolute(agent.checkinDeadlineAt)}</span> : null}
            </Field>
            <Field name="lastWakeSentAt" label="Last wake sent">
              <AbsoluteTime value={agent.lastWakeSentAt} empty="never" />
            </Field>
            <Field name="lastSeenAt" label="Last seen">
              <AbsoluteTime value={agent.lastSeenAt} empty="never" />
            </Field>
            <Field name="lifecycleGeneration" label="Cycle (lifecycle generation)">
              <span className="font-mono tabular-nums">{agent.lifecycleGeneration}</span>
            </Field>
            <Field name="cycleStartedBy" label="Cycle started by">
              {agent.cycleStartedBy ?? <Muted>—</Muted>}
              {agent.cycleStartedAt ? (
                <span className="ml-1 text-xs text-zinc-500">
                  (<RelativeTime value={agent.cycleStartedAt} />)
                </span>
              ) : null}
            </Field>
            <Field name="heartbeats" label="Heartbeats accepted / rejected">
              <span className="font-mono tabular-nums">{agent.heartbeatsAccepted}</span>
              <span className="text-zinc-400"> / </span>
              <span className={`font-mono tabular-nums ${agent.heartbeatsRejected > 0 ? "font-semibold text-rose-700 dark:text-rose-400" : ""}`} data-testid="field-heartbeatsRejected">
                {agent.heartbeatsRejected}
              </span>
            </Field>
            <Field name="lastRejectedReason" label="Last rejected heartbeat">
              {agent.lastRejectedReason ? (
                <>
                  <span className="text-rose-700 dark:text-rose-400">{agent.lastRejectedReason}</span>
                  {agent.lastRejectedAt ? (
                    <span className="ml-1 text-xs text-zinc-500">
                      (<RelativeTime value={agent.lastRejectedAt} />)
                    </span>
                  ) : null}
                </>
              ) : (
                <Muted>none</Muted>
              )}
            </Field>
            <Field name="templateRevision" label="Template revision">
              <span className="font-mono text-xs" title={agent.templateRevision ?? undefined}>
                {shortRevision(agent.templateRevision)}
              </span>
              {stale ? (
                <span className="ml-2 rounded bg-amber-100 px-1 text-[10px] font-semibold uppercase text-amber-800 dark:bg-amber-950 dark:text-amber-300" data-testid="stale-templates">
                  stale · gateway {shortRevision(agent.gateway.templateRevision)}
                </span>
              ) : null}
            </Field>
            <Field name="gateway" label="Gateway">
              <Link href={`/?gateway=${agent.gatewayId}`} className="text-sky-700 hover:underline dark:text-sky-400">
                {agent.gateway.name}
              </Link>
              <span className="ml-1 text-xs text-zinc-500">
                {agent.gateway.driver} ·{" "}
                <span className={agent.gateway.status === "unreachable" || agent.gateway.status === "incompatible" ? "font-semibold text-orange-700 dark:text-orange-400" : ""}>
                  {agent.gateway.status}
                </span>
              </span>
            </Field>
            <Field name="board" label="Board">
              {agent.boardId ? (
                <Link href={`/?gateway=${agent.gatewayId}&board=${agent.boardId}`} className="text-sky-700 hover:underline dark:text-sky-400">
                  {agent.board?.name}
                </Link>
              ) : (
                <Muted>none (gateway agent)</Muted>
              )}
            </Field>
            <Field name="heartbeatIntervalSeconds" label="Heartbeat interval">
              {agent.heartbeatIntervalSeconds}s <Muted>(lost after {agent.heartbeatIntervalSeconds * 3}s)</Muted>
            </Field>
            {agent.simulatorBehaviour ? (
              <Field name="simulatorBehaviour" label="Simulator behaviour">
                <span className="font-mono text-xs">{agent.simulatorBehaviour}</span>
              </Field>
            ) : null}
            <Field name="sessionKey" label="Session key">
              <span className="break-all font-mono text-xs">{agent.sessionKey}</span>
            </Field>
            <Field name="lastProvisionError" label="Last provision error" wide>
              {agent.lastProvisionError ? <span className="break-words text-rose-700 dark:text-rose-400">{agent.lastProvisionError}</span> : <Muted>none</Muted>}
            </Field>
          </dl>
        </Section>

        <DiagnosePanel
          agent={agent}
          health={healthQ.data}
          gateway={gatewayQ.data}
          events={timelineQ.data?.events ?? []}
          canAct={canAct}
          onFix={(action) => setConfirm(action)}
        />
      </div>

      <Section title="Convergence timeline">
        <ConvergenceTimeline attempts={attempts} events={timelineQ.data?.events ?? []} status={agent.status} />
        <AttemptsTable attempts={attempts} />
      </Section>

      <EventLog agentId={agent.id} />

      <ConfirmDialog
        open={confirm === "reprovision"}
        title={`Reprovision ${agent.name}?`}
        busy={reprovision.isPending}
        onCancel={() => setConfirm(null)}
        onConfirm={() => reprovision.mutate({ id })}
      >
        Starts cycle {nextCycle}: a new token and the current templates are delivered, then up to {agent.maxWakeAttempts} fresh wake attempts.
      </ConfirmDialog>
      <ConfirmDialog open={confirm === "wake"} title={`Wake ${agent.name}?`} busy={wake.isPending} onCancel={() => setConfirm(null)} onConfirm={() => wake.mutate({ id })}>
        Starts cycle {nextCycle} with up to {agent.maxWakeAttempts} fresh wake attempts, without reprovisioning.
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "rotate"}
        title={`Rotate the token of ${agent.name}?`}
        busy={rotate.isPending}
        onCancel={() => setConfirm(null)}
        onConfirm={() => rotate.mutate({ id })}
      >
        A new agent token is issued and delivered to the gateway. The current token stays valid for a short overlap window, then heartbeats
        with it are rejected.
      </ConfirmDialog>
      <ConfirmDialog open={confirm === "delete"} title={`Delete ${agent.name}?`} danger busy={remove.isPending} onCancel={() => setConfirm(null)} onConfirm={() => remove.mutate({ id })}>
        The agent is removed from its gateway and from Mission Control. This cannot be undone.
      </ConfirmDialog>
    </div>
  );
}



function Field({ name, label, children, wide }: { name: string; label: string; children: ReactNode; wide?: boolean }) {
  return (
    <div className={`min-w-0 ${wide ? "sm:col-span-2 xl:col-span-3" : ""}`}>
      <dt className="text-xs text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="mt-0.5" data-testid={`field-${name}`}>
        {children}
      </dd>
    </div>
  );
}

function Muted({ children }: { children: ReactNode }) {
  return <span className="text-zinc-400 dark:text-zinc-500">{children}</span>;
}

function AttemptsTable({ attempts }: { attempts: WakeAttempt[] }) {
  if (attempts.length === 0) return null;
  return (
    <div className="mt-4 overflow-x-auto">
      <table className="w-full min-w-[44rem] text-left text-sm">
        <caption className="sr-only">Wake attempts, newest first</caption>
        <TableHead columns={["Cycle", "Attempt", "Outcome", "Sent", "Deadline", "Checked in", "Error"]} cell="py-1.5 pr-3" rowClassName="border-b border-zinc-200 dark:border-zinc-800" />
        <tbody>
          {attempts.map((a) => {
            const style = outcomeStyle(a.outcome);
            const sent = toDate(a.sentAt);
            const checked = toDate(a.checkedInAt);
            return (
              <tr
                key={a.id}
                data-testid="wake-attempt"
                data-outcome={a.outcome}
                data-attempt={a.attempt}
                data-generation={a.generation}
                className="border-b border-zinc-100 last:border-0 dark:border-zinc-800/70"
              >
                <td className="py-1.5 pr-3 font-mono tabular-nums">{a.generation}</td>
                <td className="py-1.5 pr-3 font-mono tabular-nums">#{a.attempt}</td>
                <td className="py-1.5 pr-3">
                  <span className={`inline-flex h-5 items-center rounded-full px-2 text-xs font-medium ring-1 ring-inset ${style.pill}`}>{a.outcome}</span>
                </td>
                <td className="py-1.5 pr-3 whitespace-nowrap" title={formatAbsolute(a.sentAt)}>
                  {formatClock(a.sentAt)} <RelativeTime value={a.sentAt} className="text-xs text-zinc-500" />
                </td>
                <td className="py-1.5 pr-3 whitespace-nowrap">
                  {a.outcome === "pending" ? <Countdown deadline={a.deadlineAt} /> : <span title={formatAbsolute(a.deadlineAt)}>{formatClock(a.deadlineAt)}</span>}
                </td>
                <td className="py-1.5 pr-3 whitespace-nowrap">
                  {checked && sent ? (
                    <span title={formatAbsolute(checked)}>
                      {formatClock(checked)} <span className="text-xs text-zinc-500">after {formatDuration(checked.getTime() - sent.getTime())}</span>
                    </span>
                  ) : (
                    <Muted>—</Muted>
                  )}
                </td>
                <td className="max-w-[24rem] truncate py-1.5 pr-3 text-xs text-rose-700 dark:text-rose-400" title={a.error ?? undefined}>
                  {a.error ?? ""}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
