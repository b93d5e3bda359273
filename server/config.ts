// Every setting the product reads from the environment, with its default (documented in README.md).
import { z } from "zod";
import { DEFAULT_MIN_VERSION } from "./drivers/openclaw/protocol";

const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);
const flag = (fallback: boolean) =>
  z
    .enum(["0", "1", "true", "false"])
    .default(fallback ? "1" : "0")
    .transform((v) => v === "1" || v === "true");

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  MC_BASE_URL: z.string().url().optional(),
  CHECKIN_DEADLINE_SECONDS: seconds(30),
  MAX_WAKE_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  HEARTBEAT_INTERVAL_SECONDS: seconds(60),
  LIVENESS_SWEEP_SECONDS: seconds(10),
  GATEWAY_PROBE_SECONDS: seconds(30),
  /** Oldest OpenClaw release Mission Control provisions on (CalVer); older gateways are `incompatible`. */
  OPENCLAW_MIN_VERSION: z
    .string()
    .regex(/^v?\d{4}\.\d{1,2}\.\d{1,2}(-\d+)?$/, "a CalVer version such as 2026.4.29")
    .default(DEFAULT_MIN_VERSION),
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
  /** Largest tRPC request body. */
  TRPC_MAX_BODY_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
  MC_WORKER: flag(true),
  MC_DEMO: flag(true),
  MC_DEV: flag(false),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export type Config = z.infer<typeof schema>;

let cached: Config | undefined;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
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
