// What the lifecycle shell is built from (server/runtime/app.ts constructs it once per process) and its settings.
import type { PgBoss } from "pg-boss";
import type { Db } from "../db/prisma";
import type { EventBus } from "../events/bus";
import type { Logger } from "../platform/logger";
import type { Publisher } from "../events/publisher";
import type { DriverFactory } from "../drivers";
import type { PolicyConfig } from "./policy";

export interface LifecycleSettings {
  checkinDeadlineSeconds: number;
  maxWakeAttempts: number;
  heartbeatIntervalSeconds: number;
  tokenOverlapSeconds: number;
  /** Longest a single gateway call may take; also the outer limit of one provisioning. */
  gatewayCallTimeoutMs: number;
  /** Gateway calls (provisioning, wakes, deletes) this process runs at once per gateway (gateway-limits.ts). */
  gatewayConcurrency: number;
  /** A cycle still provisioning this long after it started, with no work holding its lease, is resumed by the sweep. */
  stuckProvisioningSeconds: number;
  /** A waking agent this long past its deadline without a job that will act is repaired by the sweep. */
  repairAfterSeconds: number;
  /**
   * A reconcile or delete job still running after this long was taken by a worker that died (these jobs take
   * milliseconds; pg-boss would give it back only at its expiry): the sweep acts as if it were gone.
   */
  abandonedJobSeconds: number;
  /** The pg-boss schema (the sweep looks for an agent's due jobs there). */
  queueSchema: string;
  /** Where agents reach Mission Control; read at provisioning time because the port may be chosen at listen. */
  baseUrl: () => string;
}

export interface LifecycleDeps {
  db: Db;
  /**
   * A pool reserved for reconcile decisions, one connection per batch the worker decides at once: a decision never
   * queues for a connection behind gateway work or requests (docs/scaling.md). Defaults to `db`.
   */
  decisionsDb?: Db;
  boss: PgBoss;
  events: EventBus;
  publisher: Publisher;
  drivers: DriverFactory;
  logger: Logger;
  settings: LifecycleSettings;
}

/** The policy's settings for an agent: its gateway's overrides, else the environment's. */
export function policyConfigOf(
  settings: LifecycleSettings,
  gateway: { checkinDeadlineSeconds: number | null; maxWakeAttempts: number | null },
): PolicyConfig {
  return {
    checkinDeadlineSeconds: gateway.checkinDeadlineSeconds ?? settings.checkinDeadlineSeconds,
    maxWakeAttempts: gateway.maxWakeAttempts ?? settings.maxWakeAttempts,
  };
}
