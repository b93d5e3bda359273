// Rate limits (rate-limiter-flexible), counted in PostgreSQL so that every web process shares one budget (N processes
// never mean N times the budget, sign-in brute force included). If the database cannot answer, each process falls
// back to its own in-memory counter rather than refusing or waving everything through.
//  - per agent token on the heartbeat API (generous: a legitimate agent sends about one a minute). This one is counted
//    in memory, per process: it guards against a runaway agent, not a brute force, and a shared counter would cost
//    every heartbeat its own database round trip, which batched heartbeats exist to avoid (server/agents/heartbeat-ingest.ts).
//    With N web processes a runaway agent gets at most N times the budget; keys are only ever written for tokens
//    that were accepted, so memory is bounded by the fleet size whatever an attacker sends;
//  - per client IP for FAILED authentications only (agent API, sign-in, operator API tokens). Past the budget, sign-in
//    from that IP is refused; for tokens, malformed ones are refused before any database work and failures are not
//    recorded, but a valid token is never refused, so one misconfigured agent behind a shared gateway address never
//    locks out its healthy neighbours;
//  - per operator on the console's API (every tRPC procedure call).
// A refusal is HTTP 429 with Retry-After (seconds).
import { createHash } from "node:crypto";
import type pg from "pg";
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { Config } from "./config";

/** The table is created by the migrations (prisma/schema.prisma, model RateLimit). */
export const RATE_LIMIT_TABLE = "rate_limits";

function limiter(pool: pg.Pool | undefined, keyPrefix: string, points: number, duration: number): RateLimiterAbstract {
  const insurance = new RateLimiterMemory({ keyPrefix, points, duration });
  if (!pool) return insurance;
  return new RateLimiterPostgres({
    storeClient: pool,
    storeType: "pool",
    tableName: RATE_LIMIT_TABLE,
    tableCreated: true,
    clearExpiredByTimeout: true,
    keyPrefix,
    points,
    duration,
    insuranceLimiter: insurance,
  });
}

/** Fixed-window limit per key: `take` answers 0 (go ahead) or the seconds to wait. */
export class KeyLimiter {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    readonly points: number,
    durationSeconds: number,
    prefix: string,
    pool?: pg.Pool,
  ) {
    this.limiter = limiter(pool, prefix, points, durationSeconds);
  }

  /** The seconds to wait when the key's budget is spent (0 when it is not), without taking from it. */
  async peek(key: string): Promise<number> {
    const res = await this.limiter.get(key);
    return res && res.consumedPoints >= this.points ? retrySeconds(res) : 0;
  }

  async take(key: string): Promise<number> {
    try {
      await this.limiter.consume(key);
      return 0;
    } catch (res) {
      if (res instanceof RateLimiterRes) return retrySeconds(res);
      throw res;
    }
  }
}

/**
 * Counts failed authentications per client IP. After `points` failures within the window the IP is "blocked" until the
 * window ends: requests whose credential is malformed are refused before any database work, and failures are answered
 * 429 without being recorded. A valid credential is never refused: one misconfigured agent behind a shared gateway
 * address (or a script with a revoked token behind an office NAT) does not lock out its healthy neighbours.
 */
export class FailureGuard {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    readonly points: number,
    durationSeconds: number,
    prefix: string,
    pool?: pg.Pool,
  ) {
    this.limiter = limiter(pool, prefix, points, durationSeconds);
  }

  /** Seconds until the IP's failure budget renews, when it is exhausted (0 when it is not). */
  async blockedFor(ip: string): Promise<number> {
    const res = await this.limiter.get(ip);
    return res && res.consumedPoints >= this.points ? retrySeconds(res) : 0;
  }

  /** Records one failure. */
  async fail(ip: string): Promise<void> {
    try {
      await this.limiter.consume(ip);
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
    }
  }
}

export interface RateLimits {
  heartbeatsPerToken: KeyLimiter;
  agentAuthFailures: FailureGuard;
  loginFailures: FailureGuard;
  apiTokenFailures: FailureGuard;
  operatorRequests: KeyLimiter;
}

/** `pool`: the shared PostgreSQL store; without it (unit use) the counters are this process's own. */
export function createRateLimits(config: Config, pool?: pg.Pool): RateLimits {
  const loginWindow = Math.max(1, Math.round(config.RATE_LIMIT_LOGIN_WINDOW_SECONDS));
  return {
    heartbeatsPerToken: new KeyLimiter(config.RATE_LIMIT_HEARTBEATS_PER_MINUTE, 60, "hb"),
    agentAuthFailures: new FailureGuard(config.RATE_LIMIT_AGENT_AUTH_FAILURES_PER_MINUTE, 60, "agent-auth", pool),
    loginFailures: new FailureGuard(config.RATE_LIMIT_LOGIN_FAILURES, loginWindow, "login", pool),
    apiTokenFailures: new FailureGuard(config.RATE_LIMIT_API_TOKEN_FAILURES_PER_MINUTE, 60, "api-token", pool),
    operatorRequests: new KeyLimiter(config.RATE_LIMIT_OPERATOR_REQUESTS_PER_MINUTE, 60, "operator", pool),
  };
}

/** Keys are hashes: no limiter holds a credential in memory. */
export function fingerprint(credential: string): string {
  return createHash("sha256").update(credential).digest("base64url");
}

function retrySeconds(res: RateLimiterRes): number {
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
}
