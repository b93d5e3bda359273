"use client";

import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/trpc/root";
import { ConfirmDialog } from "../confirm-dialog";
import { errorMessage, useTRPC } from "../providers";
import { AbsoluteTime, RelativeTime } from "../time";
import { useRole } from "../use-role";
import { AdminOnly, NoticeBar, OneTimeSecret, ROLE_OPTIONS, RoleBadge, Section, type Notice, type RoleValue } from "./shared";
import { DataState } from "../page-state";
import { TableHead } from "../table-head";

type TokenRow = inferRouterOutputs<AppRouter>["tokens"]["list"][number];

const EXPIRY_OPTIONS = [
  { value: "", label: "never (revoke it when done)" },
  { value: "1", label: "1 day" },
  { value: "7", label: "7 days" },
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "1 year" },
];

const STATE_STYLE: Record<string, string> = {
  active: "text-emerald-700 dark:text-emerald-400",
  expired: "text-zinc-500",
  revoked: "text-rose-700 dark:text-rose-400",
  "owner disabled": "text-amber-700 dark:text-amber-400",
};

/** /tokens (admins): operator API tokens for scripts and `npm run mc`. A new token is shown once; only its hash is kept. */
export function TokensView() {
  const { loaded, isAdmin } = useRole();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.tokens.list.queryOptions(undefined, { enabled: isAdmin }));
  const [notice, setNotice] = useState<Notice>(null);
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [revoking, setRevoking] = useState<TokenRow | null>(null);

  const revoke = useMutation(
    trpc.tokens.revoke.mutationOptions({
      onSuccess: (t) => {
        setRevoking(null);
        setNotice({ kind: "ok", text: `Revoked ${t.name}: it stops working at once, live connections included` });
        void queryClient.invalidateQueries(trpc.tokens.list.queryFilter());
      },
      onError: (err) => {
        setRevoking(null);
        setNotice({ kind: "error", text: `Revoke failed: ${errorMessage(err)}` });
      },
    }),
  );

  return (
    <AdminOnly loaded={loaded} isAdmin={isAdmin} what="API tokens">
      <div className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
        <h1 className="text-xl font-semibold">API tokens</h1>
        <p className="max-w-3xl text-sm text-zinc-600 dark:text-zinc-400">
          For scripts and the command line (<code>npm run mc -- agents</code>, <code>watch</code>, <code>reprovision</code>, <code>sync-templates</code>). A token
          acts as its operator with the role you choose here, never more than that operator currently has, and every use is audited.
        </p>
        <NoticeBar notice={notice} onDismiss={() => setNotice(null)} />
        {created ? (
          <OneTimeSecret
            label={`API token “${created.name}”`}
            value={created.token}
            hint={
              <>
                Use it as <code>Authorization: Bearer …</code>, or: <code>MC_URL={typeof window === "undefined" ? "" : window.location.origin} MC_TOKEN=… npm run mc -- agents</code>
              </>
            }
            onDismiss={() => setCreated(null)}
          />
        ) : null}
        <CreateTokenForm
          onCreated={(t) => {
            setCreated({ name: t.name, token: t.token });
            setNotice(null);
            void queryClient.invalidateQueries(trpc.tokens.list.queryFilter());
          }}
        />
        <Section title="Tokens">
          <DataState query={list} what="tokens" empty="No API tokens yet.">
            {(tokens) => (
            <div className="overflow-x-auto">
              <table className="w-full text-left text-sm" data-testid="tokens-table">
                <TableHead columns={["Name", "Acts as", "Role", "State", "Created", "Expires", "Last used"]} actions />
                <tbody>
                  {tokens.map((t) => (
                      <tr key={t.id} data-testid="token-row" data-name={t.name} data-state={t.state} className="border-t border-zinc-100 dark:border-zinc-800">
                        <td className="py-1.5 pr-3 font-medium">{t.name}</td>
                        <td className="py-1.5 pr-3">{t.operator.email}</td>
                        <td className="py-1.5 pr-3">
                          <RoleBadge role={t.role} />
                          {t.role !== t.operator.role && rank(t.operator.role) < rank(t.role) ? (
                            <span className="ml-1 text-xs text-amber-700 dark:text-amber-400" title="The owner's role is lower now: the token acts with that role">
                              (acts as {t.operator.role})
                            </span>
                          ) : null}
                        </td>
                        <td className={`py-1.5 pr-3 ${STATE_STYLE[t.state] ?? ""}`}>{t.state}</td>
                        <td className="py-1.5 pr-3 text-xs">
                          <RelativeTime value={t.createdAt} />
                        </td>
                        <td className="py-1.5 pr-3 text-xs">{t.expiresAt ? <AbsoluteTime value={t.expiresAt} /> : "never"}</td>
                        <td className="py-1.5 pr-3 text-xs">
                          <RelativeTime value={t.lastUsedAt} empty="never" />
                        </td>
                        <td className="py-1.5 text-right">
                          {t.state === "revoked" ? null : (
                            <button type="button" className="btn btn-danger h-7" disabled={revoke.isPending} onClick={() => setRevoking(t)}>
                              Revoke
                            </button>
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
        <ConfirmDialog
          open={revoking !== null}
          title="Revoke this API token?"
          confirmLabel="Revoke"
          danger
          busy={revoke.isPending}
          onCancel={() => setRevoking(null)}
          onConfirm={() => revoking && revoke.mutate({ id: revoking.id })}
        >
          <p>
            “{revoking?.name}” ({revoking?.operator.email}) stops working immediately; scripts and <code>watch</code> sessions using it are disconnected.
          </p>
        </ConfirmDialog>
      </div>
    </AdminOnly>
  );
}

function rank(role: string): number {
  return role === "admin" ? 2 : role === "operator" ? 1 : 0;
}

function CreateTokenForm({ onCreated }: { onCreated(t: { name: string; token: string }): void }) {
  const trpc = useTRPC();
  const operators = useQuery(trpc.operators.list.queryOptions());
  const { email } = useRole();
  const [name, setName] = useState("");
  const [role, setRole] = useState<RoleValue>("operator");
  const [owner, setOwner] = useState("");
  const [expiry, setExpiry] = useState("90");
  const create = useMutation(
    trpc.tokens.create.mutationOptions({
      onSuccess: (t) => {
        setName("");
        onCreated(t);
      },
    }),
  );
  const enabled = (operators.data ?? []).filter((o) => !o.disabled);
  const ownerId = owner || enabled.find((o) => o.email === email)?.id || enabled[0]?.id || "";
  const ownerRole = enabled.find((o) => o.id === ownerId)?.role;

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({ name: name.trim(), role, operatorId: ownerId || undefined, expiresInDays: expiry ? Number(expiry) : undefined });
  }

  return (
    <Section title="Create a token">
      <form onSubmit={submit} className="flex flex-col gap-3" data-testid="create-token-form" aria-label="Create a token">
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <label className="flex flex-col gap-1 text-sm">
            <span className="font-medium">Name</span>
            <input className="input" name="token-name" required maxLength={80} placeholder="e.g. ci-deploy" value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label className="flex flex-col gap-1 text-sm">
            <span className="font-medium">Acts as</span>
            <select className="input" name="owner" value={ownerId} onChange={(e) => setOwner(e.target.value)}>
              {enabled.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.email} ({o.role})
                </option>
              ))}
            </select>
          </label>
          <label className="flex flex-col gap-1 text-sm">
            <span className="font-medium">Role</span>
            <select className="input" name="role" value={role} onChange={(e) => setRole(e.target.value as RoleValue)}>
              {ROLE_OPTIONS.map((r) => (
                <option key={r.value} value={r.value} disabled={ownerRole ? rank(r.value) > rank(ownerRole) : false}>
                  {r.value}
                </option>
              ))}
            </select>
          </label>
          <label className="flex flex-col gap-1 text-sm">
            <span className="font-medium">Expires</span>
            <select className="input" name="expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              {EXPIRY_OPTIONS.map((x) => (
                <option key={x.value} value={x.value}>
                  {x.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        {create.isError ? (
          <p role="alert" className="text-sm text-rose-700 dark:text-rose-400">
            {errorMessage(create.error)}
          </p>
        ) : null}
        <div>
          <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create token"}
          </button>
        </div>
      </form>
    </Section>
  );
}
