// Every setting the product reads from the environment, with its default (documented in README.md).
import { z } from "zod";

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
  QUEUE_POLL_SECONDS: z.coerce.number().min(0.5).default(0.5),
  QUEUE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default("pgboss"),
  AGENT_TOKEN_OVERLAP_SECONDS: seconds(600),
  HEARTBEAT_MAX_BODY_BYTES: z.coerce.number().int().positive().default(4096),
  SESSION_TTL_HOURS: seconds(12),
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
