// Gateway work on one agent (provisioning, wake delivery, removal) runs under a lease stored on the agent row: one
// piece of work per agent at a time, in any process, bounded in time. The lease names the cycle it works for
// (generation, status, attempt); before every gateway write the work checks that its cycle is still current, and its
// AbortSignal fires at its time limit or as soon as the cycle moves on, so a driver's multi-step work stops. A newer
// cycle waits for the lease: the last token written to a gateway is always the one the database expects.
// Times are the database's (clock_timestamp()), like every deadline a job compares.
import { randomUUID } from "node:crypto";
import type { Db } from "../db/prisma";
import type { AgentStatus } from "./policy";
import { GatewayCallError, withTimeout } from "../drivers/types";

/** The cycle (or attempt) a piece of gateway work belongs to. */
export interface WorkScope {
  agentId: string;
  generation: number;
  statuses: AgentStatus[];
  /** For wake delivery: the attempt must still be the agent's current one. */
  attempt?: number;
}

/** The work's cycle is no longer current: stop quietly, the newer cycle does what is needed. */
export class CycleMovedOn extends Error {
  constructor(what: string) {
    super(`${what}: the cycle moved on`);
    this.name = "CycleMovedOn";
  }
}

/** How long a released-by-crash lease outlives its work's own time limit (room for a driver to wind down). */
const LEASE_MARGIN_MS = 2_000;
/** While work runs, how often it re-checks that its cycle is current (the in-process nudge is immediate). */
const CURRENCY_POLL_MS = 500;
const CLAIM_RETRY_MS = 100;

/** Work of this process per agent, so a committed change nudges it at once instead of at the next poll. */
export class WorkRegistry {
  private readonly byAgent = new Map<string, Set<GatewayWork>>();

  add(work: GatewayWork): void {
    const set = this.byAgent.get(work.scope.agentId) ?? new Set();
    set.add(work);
    this.byAgent.set(work.scope.agentId, set);
  }

  delete(work: GatewayWork): void {
    const set = this.byAgent.get(work.scope.agentId);
    set?.delete(work);
    if (set?.size === 0) this.byAgent.delete(work.scope.agentId);
  }

  /** The agent's lifecycle state changed: its running work re-checks that it is still current. */
  nudge(agentId: string): void {
    for (const work of this.byAgent.get(agentId) ?? []) void work.checkCurrent();
  }
}

function scopeCondition(scope: WorkScope) {
  return {
    statuses: scope.statuses as string[],
    attempt: scope.attempt ?? null,
  };
}

export class GatewayWork {
  private readonly controller = new AbortController();
  private readonly outstanding = new Set<Promise<unknown>>();
  private readonly limit: NodeJS.Timeout;
  private readonly poll: NodeJS.Timeout;
  private released = false;
  /** Set once the database says the cycle moved on (the time limit alone does not make work stale). */
  private superseded = false;

  private constructor(
    private readonly db: Db,
    readonly scope: WorkScope,
    readonly leaseId: string,
    /** ms (this process's monotonic time) at which the lease ends in the database. */
    private readonly leaseEndsAt: number,
    limitMs: number,
    private readonly registry: WorkRegistry,
  ) {
    this.limit = setTimeout(() => this.controller.abort(new GatewayCallError(`gave up after ${Math.round(limitMs / 100) / 10}s`, "timeout")), limitMs);
    this.poll = setInterval(() => void this.checkCurrent(), CURRENCY_POLL_MS);
    this.limit.unref();
    this.poll.unref();
    registry.add(this);
  }

  /** Aborted at the work's time limit or when its cycle stops being current. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Takes the agent's lease for `limitMs` if the scope is current, waiting while other work holds it (it is bounded,
   * and stops quickly once its own cycle moved on). Null when the scope is not current, or the wait gave up.
   */
  static async claim(db: Db, registry: WorkRegistry, scope: WorkScope, limitMs: number, maxWaitMs = limitMs + LEASE_MARGIN_MS): Promise<GatewayWork | null> {
    const { statuses, attempt } = scopeCondition(scope);
    const leaseMs = limitMs + LEASE_MARGIN_MS;
    const waitUntil = performance.now() + maxWaitMs;
    for (;;) {
      const leaseId = randomUUID();
      const claimedAt = performance.now();
      const claimed = await db.$executeRaw`
        UPDATE "Agent"
           SET "gatewayLeaseId" = ${leaseId}::uuid,
               "gatewayLeaseUntil" = clock_timestamp() + make_interval(secs => ${leaseMs / 1000})
         WHERE id = ${scope.agentId}::uuid
           AND "lifecycleGeneration" = ${scope.generation}
           AND status::text = ANY(${statuses}::text[])
           AND (${attempt}::int IS NULL OR "wakeAttempts" = ${attempt}::int)
           AND ("gatewayLeaseUntil" IS NULL OR "gatewayLeaseUntil" < clock_timestamp())`;
      if (claimed === 1) return new GatewayWork(db, scope, leaseId, claimedAt + leaseMs, limitMs, registry);
      const [row] = await db.$queryRaw<{ current: boolean }[]>`
        SELECT ("lifecycleGeneration" = ${scope.generation}
                AND status::text = ANY(${statuses}::text[])
                AND (${attempt}::int IS NULL OR "wakeAttempts" = ${attempt}::int)) AS current
          FROM "Agent" WHERE id = ${scope.agentId}::uuid`;
      if (!row?.current) return null;
      if (performance.now() > waitUntil) return null;
      await new Promise((r) => setTimeout(r, CLAIM_RETRY_MS));
    }
  }

  /** Throws CycleMovedOn (and aborts the signal) unless the lease and its cycle are still current. */
  async ensureCurrent(what: string): Promise<void> {
    if (!(await this.checkCurrent())) throw new CycleMovedOn(what);
  }

  /** Re-checks currency in the database; aborts the signal when the cycle moved on. */
  async checkCurrent(): Promise<boolean> {
    if (this.superseded) return false;
    const { statuses, attempt } = scopeCondition(this.scope);
    let current: boolean;
    try {
      const rows = await this.db.$queryRaw<{ ok: number }[]>`
        SELECT 1 AS ok FROM "Agent"
         WHERE id = ${this.scope.agentId}::uuid
           AND "gatewayLeaseId" = ${this.leaseId}::uuid
           AND "gatewayLeaseUntil" > clock_timestamp()
           AND "lifecycleGeneration" = ${this.scope.generation}
           AND status::text = ANY(${statuses}::text[])
           AND (${attempt}::int IS NULL OR "wakeAttempts" = ${attempt}::int)`;
      current = rows.length === 1;
    } catch {
      // The database is unreachable: keep going until the time limit; every write re-checks anyway.
      return true;
    }
    if (!current) {
      this.superseded = true;
      if (!this.controller.signal.aborted) this.controller.abort(new CycleMovedOn("gateway work"));
    }
    return current;
  }

  /**
   * One gateway call: the cycle is checked first, then the call runs with this work's signal (and its own timeout).
   * The call's promise is kept until it settles, so the lease is not released under a driver still writing.
   */
  async call<T>(what: string, timeoutMs: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    await this.ensureCurrent(what);
    const callSignal = AbortSignal.any([this.signal, AbortSignal.timeout(timeoutMs)]);
    const work = run(callSignal);
    this.outstanding.add(work);
    void work.then(
      () => this.outstanding.delete(work),
      () => this.outstanding.delete(work),
    );
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(this.signal.reason instanceof CycleMovedOn ? new CycleMovedOn(what) : asCallError(this.signal.reason, what));
      if (this.signal.aborted) onAbort();
      else this.signal.addEventListener("abort", onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    return withTimeout(Promise.race([work, aborted]), timeoutMs, what);
  }

  /** Ends the work: waits (up to the lease's end) for calls still settling, then frees the lease. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.limit);
    clearInterval(this.poll);
    this.registry.delete(this);
    if (this.outstanding.size > 0) {
      const waitMs = Math.max(0, this.leaseEndsAt - performance.now());
      const settled = await Promise.race([
        Promise.allSettled([...this.outstanding]).then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), waitMs).unref()),
      ]);
      // A driver that never settles keeps the lease until it expires on its own.
      if (!settled) return;
    }
    await this.db.$executeRaw`
      UPDATE "Agent" SET "gatewayLeaseId" = NULL, "gatewayLeaseUntil" = NULL
       WHERE id = ${this.scope.agentId}::uuid AND "gatewayLeaseId" = ${this.leaseId}::uuid`.catch(() => undefined);
  }
}

function asCallError(reason: unknown, what: string): Error {
  if (reason instanceof GatewayCallError) return new GatewayCallError(`${what}: ${reason.message}`, reason.kind);
  return new GatewayCallError(`${what} cancelled`, "timeout");
}
