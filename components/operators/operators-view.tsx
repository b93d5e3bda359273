"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/trpc/root";
import { ConfirmDialog } from "../confirm-dialog";
import { errorMessage, useTRPC } from "../providers";
import { RelativeTime } from "../time";
import { useRole } from "../use-role";
import { AdminOnly, NoticeBar, OneTimeSecret, ROLE_OPTIONS, Section, type Notice, type RoleValue } from "./shared";
import { DataState } from "../page-state";
import { AuditLog } from "./audit-log";
import { InviteForm } from "./invite-form";
import { TableHead } from "../table-head";

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
              <TableHead columns={["Email", "Name", "Role", "State", "Sessions", "Last active", "API tokens"]} actions />
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
