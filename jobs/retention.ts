// The retention job: one run per RETENTION_SCHEDULE tick (server/system/retention.ts holds the rules).
import type { Db } from "../server/db/prisma";
import { QUEUES } from "../server/queue/queues";
import type { JobHandler } from "../server/queue/worker";
import { pruneHistory, type RetentionSettings } from "../server/system/retention";

export function retentionHandler(db: Db, settings: RetentionSettings): JobHandler {
  return {
    queue: QUEUES.retention,
    options: { pollingIntervalSeconds: 5 },
    cron: settings.schedule,
    async handle(_jobs, { logger }) {
      const deleted = await pruneHistory(db, settings, new Date());
      const total = Object.values(deleted).reduce((a, b) => a + b, 0);
      if (total > 0) logger.info({ deleted }, "retention: pruned old history");
    },
  };
}
