// pg-boss setup: the reconcile queue lives in the same PostgreSQL as the product's tables, so a wake and its
// deadline job commit together (docs/lifecycle.md, step 3).
import { PgBoss, fromPrisma } from "pg-boss";
import type { Tx } from "../db/prisma";

export const QUEUES = {
  reconcile: "lifecycle.reconcile",
  delete: "lifecycle.delete",
  liveness: "lifecycle.liveness",
  templateSync: "gateway.templates.sync",
  gatewayProbe: "gateway.probe",
  gatewaySettings: "gateway.settings",
  notify: "notification.deliver",
  retention: "maintenance.retention",
  fleetOperation: "fleet.operation",
} as const;

export interface FleetOperationJobData {
  operationId: string;
}

export interface TemplateSyncJobData {
  runId: string;
}

export interface DeliveryJobData {
  deliveryId: string;
}

/**
 * A fleet operation resumes from its stored cursor (server/fleet/operations.ts), so a retry after a crash repeats at
 * most one chunk. It may run for a long time (10,000 provisionings), so it expires only after hours, but its worker
 * beats: a job whose worker died is retried within heartbeatSeconds.
 */
export const FLEET_OPERATION_QUEUE_POLICY = {
  retryLimit: 10,
  retryDelay: 5,
  retryBackoff: true,
  retryDelayMax: 120,
  expireInSeconds: 6 * 3600,
  heartbeatSeconds: 30,
} as const;

export interface ReconcileJobData {
  agentId: string;
  generation: number;
  attempt: number;
}

export interface QueueOptions {
  databaseUrl: string;
  schema: string;
  pollSeconds: number;
}

export async function startQueue(opts: QueueOptions, onError: (err: Error) => void): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: opts.databaseUrl,
    schema: opts.schema,
    application_name: "mission-control",
    max: 5,
    // Dashboards read queue counts; keep them fresh.
    monitorIntervalSeconds: 5,
    queueCacheIntervalSeconds: 5,
  });
  boss.on("error", onError);
  await boss.start();
  await boss.createQueue(QUEUES.reconcile, RECONCILE_QUEUE_POLICY);
  // Deleting an agent finishes even if the process that started it dies (LifecycleService.removeAgent).
  await boss.createQueue(QUEUES.delete, { retryLimit: 20, retryDelay: 2, retryBackoff: true, retryDelayMax: 60, expireInSeconds: 120 });
  await boss.createQueue(QUEUES.liveness, { retryLimit: 0, expireInSeconds: 60 });
  // A sync run records every agent's result itself; a job that dies is marked failed, not retried (server/gateways/template-sync.ts).
  await boss.createQueue(QUEUES.templateSync, { retryLimit: 0, expireInSeconds: 3600 });
  await boss.createQueue(QUEUES.gatewayProbe, { retryLimit: 0, expireInSeconds: 120 });
  // At most one queued and one running per gateway (singletonKey): a queued job reads every agent's settings when it
  // runs, so any number of requests while it waits become one config write.
  await boss.createQueue(QUEUES.gatewaySettings, { policy: "stately", retryLimit: 10, retryDelay: 5, retryBackoff: true, expireInSeconds: 120 });
  // Retries and backoff of a delivery are set per job (server/notifications/delivery.ts).
  await boss.createQueue(QUEUES.notify, { expireInSeconds: 120 });
  await boss.createQueue(QUEUES.retention, { retryLimit: 1, retryDelay: 60, expireInSeconds: 3600 });
  await boss.createQueue(QUEUES.fleetOperation, FLEET_OPERATION_QUEUE_POLICY);
  return boss;
}

export interface GatewaySettingsJobData {
  gatewayId: string;
}

/** Agents that are provisioned close together share one settings write a moment later. */
const GATEWAY_SETTINGS_DEBOUNCE_SECONDS = 1;

/** Asks for the gateway-side settings of a gateway's agents to be brought up to date (server/gateways/agent-settings.ts). */
export async function requestGatewaySettings(boss: PgBoss, gatewayId: string, afterSeconds = GATEWAY_SETTINGS_DEBOUNCE_SECONDS): Promise<void> {
  await boss.send(QUEUES.gatewaySettings, { gatewayId } satisfies GatewaySettingsJobData, {
    singletonKey: gatewayId,
    startAfter: afterSeconds,
  });
}

export interface GatewayProbeJobData {
  /** Absent: the periodic probe of every gateway. */
  gatewayId?: string;
}

/** Asks for one gateway to be probed soon, rather than at the next periodic probe (server/gateways/probe.ts). */
export async function requestGatewayProbe(boss: PgBoss, gatewayId: string): Promise<void> {
  await boss.send(QUEUES.gatewayProbe, { gatewayId } satisfies GatewayProbeJobData);
}

/**
 * A reconcile that throws (e.g. a database hiccup) is retried, sooner first: the decision it makes is idempotent. One
 * that fails for good, or is held by a worker that died, is re-scheduled by the sweep (LifecycleService.sweep).
 */
export const RECONCILE_QUEUE_POLICY = { retryLimit: 8, retryDelay: 1, retryBackoff: true, retryDelayMax: 30, expireInSeconds: 60 } as const;

/** Inserts the job through the caller's Prisma transaction: it commits or rolls back with the state change. */
export async function enqueueReconcile(boss: PgBoss, tx: Tx, data: ReconcileJobData, at: Date): Promise<string | null> {
  return boss.send(QUEUES.reconcile, data, { startAfter: at, db: fromPrisma(tx) });
}

export async function enqueueDelete(boss: PgBoss, tx: Tx, agentId: string, at: Date): Promise<string | null> {
  return boss.send(QUEUES.delete, { agentId }, { startAfter: at, db: fromPrisma(tx) });
}

/** Schedules many reconcile jobs in one statement, through the caller's transaction (a batch of due jobs decided at once). */
export async function enqueueReconciles(boss: PgBoss, tx: Tx, jobs: { data: ReconcileJobData; startAfter: Date }[]): Promise<void> {
  if (jobs.length > 0) await boss.insert(QUEUES.reconcile, jobs, { db: fromPrisma(tx) });
}

/** Queues the job that walks a fleet operation, in the transaction that created it: no operation without its job. */
export async function enqueueFleetOperation(boss: PgBoss, tx: Tx, operationId: string): Promise<void> {
  await boss.send(QUEUES.fleetOperation, { operationId } satisfies FleetOperationJobData, { db: fromPrisma(tx) });
}

/** Queues the job of a template sync run, in the transaction that created the run. */
export async function enqueueTemplateSync(boss: PgBoss, tx: Tx, runId: string): Promise<void> {
  await boss.send(QUEUES.templateSync, { runId } satisfies TemplateSyncJobData, { db: fromPrisma(tx) });
}

/** Queues one notification delivery with its retry policy (retries and backoff are per delivery, from the settings). */
export async function enqueueDelivery(
  boss: PgBoss,
  tx: Tx,
  deliveryId: string,
  opts: { startAfter: Date; retryLimit: number; retryDelaySeconds: number; retryDelayMaxSeconds: number },
): Promise<void> {
  await boss.send(QUEUES.notify, { deliveryId } satisfies DeliveryJobData, {
    startAfter: opts.startAfter,
    retryLimit: opts.retryLimit,
    retryDelay: opts.retryDelaySeconds,
    retryBackoff: true,
    retryDelayMax: opts.retryDelayMaxSeconds,
    db: fromPrisma(tx),
  });
}
