// Gateway health (docs/architecture.md, Contracts): a periodic probe per gateway records whether it answers (`reachable`), does not
// (`unreachable`) or answers with something Mission Control cannot work with (`incompatible`), with the runtime
// version, the last contact and the last error. `gateway.status.changed` is emitted only when the status changes.
// While a gateway is `unreachable`, its agents' gateway calls fail fast (see `gatewayUnreachableError` in server/drivers/types.ts).
import type { Db } from "../db/prisma";
import type { EventBus, StoredEvent } from "../events/bus";
import type { Logger } from "../platform/logger";
import type { DriverFactory } from "../drivers";
import { GatewayCallError, describeGatewayError, withTimeout } from "../drivers/types";
import { gatewayConnectionOf, gatewayConnectionSelect } from "../drivers/connection";
import { SecretUnreadableError } from "../secrets/crypto";
import type { GatewayConnection } from "../drivers/types";

export type GatewayStatusName = "unknown" | "reachable" | "unreachable" | "incompatible";

export interface ProbeDeps {
  db: Db;
  events: EventBus;
  drivers: DriverFactory;
  logger: Logger;
  clock?: () => Date;
  /** Upper bound of one probe; drivers have their own (shorter) timeouts. */
  timeoutMs?: number;
}

export interface ProbeOutcome {
  gatewayId: string;
  from: GatewayStatusName;
  to: GatewayStatusName;
  version: string | null;
  error: string | null;
  changed: boolean;
}

const PROBE_TIMEOUT_MS = 11_000;
const PROBE_CONCURRENCY = 8;
/** Probes one gateway now and stores the result. Returns null when the gateway does not exist. */
export async function probeGateway(deps: ProbeDeps, gatewayId: string): Promise<ProbeOutcome | null> {
  const row = await deps.db.gateway.findUnique({ where: { id: gatewayId }, select: gatewayConnectionSelect });
  if (!row) return null;

  let connection: GatewayConnection;
  try {
    connection = gatewayConnectionOf(row);
  } catch (err) {
    if (!(err instanceof SecretUnreadableError)) throw err;
    // Nothing was asked of the gateway, so nothing is known about it: its status stays, the error says what is wrong.
    const error = err.message;
    deps.logger.error({ gatewayId, err: error }, "gateway token cannot be decrypted");
    const before = await deps.db.gateway.update({ where: { id: gatewayId }, data: { lastError: error }, select: { status: true } });
    return { gatewayId, from: before.status, to: before.status, version: null, error, changed: false };
  }

  let to: GatewayStatusName;
  let version: string | null = null;
  let protocol: number | null = null;
  let error: string | null = null;
  let pairingRequestId: string | null = null;
  try {
    const driver = deps.drivers(connection);
    const result = await withTimeout(driver.probe(), deps.timeoutMs ?? PROBE_TIMEOUT_MS, "probe");
    to = "reachable";
    version = result.version;
    protocol = result.protocol ?? null;
  } catch (err) {
    error = describeGatewayError(err);
    to = err instanceof GatewayCallError && err.kind === "incompatible" ? "incompatible" : "unreachable";
    if (err instanceof GatewayCallError) pairingRequestId = err.details.pairingRequestId ?? null;
  }
  const now = (deps.clock ?? (() => new Date()))();

  const committed = await deps.db.$transaction(async (tx) => {
    // Serialize with a concurrent probe of the same gateway so that a change is announced exactly once.
    const locked = await tx.$queryRaw<{ status: GatewayStatusName }[]>`SELECT status::text AS status FROM "Gateway" WHERE id = ${gatewayId}::uuid FOR UPDATE`;
    if (locked.length === 0) return null;
    const from = locked[0].status;
    await tx.gateway.update({
      where: { id: gatewayId },
      data: {
        status: to,
        lastError: error,
        // The pending pairing request to approve on the gateway, until a connection succeeds.
        pairingRequestId,
        ...(protocol !== null ? { protocolVersion: protocol } : {}),
        // An incompatible gateway did answer; an unreachable one keeps its last contact and last known version.
        ...(to !== "unreachable" ? { lastContactAt: now } : {}),
        ...(version !== null ? { runtimeVersion: version } : {}),
      },
    });
    let stored: StoredEvent[] = [];
    if (from !== to) {
      stored = await deps.events.record(tx, [
        {
          event: "gateway.status.changed",
          gatewayId,
          message: `Gateway ${row.name} is ${to}${error ? `: ${error}` : ""}${version && to === "reachable" ? ` (version ${version})` : ""}`,
          data: { from, to, ...(error ? { error } : {}) },
        },
      ]);
    }
    return { from, stored };
  });
  if (!committed) return null;
  deps.events.publish(committed.stored);
  return { gatewayId, from: committed.from, to, version, error, changed: committed.from !== to };
}

/** The periodic probe: every gateway, a few at a time. */
export async function probeAllGateways(deps: ProbeDeps): Promise<{ probed: number; changed: number }> {
  const gateways = await deps.db.gateway.findMany({ select: { id: true }, orderBy: { name: "asc" } });
  let changed = 0;
  let next = 0;
  const lane = async () => {
    while (next < gateways.length) {
      const { id } = gateways[next++];
      try {
        const outcome = await probeGateway(deps, id);
        if (outcome?.changed) changed += 1;
      } catch (err) {
        deps.logger.warn({ gatewayId: id, err: describeGatewayError(err) }, "gateway probe failed");
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PROBE_CONCURRENCY, gateways.length) }, lane));
  return { probed: gateways.length, changed };
}
