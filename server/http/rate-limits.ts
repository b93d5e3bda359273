// Rate limits (rate-limiter-flexible, in memory per web process):
//  - per agent token on the heartbeat API (generous: a legitimate agent sends about one a minute);
//  - per client IP for FAILED authentications only (agent API, sign-in, operator API tokens). Past the budget, sign-in
//    from that IP is refused; for tokens, malformed ones are refused before any database work and failures are not
//    recorded, but a valid token is never refused, so one misconfigured agent behind a shared gateway address never
//    locks out its healthy neighbours;
//  - per operator on the console's API (every tRPC procedure call).
// A refusal is HTTP 429 with Retry-After (seconds).
import { createHash } from "node:crypto";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { Config } from "../config";

/** Fixed-window limit per key: `take` answers 0 (go ahead) or the seconds to wait. */
export class KeyLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(
    readonly points: number,
    durationSeconds: number,
    prefix: string,
  ) {
    this.limiter = new RateLimiterMemory({ keyPrefix: prefix, points, duration: durationSeconds });
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
  private readonly limiter: RateLimiterMemory;

  constructor(
    readonly points: number,
    durationSeconds: number,
    prefix: string,
  ) {
    this.limiter = new RateLimiterMemory({ keyPrefix: prefix, points, duration: durationSeconds });
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

export function createRateLimits(config: Config): RateLimits {
  const loginWindow = Math.max(1, Math.round(config.RATE_LIMIT_LOGIN_WINDOW_SECONDS));
  return {
    heartbeatsPerToken: new KeyLimiter(config.RATE_LIMIT_HEARTBEATS_PER_MINUTE, 60, "hb"),
    agentAuthFailures: new FailureGuard(config.RATE_LIMIT_AGENT_AUTH_FAILURES_PER_MINUTE, 60, "agent-auth"),
    loginFailures: new FailureGuard(config.RATE_LIMIT_LOGIN_FAILURES, loginWindow, "login"),
    apiTokenFailures: new FailureGuard(config.RATE_LIMIT_API_TOKEN_FAILURES_PER_MINUTE, 60, "api-token"),
    operatorRequests: new KeyLimiter(config.RATE_LIMIT_OPERATOR_REQUESTS_PER_MINUTE, 60, "operator"),
  };
}

/** Keys are hashes: no limiter holds a credential in memory. */
export function fingerprint(credential: string): string {
  return createHash("sha256").update(credential).digest("base64url");
}

function retrySeconds(res: RateLimiterRes): number {
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
}
