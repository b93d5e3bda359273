// Time to converge per gateway (`mc_converge_duration_seconds`): from the start of a cycle to the agent's first
// check-in of that cycle, observed from the events after commit (one indexed read per convergence, none per heartbeat).
import type { Db } from "../db/prisma";
import type { EventListener } from "../events/bus";
import type { Logger } from "../platform/logger";
import { metrics } from "../platform/metrics";

export function convergenceMetrics(db: Db, logger: Logger): EventListener {
  return (events) => {
    // `agent.heartbeat` with an attempt is the check-in that ended a wake cycle (routine heartbeats emit no event).
    const checkIns = events.filter((e) => e.event === "agent.heartbeat" && e.attempt != null && e.agentId);
    if (checkIns.length === 0) return;
    void (async () => {
      for (const e of checkIns) {
        const agent = await db.agent.findUnique({
          where: { id: e.agentId! },
          select: { cycleStartedAt: true, lifecycleGeneration: true, gateway: { select: { name: true } } },
        });
        if (!agent?.cycleStartedAt || agent.lifecycleGeneration !== e.generation) continue;
        metrics.convergeDuration.observe({ gateway: agent.gateway.name }, Math.max(0, e.at.getTime() - agent.cycleStartedAt.getTime()) / 1000);
      }
    })().catch((err) => logger.warn({ err: String(err) }, "could not record a convergence time"));
  };
}
