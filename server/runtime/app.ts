// The application container: everything a web or worker process needs, wired once. Tests build the same thing.
import type { PgBoss } from "pg-boss";
import pg from "pg";
import { normaliseBaseUrl, type Config } from "../platform/config";
import { createPrisma, type Db } from "../db/prisma";
import { EventBus } from "../events/bus";
import { logger as defaultLogger, type Logger } from "../platform/logger";
import { SocketPublisher, type Broadcaster } from "../realtime/publisher";
import type { Publisher } from "../events/publisher";
import { SimulatorRuntime, type SimulatorTiming } from "../drivers/simulator/driver";
import { createDriverFactory, gatewayDeviceTokens, type DriverDependencies, type DriverFactory } from "../drivers";
import { deviceIdentityLoader } from "../drivers/openclaw";
import { instrumentDrivers } from "../drivers/instrumented";
import { LifecycleService, type LifecycleSettings } from "../lifecycle/service";
import { FleetOperations } from "../fleet/operations";
import { GatewaysService } from "../gateways/service";
import { AgentAuthenticator } from "../agents/agent-auth";
import { HeartbeatIngest } from "../agents/heartbeat-ingest";
import { AgentsService } from "../agents/service";
import { BoardsService } from "../boards/service";
import { Authenticator } from "../auth/principal";
import { OperatorsService } from "../auth/operators";
import { ApiTokensService } from "../auth/api-tokens";
import { setGaugeSource } from "../platform/metrics";
import { gaugeSource } from "../system/queue-gauges";
import { startQueue, QUEUES } from "../queue/queues";
import { startWorker, type JobHandler, type WorkerHandle } from "../queue/worker";
import { HealthWatcher, systemHealth } from "../system/health";
import { FailedJobs } from "../system/jobs";
import { NotificationService } from "../notifications/service";
import { NotificationRules } from "../notifications/rules";
import { convergenceMetrics } from "../system/convergence-metrics";
import { verifySecretKey } from "../secrets/key-check";
import { createRateLimits, type RateLimits } from "../platform/rate-limits";

export interface AppOptions {
  databaseUrl: string;
  config: Config;
  logger?: Logger;
  clock?: () => Date;
  simulatorTiming?: SimulatorTiming;
  /** Replace the driver factory (tests use this to inject failing gateways). */
  drivers?: (simulator: SimulatorRuntime, deps: DriverDependencies) => DriverFactory;
  publisher?: Publisher;
  baseUrl: () => string;
  /** Contend for hosting the simulated agents (default true; see server/drivers/simulator/driver.ts). */
  simulatorHost?: boolean;
  /** Overrides of lifecycle timings that have no setting of their own (tests). */
  lifecycle?: Partial<Pick<LifecycleSettings, "repairAfterSeconds" | "abandonedJobSeconds" | "stuckProvisioningSeconds">>;
  /** The queues a worker of this process serves (jobs/handlers.ts); without it the process cannot start a worker. */
  jobHandlers?: (app: App) => JobHandler[];
}

export interface App {
  config: Config;
  logger: Logger;
  db: Db;
  boss: PgBoss;
  events: EventBus;
  publisher: Publisher;
  simulator: SimulatorRuntime;
  /** Rate limits, shared by every process through PostgreSQL. */
  limits: RateLimits;
  /** Builds the driver of a gateway (template sync and probes use it outside the lifecycle). */
  drivers: DriverFactory;
  /** Where agents reach Mission Control (heartbeat URL in templates). */
  baseUrl: () => string;
  lifecycle: LifecycleService;
  /** Fleet-sized work as queued jobs (server/fleet/). */
  fleet: FleetOperations;
  /** Operators' reads and changes of agents (server/agents/service.ts). */
  agents: AgentsService;
  boards: BoardsService;
  /** The gateway aggregate (server/gateways/service.ts). */
  gateways: GatewaysService;
  agentAuth: AgentAuthenticator;
  /** Routine heartbeats, group-committed (one statement and one commit per batch). */
  heartbeats: HeartbeatIngest;
  auth: Authenticator;
  /** Operator accounts and the audit log (server/auth/operators.ts). */
  operators: OperatorsService;
  /** Operator API tokens (server/auth/api-tokens.ts). */
  apiTokens: ApiTokensService;
  worker: WorkerHandle | null;
  notifications: NotificationService;
  /** Notification channels and rules as admins manage them (server/notifications/rules.ts). */
  notificationRules: NotificationRules;
  /** Set on SIGTERM: readiness answers 503 so that load balancers stop sending new work here (server/runtime/shutdown.ts). */
  draining: boolean;
  policyDefaults: { checkinDeadlineSeconds: number; maxWakeAttempts: number };
  setBroadcaster(target: Broadcaster | undefined): void;
  startWorker(): Promise<WorkerHandle>;
  stopWorker(): Promise<void>;
  health(): ReturnType<typeof systemHealth>;
  /** Pushes `system.health` on change; started by the HTTP server (server/http/server.ts), stopped with the app. */
  healthWatcher: HealthWatcher;
  /** Failed jobs of the product's queues, and retrying one. */
  failedJobs: FailedJobs;
  stop(): Promise<void>;
}

export async function createApp(opts: AppOptions): Promise<App> {
  const { config } = opts;
  const logger = opts.logger ?? defaultLogger;
  // Pool sizes, batch size and worker concurrency are sized to each other: docs/scaling.md.
  const db = createPrisma(opts.databaseUrl, config.DATABASE_POOL_SIZE);
  // One connection per reconcile batch in flight, used by nothing else: a decision never waits for a connection.
  const decisionsDb = createPrisma(opts.databaseUrl, config.RECONCILE_CONCURRENCY, "mission-control:decisions");
  // Before anything reads a stored secret: a key that cannot open them is a startup error, not a fleet of failures.
  try {
    await verifySecretKey(db);
  } catch (err) {
    await db.$disconnect();
    await decisionsDb.$disconnect();
    throw err;
  }
  const boss = await startQueue(
    { databaseUrl: opts.databaseUrl, schema: config.QUEUE_SCHEMA, pollSeconds: config.QUEUE_POLL_SECONDS },
    (err) => logger.error({ err: err.message }, "queue error"),
  );
  let broadcaster: Broadcaster | undefined;
  const publisher = opts.publisher ?? new SocketPublisher(() => broadcaster);
  const events = new EventBus(db, logger, publisher);
  const simulator = new SimulatorRuntime(db, opts.simulatorTiming);
  const limitsPool = new pg.Pool({ connectionString: opts.databaseUrl, max: 8, application_name: "mission-control:limits" });
  limitsPool.on("error", (err) => logger.warn({ err: err.message }, "rate-limit pool error"));
  const limits = createRateLimits(config, limitsPool);
  const baseUrl = () => normaliseBaseUrl(opts.baseUrl());
  const drivers = instrumentDrivers(
    (opts.drivers ?? createDriverFactory)(simulator, {
      deviceIdentity: deviceIdentityLoader(db),
      deviceTokens: gatewayDeviceTokens(db),
      openclawMinVersion: config.OPENCLAW_MIN_VERSION,
    }),
  );
  const lifecycle = new LifecycleService({
    db,
    decisionsDb,
    boss,
    events,
    publisher,
    drivers,
    logger,
    settings: {
      checkinDeadlineSeconds: config.CHECKIN_DEADLINE_SECONDS,
      maxWakeAttempts: config.MAX_WAKE_ATTEMPTS,
      heartbeatIntervalSeconds: config.HEARTBEAT_INTERVAL_SECONDS,
      tokenOverlapSeconds: config.AGENT_TOKEN_OVERLAP_SECONDS,
      gatewayCallTimeoutMs: config.GATEWAY_CALL_TIMEOUT_SECONDS * 1000,
      gatewayConcurrency: config.GATEWAY_CONCURRENCY,
      stuckProvisioningSeconds: config.GATEWAY_CALL_TIMEOUT_SECONDS + 5,
      repairAfterSeconds: 2,
      abandonedJobSeconds: 5,
      queueSchema: config.QUEUE_SCHEMA,
      baseUrl,
      ...opts.lifecycle,
    },
  });
  const fleet = new FleetOperations({ db, boss, events, publisher, lifecycle, logger, chunkSize: config.FLEET_OPERATION_CHUNK_SIZE });
  const health = () => systemHealth(db, config.QUEUE_SCHEMA);
  const auth = new Authenticator(db, { bootstrapToken: config.MC_BOOTSTRAP_TOKEN, sessionTtlHours: config.SESSION_TTL_HOURS });
  const notifications = new NotificationService({
    db,
    boss,
    events,
    logger,
    lifecycle,
    baseUrl,
    clock: opts.clock,
    settings: {
      groupSeconds: config.NOTIFY_GROUP_SECONDS,
      retryLimit: config.NOTIFY_RETRY_LIMIT,
      retryDelaySeconds: config.NOTIFY_RETRY_DELAY_SECONDS,
      timeoutMs: config.NOTIFY_TIMEOUT_SECONDS * 1000,
      checkSeconds: config.NOTIFY_CHECK_SECONDS,
      queueSchema: config.QUEUE_SCHEMA,
    },
  });
  await notifications.start();
  const unsubscribeConvergence = events.subscribe(convergenceMetrics(db, logger));
  const detachGauges = setGaugeSource(gaugeSource(boss, db, config.QUEUE_SCHEMA));

  const policyDefaults = { checkinDeadlineSeconds: config.CHECKIN_DEADLINE_SECONDS, maxWakeAttempts: config.MAX_WAKE_ATTEMPTS };

  const app: App = {
    config,
    logger,
    db,
    boss,
    events,
    publisher,
    simulator,
    limits,
    drivers,
    baseUrl,
    lifecycle,
    fleet,
    agents: new AgentsService({
      db,
      lifecycle,
      events,
      publisher,
      fleet,
      settings: {
        policyDefaults,
        heartbeatIntervalSeconds: config.HEARTBEAT_INTERVAL_SECONDS,
        createChunkSize: config.FLEET_CREATE_CHUNK_SIZE,
      },
    }),
    boards: new BoardsService({ db, lifecycle }),
    gateways: new GatewaysService({ db, boss, events, drivers, lifecycle, operations: fleet, logger }),
    agentAuth: new AgentAuthenticator(db, events, opts.clock),
    heartbeats: new HeartbeatIngest({ databaseUrl: opts.databaseUrl, publisher, logger, maxWakeAttempts: config.MAX_WAKE_ATTEMPTS, clock: opts.clock }),
    auth,
    operators: new OperatorsService({ db, auth }),
    apiTokens: new ApiTokensService({ db, auth }),
    worker: null,
    notifications,
    notificationRules: new NotificationRules({ db, notifications }),
    draining: false,
    policyDefaults,
    setBroadcaster(target) {
      broadcaster = target;
    },
    async startWorker() {
      if (!opts.jobHandlers) throw new Error("this process was built without job handlers: it cannot run a queue worker");
      app.worker ??= await startWorker({
        boss,
        db,
        logger,
        queueSchema: config.QUEUE_SCHEMA,
        pollSeconds: config.QUEUE_POLL_SECONDS,
        handlers: opts.jobHandlers(app),
      });
      return app.worker;
    },
    async stopWorker() {
      const w = app.worker;
      app.worker = null;
      await w?.stop();
    },
    health,
    healthWatcher: new HealthWatcher(health, publisher),
    failedJobs: new FailedJobs({ db, boss, events, queueSchema: config.QUEUE_SCHEMA }),
    async stop() {
      app.healthWatcher.stop();
      detachGauges();
      unsubscribeConvergence();
      await app.heartbeats.stop();
      await app.stopWorker();
      simulator.stop();
      await lifecycle.idle();
      publisher.flush();
      await notifications.stop();
      await boss.stop({ graceful: true, timeout: 5000 }).catch(() => undefined);
      await limitsPool.end().catch(() => undefined);
      await db.$disconnect();
      await decisionsDb.$disconnect();
    },
  };
  if (opts.simulatorHost !== false) simulator.startHosting(opts.databaseUrl, logger);
  logger.info({ queueSchema: config.QUEUE_SCHEMA, queues: Object.values(QUEUES) }, "queue connected");
  return app;
}

