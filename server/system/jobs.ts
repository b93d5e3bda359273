// Failed jobs of the product's queues, and putting one back (docs/architecture.md, Contracts (pages) System).
import type { PgBoss } from "pg-boss";
import type { Db } from "../db/prisma";
import type { EventBus } from "../events/bus";
import { ServiceError } from "../platform/service-error";
import { QUEUES } from "../queue/queues";

export interface FailedJob {
  id: string;
  queue: string;
  state: string;
  retryCount: number;
  retryLimit: number;
  createdOn: Date;
  startedOn: Date | null;
  completedOn: Date | null;
  data: Record<string, unknown>;
  /** The error the job ended with (pg-boss keeps it in `output`). */
  error: string | null;
  agentId: string | null;
}

function errorOf(output: unknown): string | null {
  if (!output) return null;
  if (typeof output === "string") return output;
  if (typeof output === "object") {
    const o = output as Record<string, unknown>;
    if (typeof o.error === "string") return o.error;
    if (typeof o.message === "string") return o.message;
    if (o.error && typeof o.error === "object" && typeof (o.error as { message?: unknown }).message === "string") {
      return (o.error as { message: string }).message;
    }
    return JSON.stringify(output).slice(0, 500);
  }
  return String(output);
}

/** The most recently failed jobs of the product's queues (newest first). */
async function recentFailedJobs(db: Db, queueSchema: string, limit = 50): Promise<FailedJob[]> {
  const rows = await db.$queryRawUnsafe<
    {
      id: string;
      name: string;
      state: string;
      retry_count: number;
      retry_limit: number;
      created_on: Date;
      started_on: Date | null;
      completed_on: Date | null;
      data: unknown;
      output: unknown;
    }[]
  >(
    `SELECT id::text AS id, name, state::text AS state, retry_count, retry_limit, created_on, started_on, completed_on, data, output
       FROM "${queueSchema}".job
      WHERE name = ANY($1::text[]) AND state = 'failed'
      ORDER BY coalesce(completed_on, created_on) DESC
      LIMIT $2`,
    Object.values(QUEUES),
    limit,
  );
  return rows.map((r) => {
    const data = (r.data && typeof r.data === "object" ? r.data : {}) as Record<string, unknown>;
    return {
      id: r.id,
      queue: r.name,
      state: r.state,
      retryCount: r.retry_count,
      retryLimit: r.retry_limit,
      createdOn: r.created_on,
      startedOn: r.started_on,
      completedOn: r.completed_on,
      data,
      error: errorOf(r.output),
      agentId: typeof data.agentId === "string" ? data.agentId : null,
    };
  });
}

/** Who asks for a retry (an operator's email and how they signed in), recorded with the `operator.action` event. */
export interface JobActor {
  email: string;
  via: string;
}

export class FailedJobs {
  constructor(
    private readonly deps: { db: Db; boss: PgBoss; events: EventBus; queueSchema: string },
  ) {}

  recent(limit = 50): Promise<FailedJob[]> {
    return recentFailedJobs(this.deps.db, this.deps.queueSchema, limit);
  }

  /** Puts a failed job back in its queue (pg-boss `retry`) and records who did. */
  async retry(queue: string, jobId: string, by: JobActor): Promise<{ retried: number }> {
    const result = await this.deps.boss.retry(queue, jobId);
    const affected = Number((result as { affected?: number } | undefined)?.affected ?? 0);
    if (affected === 0) throw new ServiceError("not_found", "No failed job with that id in this queue");
    await this.deps.events.emit({
      event: "operator.action",
      actor: by.email,
      message: `${by.email} retried ${queue} job ${jobId}`,
      data: { action: "retried job", result: "ok", via: by.via, queue, jobId },
    });
    return { retried: affected };
  }
}
