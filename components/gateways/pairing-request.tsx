"use client";

import { CopyButton } from "../copy-button";

/**
 * A remote OpenClaw gateway asks its owner to approve Mission Control's device once. The command comes from the
 * gateway's own pairing request; it is shown until a connection succeeds.
 */
export function PairingRequest({ requestId, onProbe, probing }: { requestId: string; onProbe?: () => void; probing?: boolean }) {
  const command = `openclaw devices approve ${requestId}`;
  return (
    <div role="alert" data-testid="pairing-request" className="flex flex-col gap-2 rounded-md bg-sky-50 px-3 py-2 text-sm text-sky-950 ring-1 ring-inset ring-sky-300 dark:bg-sky-950 dark:text-sky-100 dark:ring-sky-800">
      <p>
        <strong>Approve Mission Control on the gateway.</strong> The gateway is waiting for its owner to approve Mission Control&apos;s device
        (pairing request <span className="font-mono text-xs">{requestId}</span>). On the gateway host, run:
      </p>
      <div className="flex flex-wrap items-center gap-2">
        <code data-testid="pairing-command" className="select-all break-all rounded bg-white px-2 py-1 font-mono text-xs dark:bg-zinc-900">
          {command}
        </code>
        <CopyButton value={command} />
        {onProbe ? (
          <button type="button" className="btn" disabled={probing} onClick={onProbe}>
            {probing ? "Probing…" : "Approved: probe now"}
          </button>
        ) : null}
      </div>
      <p className="text-xs text-sky-900 dark:text-sky-200">
        OpenClaw 2026.4&apos;s command line can only approve devices without admin rights: there, approve the pending device from the
        Control UI&apos;s Devices page on the gateway host. A gateway on the same host as Mission Control (loopback) needs no approval.
      </p>
    </div>
  );
}
