// The enabled rules as evaluation reads them: cached for a few seconds, since every signal and periodic check needs
// them. A change made in this process is seen at once (invalidate); one made in another process within RULE_CACHE_MS.
import type { Db } from "../db/prisma";
import { inScope, type Trigger } from "./triggers";

export interface LoadedRule {
  id: string;
  name: string;
  trigger: Trigger;
  scope: "fleet" | "gateway" | "board";
  gatewayId: string | null;
  boardId: string | null;
  boardGatewayId: string | null;
  thresholdSeconds: number | null;
  forSeconds: number | null;
  mutedUntil: Date | null;
  channelIds: string[];
}

const RULE_CACHE_MS = 5_000;

export class RuleCache {
  private cached: { at: number; rules: LoadedRule[] } | null = null;

  constructor(private readonly db: Db) {}

  invalidate(): void {
    this.cached = null;
  }

  async all(): Promise<LoadedRule[]> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < RULE_CACHE_MS) return this.cached.rules;
    const rows = await this.db.notificationRule.findMany({
      where: { enabled: true },
      include: { channels: { where: { channel: { enabled: true } }, select: { channelId: true } }, board: { select: { gatewayId: true } } },
    });
    const rules = rows.map((r) => ({
      id: r.id,
      name: r.name,
      trigger: r.trigger,
      scope: r.scope,
      gatewayId: r.gatewayId,
      boardId: r.boardId,
      boardGatewayId: r.board?.gatewayId ?? null,
      thresholdSeconds: r.thresholdSeconds,
      forSeconds: r.forSeconds,
      mutedUntil: r.mutedUntil,
      channelIds: r.channels.map((c) => c.channelId),
    }));
    this.cached = { at: now, rules };
    return rules;
  }

  /** The rules of a trigger that cover something on this gateway (and board). */
  async covering(trigger: Trigger, gatewayId: string, boardId: string | null): Promise<LoadedRule[]> {
    return (await this.all()).filter((r) => r.trigger === trigger && inScope(r, gatewayId, boardId));
  }
}
