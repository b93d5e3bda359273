// The gateway's pure rules: what a gateway accepts and what an edit resets. No I/O; the service applies them.
import { ServiceError } from "../platform/service-error";

/** A runtime other than the simulator is reached at a URL. */
export function checkUrl(driver: string, url: string | null | undefined): void {
  if (driver !== "simulator" && !url) throw new ServiceError("invalid", `A ${driver} gateway needs a url`);
}

/**
 * A gateway being deleted takes no new syncs or wakes (docs/fleet.md, Deleting a gateway); the database refuses its new
 * agents and boards with the same message.
 */
export function checkNotDeleting(gateway: { name: string; deletingAt: Date | null }): void {
  if (gateway.deletingAt) throw new ServiceError("conflict", `Gateway ${gateway.name} is being deleted`);
}

/** Fields whose change means a different gateway may answer: what the last probe found no longer holds. */
const CONNECTION_FIELDS = ["url", "tokenSecret", "allowInsecureTls"] as const;

export interface ConnectionReset {
  status?: "unknown";
  lastError?: null;
  deviceTokenSecret?: null;
  pairingRequestId?: null;
}

/**
 * What an update of `changed` (the stored fields it writes, the token as `tokenSecret`) resets. New connection
 * settings invalidate the last probe (and end the fail-fast of an unreachable gateway); a device token and a pairing
 * request belong to the gateway at the old URL.
 */
export function connectionReset(changed: Record<string, unknown>, currentUrl: string | null): { connectionChanged: boolean; reset: ConnectionReset } {
  const connectionChanged = CONNECTION_FIELDS.some((k) => k in changed);
  const reset: ConnectionReset = connectionChanged ? { status: "unknown", lastError: null } : {};
  if ("url" in changed && changed.url !== currentUrl) Object.assign(reset, { deviceTokenSecret: null, pairingRequestId: null });
  return { connectionChanged, reset };
}
