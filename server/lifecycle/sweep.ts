// The periodic sweep (docs/lifecycle.md, The sweep repairs anything left waiting): liveness after convergence, and
// repair of any agent left waiting without something that will act. Every repair is idempotent, so two sweeps at
// once (two workers) do no harm.
import type { LifecycleDeps } from "./deps";
import { enqueueDelete, enqueueReconcile, QUEUES } from "../queue/queues";

/** What the sweep asks of the lifecycle for the agents it finds. */
export interface SweepActions {
  /** The liveness step of a silent online agent; true when it found the heartbeat lost. */
  checkLiveness(agentId: string): Promise<boolean>;
  /** Queues the provisioning of a cycle; false when this process already has it queued. */
  resumeProvisioning(agentId: string, generation: number, gatewayId: string): boolean;
}

/**
 * Silent online agents get a liveness step; provisioning whose process died is resumed; a waking agent without a due
 * reconcile job (its job failed for good, or is held by a dead worker) and a deleting agent without its delete job
 * get their job again.
 */
export async function sweep(deps: LifecycleDeps, actions: SweepActions): Promise<{ lost: number; restarted: number; repaired: number }> {
  const { db, settings } = deps;
  const silent = await db.$queryRaw<{ id: string }[]>`
    SELECT id FROM "Agent"
    WHERE status = 'online'
      AND "lastSeenAt" < clock_timestamp() - make_interval(secs => 3 * "heartbeatIntervalSeconds")
    LIMIT 1000`;
  let lost = 0;
  for (const { id } of silent) {
    if (await actions.checkLiveness(id)) lost += 1;
  }

  const stuck = await db.$queryRaw<{ id: string; generation: number; gatewayId: string }[]>`
    SELECT id, "lifecycleGeneration" AS generation, "gatewayId" FROM "Agent"
    WHERE status IN ('provisioning', 'updating')
      AND "cycleStartedAt" < clock_timestamp() - make_interval(secs => ${settings.stuckProvisioningSeconds})
      AND ("gatewayLeaseUntil" IS NULL OR "gatewayLeaseUntil" < clock_timestamp())
    LIMIT 1000`;
  let restarted = 0;
  for (const a of stuck) {
    if (actions.resumeProvisioning(a.id, a.generation, a.gatewayId)) {
      restarted += 1;
      deps.logger.warn({ agentId: a.id, generation: a.generation }, "resuming a provisioning that never finished");
    }
  }

  const repaired = (await repairWaking(deps)) + (await repairDeleting(deps));
  return { lost, restarted, repaired };
}

/** Jobs of `queue` for agent `a` that will still act: waiting, or running and not abandoned (abandonedJobSeconds). */
function liveJobCondition(deps: LifecycleDeps, queue: string): string {
  const schema = deps.settings.queueSchema;
  return `EXISTS (SELECT 1 FROM "${schema}".job j
                   WHERE j.name = '${queue}' AND j.data->>'agentId' = a.id::text
                     AND (j.state IN ('created', 'retry')
                          OR (j.state = 'active' AND j.started_on > clock_timestamp() - make_interval(secs => ${Number(deps.settings.abandonedJobSeconds)}))))`;
}

async function repairWaking(deps: LifecycleDeps): Promise<number> {
  const { db, boss, settings } = deps;
  const rows = await db.$queryRawUnsafe<{ id: string; generation: number; attempt: number }[]>(
    `SELECT a.id, a."lifecycleGeneration" AS generation, a."wakeAttempts" AS attempt FROM "Agent" a
      WHERE a.status = 'waking'
        AND a."checkinDeadlineAt" < clock_timestamp() - make_interval(secs => $1)
        AND NOT ${liveJobCondition(deps, QUEUES.reconcile)}
      LIMIT 1000`,
    settings.repairAfterSeconds,
  );
  for (const row of rows) {
    const stored = await db.$transaction(async (tx) => {
      await enqueueReconcile(boss, tx, { agentId: row.id, generation: row.generation, attempt: row.attempt }, new Date(0));
      return deps.events.record(tx, [
        {
          event: "lifecycle.reconcile.repaired",
          agentId: row.id,
          generation: row.generation,
          attempt: row.attempt,
          message: `Deadline of attempt ${row.attempt} passed without a reconcile job that will run: re-scheduled now`,
        },
      ]);
    });
    deps.events.publish(stored);
  }
  return rows.length;
}

/** The delete job is enqueued with the `deleting` status, so a deleting agent without a live one lost it. */
async function repairDeleting(deps: LifecycleDeps): Promise<number> {
  const { db, boss } = deps;
  const rows = await db.$queryRawUnsafe<{ id: string }[]>(
    `SELECT a.id FROM "Agent" a
      WHERE a.status = 'deleting'
        AND NOT ${liveJobCondition(deps, QUEUES.delete)}
      LIMIT 1000`,
  );
  for (const row of rows) await db.$transaction((tx) => enqueueDelete(boss, tx, row.id, new Date(0)));
  return rows.length;
}
