// Every setting the product reads from the environment, with its default (documented in README.md).
import { z } from "zod";

/** The oldest OpenClaw release the interop suite runs against (test/interop/openclaw-runtime.ts). */
export const DEFAULT_OPENCLAW_MIN_VERSION = "2026.4.29";

const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);
const flag = (fallback: boolean) =>
  z
    .enum(["0", "1", "true", "false"])
    .default(fallback ? "1" : "0")
    .transform((v) => v === "1" || v === "true");

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() ? v.trim() : undefined));

const schema = z.object({
  /** PostgreSQL connection string; without it `npm start` runs an embedded PostgreSQL (server/db/url.ts). */
  DATABASE_URL: optionalText,
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  /** Key encrypting secrets at rest (server/secrets/crypto.ts); generated into .data/secret.key when unset. */
  MC_SECRET_KEY: optionalText,
  /** Accepted as an admin API token when set (automation). */
  MC_BOOTSTRAP_TOKEN: optionalText,
  ADMIN_EMAIL: optionalText,
  ADMIN_PASSWORD: optionalText,
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  /** Normalised here, once: no trailing slash (agents would otherwise be given `//api/agent/heartbeat`). */
  MC_BASE_URL: z
    .string()
    .url()
    .optional()
    .transform((url) => (url === undefined ? undefined : normaliseBaseUrl(url))),
  CHECKIN_DEADLINE_SECONDS: seconds(30),
  MAX_WAKE_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  HEARTBEAT_INTERVAL_SECONDS: seconds(60),
  LIVENESS_SWEEP_SECONDS: seconds(10),
  GATEWAY_PROBE_SECONDS: seconds(30),
  /** Oldest OpenClaw release Mission Control provisions on (CalVer); older gateways are `incompatible`. */
  OPENCLAW_MIN_VERSION: z
    .string()
    .regex(/^v?\d{4}\.\d{1,2}\.\d{1,2}(-\d+)?$/, "a CalVer version such as 2026.4.29")
    .default(DEFAULT_OPENCLAW_MIN_VERSION),
  /** Longest one gateway call (and one provisioning) may take before it is cancelled and counted as failed. */
  GATEWAY_CALL_TIMEOUT_SECONDS: seconds(30),
  /** Gateway calls (provisioning, wakes, deletes) one process runs at once per gateway (docs/scaling.md). */
  GATEWAY_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(8),
  /** Connections of the main database pool of each process (requests, gateway work, events). */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(500).default(10),
  /** Reconcile jobs one worker fetches and decides together, in one transaction (docs/scaling.md). */
  RECONCILE_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(200),
  /** Reconcile batches one worker decides at once; each has its own connection, reserved for decisions. */
  RECONCILE_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
  QUEUE_POLL_SECONDS: z.coerce.number().min(0.5).default(0.5),
  QUEUE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default("pgboss"),
  AGENT_TOKEN_OVERLAP_SECONDS: seconds(600),
  HEARTBEAT_MAX_BODY_BYTES: z.coerce.number().int().positive().default(4096),
  SESSION_TTL_HOURS: seconds(12),
  /** A browser session unused for this long expires even before SESSION_TTL_HOURS. */
  SESSION_IDLE_MINUTES: seconds(120),
  /**
   * Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto / X-Forwarded-Host are believed: comma-separated IP
   * addresses or CIDR ranges (e.g. "127.0.0.1,10.0.0.0/8"). Empty: the headers are ignored and the socket address is
   * the client.
   */
  TRUSTED_PROXIES: z.string().default(""),
  /** Heartbeat API requests per agent token per minute (a legitimate agent sends about one). */
  RATE_LIMIT_HEARTBEATS_PER_MINUTE: z.coerce.number().int().positive().default(300),
  /** Failed agent authentications per client IP per minute; past it, invalid tokens get 429 (valid ones always pass). */
  RATE_LIMIT_AGENT_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().positive().default(120),
  /** Failed sign-ins per client IP within RATE_LIMIT_LOGIN_WINDOW_SECONDS before sign-in from that IP is refused. */
  RATE_LIMIT_LOGIN_FAILURES: z.coerce.number().int().positive().default(20),
  RATE_LIMIT_LOGIN_WINDOW_SECONDS: seconds(300),
  /** Requests with an invalid operator API token per client IP per minute; past it, invalid ones get 429. */
  RATE_LIMIT_API_TOKEN_FAILURES_PER_MINUTE: z.coerce.number().int().positive().default(60),
  /** Console API (tRPC) procedure calls per operator per minute. */
  RATE_LIMIT_OPERATOR_REQUESTS_PER_MINUTE: z.coerce.number().int().positive().default(600),
  /** agents.createMany: agents written per transaction (docs/fleet.md). */
  FLEET_CREATE_CHUNK_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
  /** Fleet operations: agents handled between two stored steps of an operation's cursor (docs/fleet.md). */
  FLEET_OPERATION_CHUNK_SIZE: z.coerce.number().int().min(1).max(10_000).default(200),
  /** Largest tRPC request body. */
  TRPC_MAX_BODY_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
  MC_WORKER: flag(true),
  /** Seed the demo simulator gateway on an empty database: "auto" (default) only on the embedded database. */
  MC_DEMO: z
    .enum(["0", "1", "true", "false", "auto"])
    .default("auto")
    .transform((v) => (v === "auto" ? ("auto" as const) : v === "1" || v === "true")),
  /** 0: serve the APIs and Socket.IO only, without the web console (an API node behind a load balancer). */
  MC_CONSOLE: flag(true),
  MC_DEV: flag(false),
  /** `/api/metrics` without authentication. */
  MC_METRICS_PUBLIC: flag(false),
  /** Lifecycle events, wake attempts, sync runs and resolved notifications older than this are pruned. */
  RETENTION_DAYS: seconds(30),
  /** The operators' audit trail is kept this long. */
  AUDIT_RETENTION_DAYS: seconds(365),
  /** Rows deleted per statement by the retention job (small batches keep locks and WAL bursts short). */
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** When the retention job runs (cron, UTC). */
  RETENTION_SCHEDULE: z.string().default("*/30 * * * *"),
  /** A notification waits this long for related failures to join it before its first delivery. */
  NOTIFY_GROUP_SECONDS: z.coerce.number().min(0).default(30),
  /** How often "no worker alive" and "reconcile lag" rules are evaluated. */
  NOTIFY_CHECK_SECONDS: seconds(15),
  /** Deliveries tried per message (with exponential backoff) before it is marked failed. */
  NOTIFY_RETRY_LIMIT: z.coerce.number().int().min(0).max(20).default(8),
  /** First retry delay; each further retry waits about twice as long (at most 10 minutes). */
  NOTIFY_RETRY_DELAY_SECONDS: z.coerce.number().int().min(1).max(600).default(5),
  NOTIFY_TIMEOUT_SECONDS: seconds(10),
  /** On SIGTERM, readiness answers 503 for this long before the server stops accepting connections. */
  SHUTDOWN_DRAIN_SECONDS: z.coerce.number().min(0).default(5),
  /** A process still stopping after this long exits anyway (a stuck gateway call must not block a deploy). */
  SHUTDOWN_TIMEOUT_SECONDS: seconds(30),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export type Config = z.infer<typeof schema>;
export type Environment = Record<string, string | undefined>;

/** Every variable the server and worker read (README.md documents each one). */
export const CONFIG_KEYS = Object.keys(schema.shape) as (keyof Config)[];

const cliSchema = z.object({
  MC_URL: optionalText,
  MC_TOKEN: optionalText,
  /** Any value turns colours off (https://no-color.org). */
  NO_COLOR: optionalText.transform((v) => v !== undefined),
});

/** The settings of `npm run mc` (scripts/mc.ts), the command-line client. */
export function cliConfig(env: Environment = process.env): z.infer<typeof cliSchema> {
  return cliSchema.parse(env);
}

/** `https://mc.example.com/` and `https://mc.example.com` are the same base URL: no trailing slashes. */
export function normaliseBaseUrl(url: string): string {
  return url.trim().replace(/\/+$/, "");
}

let cached: Config | undefined;

export function loadConfig(env: Environment = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}

export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/** The log level, readable before the whole configuration is validated (the logger is created at import). */
export function configuredLogLevel(env: Environment = process.env): string {
  const parsed = schema.shape.LOG_LEVEL.safeParse(env.LOG_LEVEL);
  return parsed.success ? parsed.data : "info";
}
