// What the notification service is built from (server/runtime/app.ts constructs it once per process) and its settings.
import type { PgBoss } from "pg-boss";
import type { Db } from "../db/prisma";
import type { EventBus } from "../events/bus";
import type { Logger } from "../platform/logger";
import type { LifecycleService } from "../lifecycle/service";

export interface NotificationSettings {
  /** Wait before a notification's first delivery, for related failures to join it. */
  groupSeconds: number;
  retryLimit: number;
  retryDelaySeconds: number;
  timeoutMs: number;
  checkSeconds: number;
  queueSchema: string;
}

export interface NotificationDeps {
  db: Db;
  boss: PgBoss;
  events: EventBus;
  logger: Logger;
  lifecycle: LifecycleService;
  /** Where operators reach the console (links in messages). */
  baseUrl: () => string;
  settings: NotificationSettings;
  clock?: () => Date;
}

/** The deps as every part of the service uses them: the clock is always set. */
export type NotificationContext = NotificationDeps & { clock: () => Date };
