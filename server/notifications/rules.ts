// Notification channels and rules, as admins manage them (docs/ops/README.md, Notifications). A channel's URL and
// signing secret are write-only: sealed at rest, a read shows the URL's scheme and host only, and a generated secret is
// returned once. A rule's scope target must exist, and fleet-only triggers stay fleet-wide. Every change reaches the
// evaluating NotificationService at once.
import { conflictOnUnique, type Db, type Prisma } from "../db/prisma";
import { newSecret } from "../auth/principal";
import { ServiceError } from "../platform/service-error";
import { sealSecret } from "../secrets/crypto";
import { urlHint, type ChannelKind } from "./channels";
import type { NotificationService } from "./service";
import { FLEET_ONLY_TRIGGERS, type Scope, type Trigger } from "./triggers";

const channelSelect = {
  id: true,
  name: true,
  kind: true,
  urlHint: true,
  signingSecretSealed: true,
  enabled: true,
  createdAt: true,
  updatedAt: true,
  _count: { select: { rules: true } },
} satisfies Prisma.NotificationChannelSelect;

type ChannelRow = Prisma.NotificationChannelGetPayload<{ select: typeof channelSelect }>;

function channelView({ signingSecretSealed, _count, ...c }: ChannelRow) {
  return { ...c, hasSigningSecret: signingSecretSealed !== null, rules: _count.rules };
}

export type ChannelView = ReturnType<typeof channelView>;

const ruleInclude = {
  channels: { select: { channel: { select: { id: true, name: true, kind: true, enabled: true } } } },
  gateway: { select: { name: true } },
  board: { select: { name: true } },
} satisfies Prisma.NotificationRuleInclude;

type RuleRow = Prisma.NotificationRuleGetPayload<{ include: typeof ruleInclude }>;

function ruleView({ channels, gateway, board, ...r }: RuleRow, now = new Date()) {
  return {
    ...r,
    muted: r.mutedUntil !== null && r.mutedUntil > now,
    channels: channels.map((c) => c.channel),
    gatewayName: gateway?.name ?? null,
    boardName: board?.name ?? null,
  };
}

export type RuleView = ReturnType<typeof ruleView>;

interface RuleShape {
  trigger: Trigger;
  scope: Scope;
  gatewayId?: string | null;
  boardId?: string | null;
  thresholdSeconds?: number | null;
}

export interface RuleInput extends Partial<RuleShape> {
  name: string;
  trigger: Trigger;
  forSeconds?: number | null;
  channelIds: string[];
  enabled?: boolean;
}

function conflictOnName(what: string, value: string) {
  return conflictOnUnique(`A ${what} named ${value} already exists`);
}

export class NotificationRules {
  constructor(private readonly deps: { db: Db; notifications: NotificationService }) {}

  // ---- channels ---------------------------------------------------------------------------------------------------

  async listChannels(): Promise<ChannelView[]> {
    const rows = await this.deps.db.notificationChannel.findMany({ select: channelSelect, orderBy: { name: "asc" } });
    return rows.map(channelView);
  }

  /** A webhook channel without a signing secret gets a generated one, returned here once. */
  async createChannel(input: { name: string; kind: ChannelKind; url: string; signingSecret?: string }): Promise<ChannelView & { signingSecret?: string }> {
    if (input.kind === "slack" && input.signingSecret) throw new ServiceError("invalid", "Slack webhooks are not signed: leave the signing secret empty");
    const generated = input.kind === "webhook" && !input.signingSecret ? newSecret("mcwh") : undefined;
    const row = await this.deps.db.notificationChannel
      .create({
        data: {
          name: input.name,
          kind: input.kind,
          urlSecret: sealSecret(input.url)!,
          urlHint: urlHint(input.url),
          signingSecretSealed: sealSecret(input.signingSecret ?? generated),
        },
        select: channelSelect,
      })
      .catch(conflictOnName("channel", input.name));
    return { ...channelView(row), signingSecret: generated };
  }

  /** `signingSecret: true` replaces the secret with a generated one, returned here once. */
  async updateChannel(input: {
    id: string;
    name?: string;
    url?: string;
    enabled?: boolean;
    signingSecret?: string | true;
  }): Promise<ChannelView & { signingSecret?: string }> {
    const { db, notifications } = this.deps;
    const before = await db.notificationChannel.findUnique({ where: { id: input.id }, select: { kind: true } });
    if (!before) throw ServiceError.notFound("Channel");
    if (before.kind === "slack" && input.signingSecret) throw new ServiceError("invalid", "Slack webhooks are not signed");
    const generated = input.signingSecret === true ? newSecret("mcwh") : undefined;
    const secret = generated ?? (typeof input.signingSecret === "string" ? input.signingSecret : undefined);
    const row = await db.notificationChannel
      .update({
        where: { id: input.id },
        data: {
          name: input.name,
          enabled: input.enabled,
          ...(input.url ? { urlSecret: sealSecret(input.url)!, urlHint: urlHint(input.url) } : {}),
          ...(secret ? { signingSecretSealed: sealSecret(secret) } : {}),
        },
        select: channelSelect,
      })
      .catch(conflictOnName("channel", input.name ?? ""));
    notifications.invalidateRules();
    return { ...channelView(row), signingSecret: generated };
  }

  /** Returns the deleted channel's name. */
  async deleteChannel(id: string): Promise<{ name: string }> {
    const { db, notifications } = this.deps;
    const row = await db.notificationChannel.findUnique({ where: { id }, select: { name: true } });
    if (!row) throw ServiceError.notFound("Channel");
    await db.notificationChannel.delete({ where: { id } });
    notifications.invalidateRules();
    return row;
  }

  // ---- rules ------------------------------------------------------------------------------------------------------

  async listRules(): Promise<RuleView[]> {
    const rows = await this.deps.db.notificationRule.findMany({ include: ruleInclude, orderBy: { name: "asc" } });
    return rows.map((r) => ruleView(r));
  }

  async createRule(input: RuleInput, createdBy: string): Promise<RuleView> {
    const scope = input.scope ?? "fleet";
    const columns = await this.checked({ ...input, scope }, input.channelIds);
    const created = await this.deps.db.notificationRule
      .create({
        data: {
          name: input.name,
          trigger: input.trigger,
          scope,
          ...columns,
          forSeconds: input.forSeconds ?? null,
          enabled: input.enabled ?? true,
          createdBy,
          channels: { create: [...new Set(input.channelIds)].map((channelId) => ({ channelId })) },
        },
        select: { id: true },
      })
      .catch(conflictOnName("rule", input.name));
    // Read back outside the write: Prisma runs the reads of an `include` in parallel, which a transaction's single
    // connection would have to queue.
    const row = await this.read(created.id);
    this.deps.notifications.invalidateRules();
    return ruleView(row);
  }

  /** A rule that changes what it watches, or is disabled, starts afresh: its open notifications end. */
  async updateRule(input: Partial<RuleInput> & { id: string }): Promise<RuleView> {
    const { db, notifications } = this.deps;
    const before = await db.notificationRule.findUnique({ where: { id: input.id }, include: { channels: { select: { channelId: true } } } });
    if (!before) throw ServiceError.notFound("Rule");
    const merged = {
      trigger: input.trigger ?? before.trigger,
      scope: input.scope ?? before.scope,
      gatewayId: input.gatewayId === undefined ? before.gatewayId : input.gatewayId,
      boardId: input.boardId === undefined ? before.boardId : input.boardId,
      thresholdSeconds: input.thresholdSeconds === undefined ? before.thresholdSeconds : input.thresholdSeconds,
    };
    const columns = await this.checked(merged, input.channelIds ?? before.channels.map((c) => c.channelId));
    await db
      .$transaction(async (tx) => {
        if (input.channelIds) {
          await tx.notificationRuleChannel.deleteMany({ where: { ruleId: input.id } });
          await tx.notificationRuleChannel.createMany({ data: [...new Set(input.channelIds)].map((channelId) => ({ ruleId: input.id, channelId })) });
        }
        return tx.notificationRule.update({
          where: { id: input.id },
          data: {
            name: input.name,
            trigger: merged.trigger,
            scope: merged.scope,
            ...columns,
            forSeconds: input.forSeconds === undefined ? undefined : input.forSeconds,
            enabled: input.enabled,
          },
          select: { id: true },
        });
      })
      .catch(conflictOnName("rule", input.name ?? ""));
    const row = await this.read(input.id);
    if (row.trigger !== before.trigger || row.scope !== before.scope || row.enabled === false || columns.gatewayId !== before.gatewayId || columns.boardId !== before.boardId) {
      await notifications.closeRule(row.id);
    }
    notifications.invalidateRules();
    return ruleView(row);
  }

  /** Its open notifications end silently. Returns the deleted rule's name. */
  async deleteRule(id: string): Promise<{ name: string }> {
    const { db, notifications } = this.deps;
    const row = await db.notificationRule.findUnique({ where: { id }, select: { name: true } });
    if (!row) throw ServiceError.notFound("Rule");
    await notifications.closeRule(id);
    await db.notificationRule.delete({ where: { id } });
    return row;
  }

  /** Silences a rule's deliveries for a while (its notifications are still recorded); 0 minutes unmutes. */
  async mute(id: string, minutes: number, by: string): Promise<RuleView> {
    const { db, notifications } = this.deps;
    if (!(await db.notificationRule.findUnique({ where: { id }, select: { id: true } }))) throw ServiceError.notFound("Rule");
    const until = minutes > 0 ? new Date(Date.now() + minutes * 60_000) : null;
    await db.notificationRule.update({ where: { id }, data: { mutedUntil: until, mutedBy: until ? by : null }, select: { id: true } });
    const row = await this.read(id);
    notifications.invalidateRules();
    return ruleView(row);
  }

  private read(id: string): Promise<RuleRow> {
    return this.deps.db.notificationRule.findUniqueOrThrow({ where: { id }, include: ruleInclude });
  }

  /** The columns of a consistent rule: its scope target exists, fleet-only triggers stay fleet-wide. */
  private async checked(r: RuleShape, channelIds: string[]) {
    const { db } = this.deps;
    if (FLEET_ONLY_TRIGGERS.includes(r.trigger) && r.scope !== "fleet") {
      throw new ServiceError("invalid", `${r.trigger} concerns the whole installation: use the fleet scope`);
    }
    let gatewayId: string | null = null;
    let boardId: string | null = null;
    if (r.scope === "gateway") {
      if (!r.gatewayId) throw new ServiceError("invalid", "A gateway-scoped rule needs a gateway");
      if (!(await db.gateway.findUnique({ where: { id: r.gatewayId }, select: { id: true } }))) throw ServiceError.notFound("Gateway");
      gatewayId = r.gatewayId;
    }
    if (r.scope === "board") {
      if (!r.boardId) throw new ServiceError("invalid", "A board-scoped rule needs a board");
      if (!(await db.board.findUnique({ where: { id: r.boardId }, select: { id: true } }))) throw ServiceError.notFound("Board");
      boardId = r.boardId;
    }
    const found = await db.notificationChannel.count({ where: { id: { in: channelIds } } });
    if (found !== new Set(channelIds).size) throw ServiceError.notFound("Channel");
    const thresholdSeconds = r.trigger === "reconcile_lag" ? (r.thresholdSeconds ?? 10) : null;
    return { gatewayId, boardId, thresholdSeconds };
  }
}
