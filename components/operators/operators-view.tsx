"use client";

import { useState, type FormEvent } from "react";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/trpc/root";
import { ConfirmDialog } from "../confirm-dialog";
import { errorMessage, useTRPC } from "../providers";
import { AbsoluteTime, RelativeTime } from "../time";
import { useRole } from "../use-role";
import { AdminOnly, NoticeBar, OneTimeSecret, ROLE_OPTIONS, Section, type Notice, type RoleValue } from "./shared";
import { DataState } from "../page-state";

type Outputs = inferRouterOutputs<AppRouter>;
type OperatorRow = Outputs["operators"]["list"][number];
type Pending = { kind: "disable" | "enable" | "reset" | "end" | "role"; operator: OperatorRow; role?: RoleValue } | null;

/** /operators (admins): invite, change roles, disable, reset passwords, end sessions; and the audit log. */
export function OperatorsView() {
  const { loaded, isAdmin, email } = useRole();
  return (
    <AdminOnly loaded={loaded} isAdmin={isAdmin} what="operators">
      <div className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
        <h1 className="text-xl font-semibold">Operators</h1>
        <OperatorsSection me={email} />
        <AuditLog />
      </div>
    </AdminOnly>
  );
}

function OperatorsSection({ me }: { me: string | null }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.operators.list.queryOptions());
  const [notice, setNotice] = useState<Notice>(null);
  const [pending, setPending] = useState<Pending>(null);
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const [inviting, setInviting] = useState(false);

  const refresh = () => {
    void queryClient.invalidateQueries(trpc.operators.list.queryFilter());
    void queryClient.invalidateQueries(trpc.operators.audit.pathFilter());
  };
  const fail = (what: string) => (err: unknown) => {
    setPending(null);
    setNotice({ kind: "error", text: `${what} failed: ${errorMessage(err)}` });
  };

  const update = useMutation(
    trpc.operators.update.mutationOptions({
      onSuccess: (op) => {
        setPending(null);
        setNotice({ kind: "ok", text: `${op.email}: ${op.disabled ? "disabled" : "enabled"}, role ${op.role}` });
        refresh();
      },
      onError: fail("Change"),
    }),
  );
  const reset = useMutation(
    trpc.operators.resetPassword.mutationOptions({
      onSuccess: (r) => {
        setPending(null);
        setSecret({ label: `New password for ${r.email}`, value: r.password });
        refresh();
      },
      onError: fail("Password reset"),
    }),
  );
  const end = useMutation(
    trpc.operators.endSessions.mutationOptions({
      onSuccess: (r) => {
        setPending(null);
        setNotice({ kind: "ok", text: `Ended ${r.ended} session(s)` });
        refresh();
      },
      onError: fail("Ending sessions"),
    }),
  );
  const busy = update.isPending || reset.isPending || end.isPending;

  function confirmPending() {
    if (!pending) return;
    const id = pending.operator.id;
    if (pending.kind === "disable") update.mutate({ id, disabled: true });
    if (pending.kind === "enable") update.mutate({ id, disabled: false });
    if (pending.kind === "role" && pending.role) update.mutate({ id, role: pending.role });
    if (pending.kind === "reset") reset.mutate({ id });
    if (pending.kind === "end") end.mutate({ id });
  }

  const titles: Record<NonNullable<Pending>["kind"], string> = {
    disable: "Disable this operator?",
    enable: "Enable this operator again?",
    reset: "Reset this operator's password?",
    end: "Sign this operator out everywhere?",
    role: "Change this operator's role?",
  };

  return (
    <Section
      title="People who can sign in"
      actions={
        !inviting ? (
          <button type="button" className="btn btn-primary" onClick={() => setInviting(true)}>
            Invite operator
          </button>
        ) : null
      }
    >
      <div className="flex flex-col gap-3">
        <NoticeBar notice={notice} onDismiss={() => setNotice(null)} />
        {secret ? (
          <OneTimeSecret
            label={secret.label}
            value={secret.value}
            hint="Hand it over through a channel you trust; they can change it after signing in. Their other sessions have ended."
            onDismiss={() => setSecret(null)}
          />
        ) : null}
        {inviting ? (
          <InviteForm
            onCancel={() => setInviting(false)}
            onDone={(r) => {
              setInviting(false);
              refresh();
              if (r.initialPassword) setSecret({ label: `Password for ${r.email}`, value: r.initialPassword });
              else setNotice({ kind: "ok", text: `Invited ${r.email} (${r.role}) with the password you chose` });
            }}
          />
        ) : null}

        <DataState query={list} what="operators">
          {(operators) => (
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm" data-testid="operators-table">
              <thead className="text-xs text-zinc-500 dark:text-zinc-400">
                <tr>
                  <th className="py-1 pr-3 font-medium">Email</th>
                  <th className="py-1 pr-3 font-medium">Name</th>
                  <th className="py-1 pr-3 font-medium">Role</th>
                  <th className="py-1 pr-3 font-medium">State</th>
                  <th className="py-1 pr-3 font-medium">Sessions</th>
                  <th className="py-1 pr-3 font-medium">Last active</th>
                  <th className="py-1 pr-3 font-medium">API tokens</th>
                  <th className="py-1 font-medium">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {operators.map((op) => (
                  <tr key={op.id} data-testid="operator-row" data-email={op.email} data-role={op.role} data-disabled={op.disabled} className="border-t border-zinc-100 dark:border-zinc-800">
                    <td className="py-1.5 pr-3 font-medium">
                      {op.email}
                      {op.email === me ? <span className="ml-1 text-xs text-zinc-500">(you)</span> : null}
                    </td>
                    <td className="py-1.5 pr-3 text-zinc-600 dark:text-zinc-400">{op.name ?? "—"}</td>
                    <td className="py-1.5 pr-3">
                      <label className="sr-only" htmlFor={`role-${op.id}`}>
                        Role of {op.email}
                      </label>
                      <select
                        id={`role-${op.id}`}
                        className="input h-7 py-0"
                        value={op.role}
                        disabled={busy}
                        onChange={(e) => setPending({ kind: "role", operator: op, role: e.target.value as RoleValue })}
                      >
                        {ROLE_OPTIONS.map((r) => (
                            <option key={r.value} value={r.value}>
                              {r.value}
                            </option>
                          ))}
                        </select>
                      </td>
                      <td className="py-1.5 pr-3">
                        {op.disabled ? <span className="text-rose-700 dark:text-rose-400">disabled</span> : <span className="text-emerald-700 dark:text-emerald-400">enabled</span>}
                      </td>
                      <td className="py-1.5 pr-3 tabular-nums">{op.activeSessions}</td>
                      <td className="py-1.5 pr-3">
                        <RelativeTime value={op.lastActiveAt} empty="never" />
                      </td>
                      <td className="py-1.5 pr-3 tabular-nums">{op.activeTokens}</td>
                      <td className="py-1.5">
                        <div className="flex flex-wrap justify-end gap-1.5">
                          {op.disabled ? (
                            <button type="button" className="btn h-7" disabled={busy} onClick={() => setPending({ kind: "enable", operator: op })}>
                              Enable
                            </button>
                          ) : (
                            <button type="button" className="btn btn-danger h-7" disabled={busy} onClick={() => setPending({ kind: "disable", operator: op })}>
                              Disable
                            </button>
                          )}
                          <button type="button" className="btn h-7" disabled={busy} onClick={() => setPending({ kind: "reset", operator: op })}>
                            Reset password
                          </button>
                          <button type="button" className="btn h-7" disabled={busy || op.activeSessions === 0} onClick={() => setPending({ kind: "end", operator: op })}>
                            End sessions
                          </button>
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </DataState>
      </div>
      <ConfirmDialog
        open={pending !== null}
        title={pending ? titles[pending.kind] : ""}
        danger={pending?.kind === "disable" || pending?.kind === "reset"}
        busy={busy}
        onCancel={() => setPending(null)}
        onConfirm={confirmPending}
      >
        {pending?.kind === "disable" ? (
          <p>
            {pending.operator.email} is signed out everywhere at once; their API tokens stop working until they are enabled again.
          </p>
        ) : pending?.kind === "reset" ? (
          <p>A new password is generated and shown to you once; {pending.operator.email} is signed out everywhere.</p>
        ) : pending?.kind === "end" ? (
          <p>Every browser session of {pending.operator.email} ends now. API tokens are not affected.</p>
        ) : pending?.kind === "role" ? (
          <p>
            {pending.operator.email}: {pending.operator.role} → <strong>{pending.role}</strong>. It takes effect on their next request, API tokens included (a
            token never has more rights than its owner).
          </p>
        ) : pending?.kind === "enable" ? (
          <p>{pending.operator.email} can sign in again.</p>
        ) : null}
      </ConfirmDialog>
    </Section>
  );
}

function InviteForm({ onCancel, onDone }: { onCancel(): void; onDone(r: { email: string; role: string; initialPassword?: string }): void }) {
  const trpc = useTRPC();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<RoleValue>("viewer");
  const [password, setPassword] = useState("");
  const create = useMutation(trpc.operators.create.mutationOptions({ onSuccess: (r) => onDone(r) }));

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({ email: email.trim(), name: name.trim() || undefined, role, password: password || undefined });
  }

  return (
    <form onSubmit={submit} className="flex flex-col gap-3 rounded-md border border-zinc-200 p-3 dark:border-zinc-800" aria-label="Invite operator" data-testid="invite-form">
      <div className="grid gap-3 sm:grid-cols-2">
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Email</span>
          <input className="input" type="email" name="email" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Name (optional)</span>
          <input className="input" name="name" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Role</span>
          <select className="input" name="role" value={role} onChange={(e) => setRole(e.target.value as RoleValue)}>
            {ROLE_OPTIONS.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Password (optional)</span>
          <input
            className="input"
            type="password"
            name="new-password"
            autoComplete="new-password"
            minLength={12}
            maxLength={200}
            placeholder="leave empty to generate one"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
      </div>
      {create.isError ? (
        <p role="alert" className="text-sm text-rose-700 dark:text-rose-400">
          {errorMessage(create.error)}
        </p>
      ) : null}
      <div className="flex gap-2">
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? "Inviting…" : "Invite"}
        </button>
        <button type="button" className="btn" onClick={onCancel} disabled={create.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function AuditLog() {
  const trpc = useTRPC();
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [result, setResult] = useState<"" | "ok" | "failed">("");
  const filter = { actor: actor.trim() || undefined, action: action.trim() || undefined, result: result || undefined, limit: 100 };
  const q = useInfiniteQuery(
    trpc.operators.audit.infiniteQueryOptions(filter, {
      getNextPageParam: (page) => (page.length === 100 ? page[page.length - 1]?.id : undefined),
    }),
  );
  const rows = q.data?.pages.flat() ?? [];

  return (
    <Section title="Audit log">
      <div className="mb-3 flex flex-wrap items-end gap-2" role="search" aria-label="Filter the audit log">
        <label className="flex flex-col gap-1 text-xs">
          <span>Who</span>
          <input className="input w-56" value={actor} onChange={(e) => setActor(e.target.value)} placeholder="email contains…" aria-label="Who" />
        </label>
        <label className="flex flex-col gap-1 text-xs">
          <span>What</span>
          <input className="input w-56" value={action} onChange={(e) => setAction(e.target.value)} placeholder="action contains…" aria-label="What" />
        </label>
        <label className="flex flex-col gap-1 text-xs">
          <span>Result</span>
          <select className="input" value={result} onChange={(e) => setResult(e.target.value as "" | "ok" | "failed")} aria-label="Result">
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="failed">failed / denied</option>
          </select>
        </label>
      </div>
      <DataState query={q} what="the audit log" loading="Loading…" empty="No matching actions." isEmpty={() => rows.length === 0}>
        {() => (
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm" data-testid="audit-table">
              <thead className="text-xs text-zinc-500 dark:text-zinc-400">
                <tr>
                  <th className="py-1 pr-3 font-medium">When</th>
                  <th className="py-1 pr-3 font-medium">Who</th>
                  <th className="py-1 pr-3 font-medium">What</th>
                  <th className="py-1 pr-3 font-medium">Result</th>
                  <th className="py-1 font-medium">Via</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e) => {
                  const data = e.data as { result?: string; via?: string; code?: string };
                  const failed = data.result === "failed";
                  return (
                    <tr key={e.id} data-testid="audit-row" data-result={data.result ?? ""} className="border-t border-zinc-100 align-top dark:border-zinc-800">
                      <td className="whitespace-nowrap py-1.5 pr-3 text-xs">
                        <AbsoluteTime value={e.at} />
                      </td>
                      <td className="py-1.5 pr-3">{e.actor ?? "—"}</td>
                      <td className="py-1.5 pr-3 break-words">{e.message}</td>
                      <td className={`py-1.5 pr-3 ${failed ? "text-rose-700 dark:text-rose-400" : "text-emerald-700 dark:text-emerald-400"}`}>
                        {data.result ?? "—"}
                        {data.code ? <span className="ml-1 font-mono text-xs">{data.code}</span> : null}
                      </td>
                      <td className="py-1.5 text-xs text-zinc-500">{data.via ?? "—"}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {q.hasNextPage ? (
              <button type="button" className="btn mt-2" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
                {q.isFetchingNextPage ? "Loading…" : "Older"}
              </button>
            ) : null}
          </div>
        )}
      </DataState>
    </Section>
  );
}
