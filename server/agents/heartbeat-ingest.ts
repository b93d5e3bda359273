// Group commit for routine heartbeats. Heartbeats arriving within a few milliseconds share ONE statement and one
// commit: `UPDATE "Agent" … FROM unnest(ids, secret hashes)` that checks each token against the stored hashes, stores
// the heartbeat and RETURNS the board row (for the push) and what the answer needs. A heartbeat is acknowledged only
// after its batch committed; when the batch fails (database down) every request in it gets the error (503).
//
// Only the routine case is decided here: an online agent presenting its current token, or its previous token inside
// the overlap window — exactly what `checkAgentToken` (tokens.ts) accepts for those slots, compared against this
// process's clock as the authenticator does. Everything else is not returned by the statement and takes the full
// path (agent-auth.ts, then `LifecycleService.heartbeat`): a wrong, expired or revoked token (401 and rejection
// counting), the pending token (its use proves delivery and promotes it), and any agent that is not online (its
// heartbeat is a lifecycle decision: check-in events, status change).
import pg from "pg";
import { Prisma } from "../db/prisma";
import type { Logger } from "../platform/logger";
import type { Publisher } from "../events/publisher";
import { rowColumns, rowFromRecord, type RowRecord } from "../agent-model/row";

export interface HeartbeatAck {
  agentId: string;
  status: string;
  heartbeatIntervalSeconds: number;
}

export interface HeartbeatIngestOptions {
  databaseUrl: string;
  publisher: Publisher;
  logger: Logger;
  /** The process-wide default for gateways without their own (the row shows it). */
  maxWakeAttempts: number;
  /** The clock the previous token's overlap window is compared with (the authenticator's). */
  clock?: () => Date;
  /** Longest a heartbeat waits for others to share its batch. */
  windowMs?: number;
  /** A batch this full goes at once. */
  maxBatch?: number;
  /** Batches in flight at once (each holds one connection of this module's pool). */
  maxInFlight?: number;
}

interface Waiting {
  agentId: string;
  secretHash: string;
  resolve(ack: HeartbeatAck | null): void;
  reject(err: unknown): void;
}

interface BatchRecord extends RowRecord {
  heartbeatIntervalSeconds: number;
  matchedHash: string;
}

/** PostgreSQL's "deadlock detected": the whole statement was rolled back, so running it again is safe. */
const DEADLOCK = "40P01";

export class HeartbeatIngest {
  private readonly pool: pg.Pool;
  private readonly clock: () => Date;
  private readonly windowMs: number;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private pending: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  /** The window of the pending heartbeats ended while every connection was busy: go as soon as one is free. */
  private due = false;
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly opts: HeartbeatIngestOptions) {
    this.clock = opts.clock ?? (() => new Date());
    this.windowMs = opts.windowMs ?? 1;
    this.maxBatch = opts.maxBatch ?? 256;
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.pool = new pg.Pool({ connectionString: opts.databaseUrl, max: this.maxInFlight, application_name: "mission-control:heartbeats" });
    this.pool.on("error", (err) => opts.logger.warn({ err: err.message }, "heartbeat pool error"));
  }

  /**
   * Stores a heartbeat of `agentId` presenting a token whose secret hashes to `secretHash`, if it is routine (see
   * above). Resolves after the commit with the answer, or with null when the full path must decide; rejects when the
   * batch could not be stored.
   */
  submit(agentId: string, secretHash: string): Promise<HeartbeatAck | null> {
    if (this.stopped) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.pending.push({ agentId, secretHash, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.windowEnded();
      else this.timer ??= setTimeout(() => this.windowEnded(), this.windowMs);
    });
  }

  /** Sends what is waiting and waits for every batch in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.pending.length > 0 || this.running.size > 0) {
      this.windowEnded();
      await Promise.allSettled([...this.running]);
    }
    await this.pool.end().catch(() => undefined);
  }

  private windowEnded(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due = true;
    this.dispatch();
  }

  private dispatch(): void {
    while (this.due && this.pending.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.inFlight += 1;
      const run = this.apply(batch).finally(() => {
        this.inFlight -= 1;
        this.running.delete(run);
        this.dispatch();
      });
      this.running.add(run);
    }
    // Heartbeats left waiting while every connection is busy go with the next free one, not after a new window.
    if (this.pending.length === 0) this.due = false;
  }

  private async apply(batch: Waiting[]): Promise<void> {
    let records: BatchRecord[];
    try {
      records = await this.store(batch);
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    const answered = new Map<string, BatchRecord>();
    for (const r of records) answered.set(`${r.id}/${r.matchedHash}`, r);
    for (const w of batch) {
      const r = answered.get(`${w.agentId}/${w.secretHash}`);
      w.resolve(r ? { agentId: r.id, status: r.status, heartbeatIntervalSeconds: r.heartbeatIntervalSeconds } : null);
    }
    if (records.length > 0) {
      this.opts.publisher.agentRows(records.map(({ heartbeatIntervalSeconds: _i, matchedHash: _h, ...row }) => rowFromRecord(row)));
    }
  }

  private async store(batch: Waiting[]): Promise<BatchRecord[]> {
    const statement = this.statement(batch);
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.pool.query<BatchRecord>({ name: "mc-heartbeat-batch", text: statement.text, values: statement.values });
        return result.rows;
      } catch (err) {
        if ((err as { code?: string }).code !== DEADLOCK || attempt >= 3) throw err;
      }
    }
  }

  /**
   * One statement, one commit. Rows are locked in id order first, so two batches (or a batch and a lifecycle step)
   * never wait on each other in a cycle. The same agent twice with one token counts twice; with two different
   * tokens in one batch only one pairing updates the row, and the other request takes the full path.
   * `status::text`: the status index must not drive this statement (with stale statistics, after a bulk create, the
   * planner would scan every online agent for a batch of a few); the primary key does.
   * The hash comparison is plain equality: what it could leak through timing is a prefix of sha256 of the secret,
   * which does not help to find the secret.
   */
  private statement(batch: Waiting[]): Prisma.Sql {
    const ids = batch.map((w) => w.agentId);
    const hashes = batch.map((w) => w.secretHash);
    return Prisma.sql`
      WITH input AS (
        SELECT id, hash, count(*)::int AS n FROM unnest(${ids}::uuid[], ${hashes}::text[]) AS t(id, hash) GROUP BY id, hash
      ), locked AS (
        SELECT a.id FROM "Agent" a WHERE a.id IN (SELECT id FROM input) ORDER BY a.id FOR UPDATE
      )
      UPDATE "Agent" a
         SET "lastSeenAt" = clock_timestamp(), "heartbeatsAccepted" = a."heartbeatsAccepted" + i.n, "updatedAt" = clock_timestamp()
        FROM locked l JOIN input i ON i.id = l.id, "Gateway" g
       WHERE a.id = l.id AND g.id = a."gatewayId" AND a.status::text = 'online'
         AND (a."tokenHash" = i.hash
              OR (a."pendingTokenHash" IS DISTINCT FROM i.hash AND a."previousTokenHash" = i.hash
                  AND a."previousTokenExpiresAt" > ${this.clock()}::timestamptz))
      RETURNING ${rowColumns(this.opts.maxWakeAttempts)}, a."heartbeatIntervalSeconds", i.hash AS "matchedHash"`;
  }
}
