"use client";

import { useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { GatewayDetail } from "@/lib/client/types";
import type { GatewayDriver as Driver } from "@/lib/contract/enums";
import { LIMITS, type GatewayInput, type GatewayUpdateInput } from "@/lib/contract/schemas";
import { errorMessage, useTRPC } from "../providers";

const DRIVER_HELP: Record<Driver, string> = {
  simulator: "Built-in simulated runtime for demos and load tests. No URL or token.",
  http: "Any runtime that speaks the plain HTTP gateway API (POST /agents/{id}/provision, /wake; GET /health).",
  openclaw: "An OpenClaw gateway over its WebSocket protocol (ws:// or wss:// URL, gateway token, device pairing).",
};

interface Props {
  /** Editing an existing gateway; creating a new one without. */
  gateway?: GatewayDetail;
  onDone(gateway: { id: string; name: string }): void;
  onCancel(): void;
}

const optionalInt = (v: string) => (v.trim() === "" ? undefined : Number(v));

/**
 * Create / edit a gateway (admins). The token is write-only: it is never shown; on edit it is replaced only when a
 * new one is typed, or cleared on request.
 */
export function GatewayForm({ gateway, onDone, onCancel }: Props) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const editing = Boolean(gateway);
  const [driver, setDriver] = useState<Driver>((gateway?.driver as Driver) ?? "http");
  const [name, setName] = useState(gateway?.name ?? "");
  const [url, setUrl] = useState(gateway?.url ?? "");
  const [token, setToken] = useState("");
  const [clearToken, setClearToken] = useState(false);
  const [workspaceRoot, setWorkspaceRoot] = useState(gateway?.workspaceRoot ?? "");
  const [allowInsecureTls, setAllowInsecureTls] = useState(gateway?.allowInsecureTls ?? false);
  const [deadline, setDeadline] = useState(gateway?.checkinDeadlineSeconds?.toString() ?? "");
  const [maxAttempts, setMaxAttempts] = useState(gateway?.maxWakeAttempts?.toString() ?? "");
  const [error, setError] = useState<string | null>(null);

  const done = (g: { id: string; name: string }) => {
    void queryClient.invalidateQueries(trpc.gateways.list.queryFilter());
    void queryClient.invalidateQueries(trpc.gateways.get.queryFilter({ id: g.id }));
    void queryClient.invalidateQueries(trpc.agents.list.queryFilter());
    onDone(g);
  };
  const create = useMutation(trpc.gateways.create.mutationOptions({ onSuccess: done, onError: (e) => setError(errorMessage(e)) }));
  const update = useMutation(trpc.gateways.update.mutationOptions({ onSuccess: done, onError: (e) => setError(errorMessage(e)) }));
  const busy = create.isPending || update.isPending;

  function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const common: Omit<GatewayInput, "driver"> & Omit<GatewayUpdateInput, "id"> = {
      name: name.trim(),
      workspaceRoot: workspaceRoot.trim() || undefined,
      allowInsecureTls: driver === "simulator" ? undefined : allowInsecureTls,
      checkinDeadlineSeconds: optionalInt(deadline),
      maxWakeAttempts: optionalInt(maxAttempts),
    };
    if (gateway) {
      update.mutate({
        id: gateway.id,
        ...common,
        url: driver === "simulator" ? undefined : url.trim() || null,
        workspaceRoot: workspaceRoot.trim() || null,
        checkinDeadlineSeconds: optionalInt(deadline) ?? null,
        maxWakeAttempts: optionalInt(maxAttempts) ?? null,
        token: clearToken ? null : token ? token : undefined,
      });
    } else {
      create.mutate({ ...common, driver, url: driver === "simulator" ? undefined : url.trim() || undefined, token: token || undefined });
    }
  }

  return (
    <form onSubmit={submit} className="card grid gap-3 p-4 text-sm" aria-labelledby="gateway-form-title" data-testid="gateway-form">
      <h2 id="gateway-form-title" className="text-base font-semibold">
        {editing ? `Edit ${gateway!.name}` : "Add a gateway"}
      </h2>
      <div className="grid gap-3 sm:grid-cols-2">
        <Field label="Name" htmlFor="gw-name">
          <input id="gw-name" className="input w-full" required maxLength={LIMITS.name} value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </Field>
        <Field label="Driver" htmlFor="gw-driver" help={DRIVER_HELP[driver]}>
          <select id="gw-driver" className="input w-full" value={driver} disabled={editing} onChange={(e) => setDriver(e.target.value as Driver)}>
            <option value="http">http</option>
            <option value="openclaw">openclaw</option>
            <option value="simulator">simulator</option>
          </select>
        </Field>
        {driver !== "simulator" ? (
          <>
            <Field label="URL" htmlFor="gw-url" help={driver === "openclaw" ? "ws://host:port or wss://…" : "http(s)://host:port — no credentials in the URL"}>
              <input
                id="gw-url"
                className="input w-full"
                type="url"
                required
                placeholder={driver === "openclaw" ? "wss://gateway.example:18789" : "https://gateway.example"}
                value={url}
                onChange={(e) => setUrl(e.target.value)}
              />
            </Field>
            <Field
              label="Token"
              htmlFor="gw-token"
              help={
                editing
                  ? gateway!.hasToken
                    ? "A token is set. It is never shown; type a new one to replace it."
                    : "No token set."
                  : "Sent as Authorization: Bearer and used to sign requests. Write-only: never shown again."
              }
            >
              <input
                id="gw-token"
                className="input w-full"
                type="password"
                autoComplete="new-password"
                placeholder={editing && gateway!.hasToken ? "•••••••• (unchanged)" : ""}
                value={token}
                disabled={clearToken}
                onChange={(e) => setToken(e.target.value)}
              />
              {editing && gateway!.hasToken ? (
                <label className="mt-1 flex items-center gap-1.5 text-xs">
                  <input type="checkbox" checked={clearToken} onChange={(e) => setClearToken(e.target.checked)} /> Remove the token
                </label>
              ) : null}
            </Field>
          </>
        ) : null}
        <Field label="Workspace root" htmlFor="gw-workspace" help="Where the runtime keeps agent workspaces (optional).">
          <input id="gw-workspace" className="input w-full" value={workspaceRoot} onChange={(e) => setWorkspaceRoot(e.target.value)} />
        </Field>
        <div className="grid grid-cols-2 gap-3">
          <Field label="Check-in deadline (s)" htmlFor="gw-deadline" help="Empty: server default">
            <input id="gw-deadline" className="input w-full" type="number" min={LIMITS.checkinDeadlineSeconds.min} max={LIMITS.checkinDeadlineSeconds.max} value={deadline} onChange={(e) => setDeadline(e.target.value)} />
          </Field>
          <Field label="Max wake attempts" htmlFor="gw-attempts" help="Empty: server default">
            <input id="gw-attempts" className="input w-full" type="number" min={LIMITS.maxWakeAttempts.min} max={LIMITS.maxWakeAttempts.max} value={maxAttempts} onChange={(e) => setMaxAttempts(e.target.value)} />
          </Field>
        </div>
        {driver !== "simulator" ? (
          <div className="flex flex-col gap-1.5 sm:col-span-2">
            <label className="flex items-center gap-1.5">
              <input type="checkbox" checked={allowInsecureTls} onChange={(e) => setAllowInsecureTls(e.target.checked)} /> Allow self-signed TLS certificates
            </label>
            {driver === "openclaw" ? (
              <p className="text-xs text-slate-500 dark:text-slate-400">
                On the same host (loopback) the gateway accepts Mission Control&apos;s device at once; from another host it asks for
                approval once: the gateway page then shows the <code>openclaw devices approve</code> command to run.
              </p>
            ) : null}
          </div>
        ) : null}
      </div>
      {error ? (
        <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-rose-800 dark:bg-rose-950 dark:text-rose-200" data-testid="gateway-form-error">
          {error}
        </p>
      ) : null}
      <div className="flex justify-end gap-2">
        <button type="button" className="btn" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Saving…" : editing ? "Save gateway" : "Create gateway"}
        </button>
      </div>
    </form>
  );
}

function Field({ label, htmlFor, help, children }: { label: string; htmlFor: string; help?: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <label htmlFor={htmlFor} className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
        {label}
      </label>
      {children}
      {help ? <p className="mt-1 text-xs text-zinc-500">{help}</p> : null}
    </div>
  );
}
