"use client";

import Link from "next/link";
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/trpc/root";
import { ConfirmDialog } from "../confirm-dialog";
import { errorMessage, useTRPC } from "../providers";
import { NoticeBar, Section, type Notice } from "../notice";
import { DataState } from "../page-state";
import { AdminOnly, OneTimeSecret } from "../operators/shared";
import { RelativeTime } from "../time";
import { useRole } from "../use-role";
import { TRIGGER_NAMES } from "./shared";
import { TableHead } from "../table-head";

type Outputs = inferRouterOutputs<AppRouter>["notifications"];
type Channel = Outputs["listChannels"][number];
type Rule = Outputs["listRules"][number];
type Trigger = Rule["trigger"];

const TRIGGER_HELP: Record<Trigger, string> = {
  agent_offline: "An agent ends offline: no check-in after the last wake, or heartbeats lost. Grouped per gateway.",
  gateway_unreachable: "A gateway stops answering its probe (or answers with an incompatible version). One message per outage, with the agents affected.",
  template_sync_failed: "A template sync run ends with failures.",
  no_worker: "No queue worker is alive: deadlines, retries and syncs stop. Checked every few seconds.",
  reconcile_lag: "Deadline jobs run late by more than the threshold.",
};

const MUTE_OPTIONS = [
  { minutes: 60, label: "1 hour" },
  { minutes: 240, label: "4 hours" },
  { minutes: 1440, label: "1 day" },
];

/** /notifications/rules (admins): where notifications go (channels) and what sends them (rules). */
export function RulesView() {
  const { loaded, isAdmin } = useRole();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const channels = useQuery(trpc.notifications.listChannels.queryOptions(undefined, { enabled: isAdmin }));
  const rules = useQuery(trpc.notifications.listRules.queryOptions(undefined, { enabled: isAdmin }));
  const [notice, setNotice] = useState<Notice>(null);
  const [secret, setSecret] = useState<{ name: string; value: string } | null>(null);
  const [deleting, setDeleting] = useState<{ kind: "channel" | "rule"; id: string; name: string } | null>(null);

  const refresh = () => {
    void queryClient.invalidateQueries(trpc.notifications.listChannels.queryFilter());
    void queryClient.invalidateQueries(trpc.notifications.listRules.queryFilter());
  };
  const failed = (what: string) => (err: unknown) => setNotice({ kind: "error", text: `${what} failed: ${errorMessage(err)}` });
  const tested = (where: string) => (r: { deliveries: number }) =>
    setNotice({
      kind: "ok",
      text: r.deliveries > 0 ? `Test sent to ${where} (${r.deliveries} channel${r.deliveries === 1 ? "" : "s"}): watch its delivery in the log` : `${where} has no channel to send to`,
    });

  const testChannel = useMutation(trpc.notifications.testChannel.mutationOptions({ onError: failed("Send test") }));
  const testRule = useMutation(trpc.notifications.testRule.mutationOptions({ onError: failed("Send test") }));
  /** A change that worked says what it did and reloads both lists. */
  const changed =
    <T,>(text: (result: T) => string) =>
    (result: T) => {
      setNotice({ kind: "ok", text: text(result) });
      refresh();
    };
  const toggled = (c: { name: string; enabled: boolean }) => `${c.name} ${c.enabled ? "enabled" : "disabled"}`;
  const updateChannel = useMutation(trpc.notifications.updateChannel.mutationOptions({ onSuccess: changed((c) => `Channel ${toggled(c)}`), onError: failed("Update") }));
  const updateRule = useMutation(trpc.notifications.updateRule.mutationOptions({ onSuccess: changed((r) => `Rule ${toggled(r)}`), onError: failed("Update") }));
  const mute = useMutation(
    trpc.notifications.muteRule.mutationOptions({
      onSuccess: changed((r) =>
        r.muted ? `Rule ${r.name} muted until ${new Date(r.mutedUntil!).toLocaleString()}: its notifications are logged, not sent` : `Rule ${r.name} unmuted`,
      ),
      onError: failed("Mute"),
    }),
  );
  const onDeleted = (what: string) => () => {
    setNotice({ kind: "ok", text: `Deleted ${what}` });
    setDeleting(null);
    refresh();
  };
  const deleteChannel = useMutation(trpc.notifications.deleteChannel.mutationOptions({ onSuccess: () => onDeleted(`channel ${deleting?.name}`)(), onError: failed("Delete") }));
  const deleteRule = useMutation(trpc.notifications.deleteRule.mutationOptions({ onSuccess: () => onDeleted(`rule ${deleting?.name}`)(), onError: failed("Delete") }));

  return (
    <AdminOnly loaded={loaded} isAdmin={isAdmin} what="notification rules and channels">
      <div className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="text-xl font-semibold">Notification rules and channels</h1>
          <Link href="/notifications" className="btn ml-auto">
            Notification log
          </Link>
        </div>
        <NoticeBar notice={notice} onDismiss={() => setNotice(null)} />
        {secret ? (
          <OneTimeSecret
            label={`Signing secret of “${secret.name}”`}
            value={secret.value}
            hint={
              <>
                Each webhook carries <code>X-MC-Signature: sha256=&lt;HMAC-SHA256 of the body with this secret&gt;</code>; verify it on the raw body.
              </>
            }
            onDismiss={() => setSecret(null)}
          />
        ) : null}

        <Section title="Channels">
          <DataState query={channels} what="channels" empty="No channel yet: add a webhook or a Slack-compatible incoming webhook below.">
            {(list) => (
              <table className="w-full text-left text-sm" data-testid="channels-table">
                <TableHead columns={["Name", "Kind", "Sends to", "Rules"]} actions />
                <tbody>
                  {list.map((c: Channel) => (
                    <tr key={c.id} data-testid="channel-row" data-name={c.name} className="border-t border-zinc-100 dark:border-zinc-800">
                      <td className="py-1.5 pr-3 font-medium">
                        {c.name}
                        {c.enabled ? null : <span className="ml-2 text-xs text-amber-700 dark:text-amber-400">disabled</span>}
                      </td>
                      <td className="py-1.5 pr-3">{c.kind === "slack" ? "Slack-compatible" : `webhook${c.hasSigningSecret ? ", signed" : ""}`}</td>
                      <td className="py-1.5 pr-3 font-mono text-xs" title="The rest of the URL is secret and never shown">
                        {c.urlHint}/…
                      </td>
                      <td className="py-1.5 pr-3">{c.rules}</td>
                      <td className="flex flex-wrap justify-end gap-1 py-1.5">
                        <button type="button" className="btn h-7" disabled={testChannel.isPending} onClick={() => testChannel.mutate({ id: c.id }, { onSuccess: tested(`channel ${c.name}`) })}>
                          Send test
                        </button>
                        <ToggleAndDelete
                          enabled={c.enabled}
                          onToggle={() => updateChannel.mutate({ id: c.id, enabled: !c.enabled })}
                          onDelete={() => setDeleting({ kind: "channel", id: c.id, name: c.name })}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </DataState>
          <CreateChannelForm
            onCreated={(c) => {
              setNotice({ kind: "ok", text: `Channel ${c.name} created: send a test to check it` });
              if (c.signingSecret) setSecret({ name: c.name, value: c.signingSecret });
              refresh();
            }}
          />
        </Section>

        <Section title="Rules">
          <DataState query={rules} what="rules" empty="No rule yet: nothing is sent.">
            {(list) => (
              <table className="w-full text-left text-sm" data-testid="rules-table">
                <TableHead columns={["Name", "When", "Scope", "Channels", "State"]} actions />
                <tbody>
                  {list.map((r: Rule) => (
                    <tr key={r.id} data-testid="rule-row" data-name={r.name} className="border-t border-zinc-100 align-top dark:border-zinc-800">
                      <td className="py-1.5 pr-3 font-medium">{r.name}</td>
                      <td className="py-1.5 pr-3">
                        {TRIGGER_NAMES[r.trigger]}
                        {r.trigger === "reconcile_lag" ? ` > ${r.thresholdSeconds}s` : ""}
                        {r.forSeconds ? ` for ${r.forSeconds}s` : ""}
                      </td>
                      <td className="py-1.5 pr-3">{r.scope === "fleet" ? "whole fleet" : r.scope === "gateway" ? `gateway ${r.gatewayName}` : `board ${r.boardName}`}</td>
                      <td className="py-1.5 pr-3">{r.channels.map((c) => c.name).join(", ")}</td>
                      <td className="py-1.5 pr-3 text-xs">
                        {!r.enabled ? (
                          <span className="text-zinc-500">disabled</span>
                        ) : r.muted ? (
                          <span className="text-amber-700 dark:text-amber-400">
                            muted by {r.mutedBy}, until <RelativeTime value={r.mutedUntil} />
                          </span>
                        ) : (
                          <span className="text-emerald-700 dark:text-emerald-400">active</span>
                        )}
                      </td>
                      <td className="flex flex-wrap justify-end gap-1 py-1.5">
                        <button type="button" className="btn h-7" disabled={testRule.isPending} onClick={() => testRule.mutate({ id: r.id }, { onSuccess: tested(`rule ${r.name}`) })}>
                          Send test
                        </button>
                        {r.muted ? (
                          <button type="button" className="btn h-7" onClick={() => mute.mutate({ id: r.id, minutes: 0 })}>
                            Unmute
                          </button>
                        ) : (
                          <select
                            aria-label={`Mute ${r.name}`}
                            className="input h-7 w-auto"
                            value=""
                            onChange={(e) => e.target.value && mute.mutate({ id: r.id, minutes: Number(e.target.value) })}
                          >
                            <option value="">Mute…</option>
                            {MUTE_OPTIONS.map((o) => (
                              <option key={o.minutes} value={o.minutes}>
                                for {o.label}
                              </option>
                            ))}
                          </select>
                        )}
                        <ToggleAndDelete
                          enabled={r.enabled}
                          onToggle={() => updateRule.mutate({ id: r.id, enabled: !r.enabled })}
                          onDelete={() => setDeleting({ kind: "rule", id: r.id, name: r.name })}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </DataState>
          <CreateRuleForm
            channels={channels.data ?? []}
            onCreated={(r) => {
              setNotice({ kind: "ok", text: `Rule ${r.name} created` });
              refresh();
            }}
          />
        </Section>

        <ConfirmDialog
          open={deleting !== null}
          title={`Delete this ${deleting?.kind}?`}
          confirmLabel="Delete"
          danger
          busy={deleteChannel.isPending || deleteRule.isPending}
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            if (!deleting) return;
            if (deleting.kind === "channel") deleteChannel.mutate({ id: deleting.id });
            else deleteRule.mutate({ id: deleting.id });
          }}
        >
          <p>
            “{deleting?.name}” is removed
            {deleting?.kind === "channel" ? "; rules stop sending to it (a rule left without channels sends nothing)." : "; its open notifications end without a resolved message."} The
            log keeps what was already sent.
          </p>
        </ConfirmDialog>
      </div>
    </AdminOnly>
  );
}

function ToggleAndDelete({ enabled, onToggle, onDelete }: { enabled: boolean; onToggle(): void; onDelete(): void }) {
  return (
    <>
      <button type="button" className="btn h-7" onClick={onToggle}>
        {enabled ? "Disable" : "Enable"}
      </button>
      <button type="button" className="btn btn-danger h-7" onClick={onDelete}>
        Delete
      </button>
    </>
  );
}

function CreateChannelForm({ onCreated }: { onCreated(c: Channel & { signingSecret?: string }): void }) {
  const trpc = useTRPC();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<"webhook" | "slack">("webhook");
  const [url, setUrl] = useState("");
  const [signingSecret, setSigningSecret] = useState("");
  const create = useMutation(
    trpc.notifications.createChannel.mutationOptions({
      onSuccess: (c) => {
        setName("");
        setUrl("");
        setSigningSecret("");
        onCreated(c);
      },
    }),
  );
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({ name: name.trim(), kind, url: url.trim(), signingSecret: kind === "webhook" && signingSecret ? signingSecret : undefined });
  }
  return (
    <form onSubmit={submit} className="mt-4 flex flex-col gap-3 border-t border-zinc-100 pt-3 dark:border-zinc-800" aria-label="Add a channel">
      <h3 className="text-sm font-medium">Add a channel</h3>
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Name</span>
          <input className="input" name="channel-name" required maxLength={80} placeholder="e.g. ops-pager" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Kind</span>
          <select className="input" name="channel-kind" value={kind} onChange={(e) => setKind(e.target.value as "webhook" | "slack")}>
            <option value="webhook">Webhook (signed JSON)</option>
            <option value="slack">Slack-compatible incoming webhook</option>
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm lg:col-span-2">
          <span className="font-medium">URL</span>
          <input className="input" name="channel-url" type="url" required placeholder="https://…" value={url} onChange={(e) => setUrl(e.target.value)} />
        </label>
        {kind === "webhook" ? (
          <label className="flex flex-col gap-1 text-sm lg:col-span-2">
            <span className="font-medium">Signing secret</span>
            <input
              className="input"
              name="channel-secret"
              type="password"
              autoComplete="off"
              minLength={16}
              placeholder="empty: generate one (shown once)"
              value={signingSecret}
              onChange={(e) => setSigningSecret(e.target.value)}
            />
          </label>
        ) : null}
      </div>
      <p className="text-xs text-zinc-500">The URL and the secret are write-only: only the URL&apos;s host is shown afterwards.</p>
      {create.isError ? (
        <p role="alert" className="text-sm text-rose-700 dark:text-rose-400">
          {errorMessage(create.error)}
        </p>
      ) : null}
      <div>
        <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim() || !url.trim()}>
          {create.isPending ? "Adding…" : "Add channel"}
        </button>
      </div>
    </form>
  );
}

function CreateRuleForm({ channels, onCreated }: { channels: Channel[]; onCreated(r: Rule): void }) {
  const trpc = useTRPC();
  const gateways = useQuery(trpc.gateways.list.queryOptions());
  const boards = useQuery(trpc.boards.list.queryOptions());
  const [name, setName] = useState("");
  const [trigger, setTrigger] = useState<Trigger>("agent_offline");
  const [scope, setScope] = useState<"fleet" | "gateway" | "board">("fleet");
  const [target, setTarget] = useState("");
  const [threshold, setThreshold] = useState("10");
  const [forSeconds, setForSeconds] = useState("0");
  const [picked, setPicked] = useState<string[]>([]);
  const create = useMutation(
    trpc.notifications.createRule.mutationOptions({
      onSuccess: (r) => {
        setName("");
        onCreated(r);
      },
    }),
  );
  const fleetOnly = trigger === "no_worker" || trigger === "reconcile_lag";
  const effectiveScope = fleetOnly ? "fleet" : scope;
  const periodic = fleetOnly;

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({
      name: name.trim(),
      trigger,
      scope: effectiveScope,
      gatewayId: effectiveScope === "gateway" ? target : undefined,
      boardId: effectiveScope === "board" ? target : undefined,
      thresholdSeconds: trigger === "reconcile_lag" ? Number(threshold) : undefined,
      forSeconds: periodic && Number(forSeconds) > 0 ? Number(forSeconds) : undefined,
      channelIds: picked,
    });
  }

  return (
    <form onSubmit={submit} className="mt-4 flex flex-col gap-3 border-t border-zinc-100 pt-3 dark:border-zinc-800" aria-label="Create a rule">
      <h3 className="text-sm font-medium">Create a rule</h3>
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Name</span>
          <input className="input" name="rule-name" required maxLength={80} placeholder="e.g. agents offline" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">When</span>
          <select className="input" name="rule-trigger" value={trigger} onChange={(e) => setTrigger(e.target.value as Trigger)}>
            {(Object.keys(TRIGGER_HELP) as Trigger[]).map((t) => (
              <option key={t} value={t}>
                {TRIGGER_NAMES[t]}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Scope</span>
          <select
            className="input"
            name="rule-scope"
            value={effectiveScope}
            disabled={fleetOnly}
            onChange={(e) => {
              setScope(e.target.value as "fleet" | "gateway" | "board");
              setTarget("");
            }}
          >
            <option value="fleet">whole fleet</option>
            <option value="gateway">one gateway</option>
            <option value="board">one board</option>
          </select>
        </label>
        {effectiveScope === "gateway" ? (
          <label className="flex flex-col gap-1 text-sm">
            <span className="font-medium">Gateway</span>
            <select className="input" name="rule-gateway" required value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="">choose…</option>
              {(gateways.data ?? []).map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </select>
          </label>
        ) : effectiveScope === "board" ? (
          <label className="flex flex-col gap-1 text-sm">
            <span className="font-medium">Board</span>
            <select className="input" name="rule-board" required value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="">choose…</option>
              {(boards.data ?? []).map((b) => (
                <option key={b.id} value={b.id}>
                  {b.gateway.name} / {b.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {trigger === "reconcile_lag" ? (
          <label className="flex flex-col gap-1 text-sm">
            <span className="font-medium">Lag above (seconds)</span>
            <input className="input" name="rule-threshold" type="number" min={1} max={86400} required value={threshold} onChange={(e) => setThreshold(e.target.value)} />
          </label>
        ) : null}
        {periodic ? (
          <label className="flex flex-col gap-1 text-sm">
            <span className="font-medium">For at least (seconds)</span>
            <input className="input" name="rule-for" type="number" min={0} max={86400} value={forSeconds} onChange={(e) => setForSeconds(e.target.value)} />
          </label>
        ) : null}
      </div>
      <p className="text-xs text-zinc-500">{TRIGGER_HELP[trigger]}</p>
      <fieldset className="flex flex-wrap gap-3 text-sm">
        <legend className="mb-1 font-medium">Send to</legend>
        {channels.length === 0 ? <span className="text-zinc-500">Add a channel first.</span> : null}
        {channels.map((c) => (
          <label key={c.id} className="flex items-center gap-1">
            <input
              type="checkbox"
              name="rule-channel"
              value={c.id}
              checked={picked.includes(c.id)}
              onChange={(e) => setPicked((p) => (e.target.checked ? [...p, c.id] : p.filter((x) => x !== c.id)))}
            />
            {c.name}
          </label>
        ))}
      </fieldset>
      {create.isError ? (
        <p role="alert" className="text-sm text-rose-700 dark:text-rose-400">
          {errorMessage(create.error)}
        </p>
      ) : null}
      <div>
        <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim() || picked.length === 0}>
          {create.isPending ? "Creating…" : "Create rule"}
        </button>
      </div>
    </form>
  );
}
