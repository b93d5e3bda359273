// Notifications (docs/ops/notifications.md): channels and rules (admins), mute (operators, during an incident), the
// log with delivery status (everyone), acknowledge (operators) and "send test". A channel's URL and signing secret
// are write-only: a read returns the URL's scheme and host only, and a generated secret is returned once.
import { z } from "zod";
import { TRPCError } from "@trpc/server";
import type { Prisma } from "../../db/prisma";
import { newSecret } from "../../auth/principal";
import { sealSecret } from "../../secrets/crypto";
import { urlHint } from "../../notifications/channels";
import { FLEET_ONLY_TRIGGERS, TRIGGERS } from "../../notifications/triggers";
import { actorOf, adminProcedure, audit, notFound, operatorProcedure, router, viewerProcedure } from "../init";
import type { Context } from "../init";
import { id } from "../../../lib/contract/schemas";
import { NotificationChannelKind, NotificationScope, NotificationState } from "../../../lib/contract/enums";

const name = z
  .string()
  .trim()
  .min(1)
  .max(80)
  .regex(/^[\p{L}\p{N} ._#:/()-]+$/u, "letters, digits, spaces and . _ # : / ( ) - only");
const channelUrl = z
  .string()
  .trim()
  .max(2000)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), "URL must use http or https")
  .refine((u) => !new URL(u).username && !new URL(u).password, "No credentials in the URL");
const signingSecret = z.string().min(16, "at least 16 characters").max(200);

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

const ruleFields = z.object({
  name,
  trigger: z.enum(TRIGGERS),
  /** fleet (the default), a gateway, or a board. */
  scope: z.enum(NotificationScope).optional(),
  gatewayId: id.nullish(),
  boardId: id.nullish(),
  thresholdSeconds: z.number().int().min(1).max(86_400).nullish(),
  forSeconds: z.number().int().min(0).max(86_400).nullish(),
  channelIds: z.array(id).min(1, "choose at least one channel").max(20),
  enabled: z.boolean().optional(),
});

const ruleInclude = {
  channels: { select: { channel: { select: { id: true, name: true, kind: true, enabled: true } } } },
  gateway: { select: { name: true } },
  board: { select: { name: true } },
} satisfies Prisma.NotificationRuleInclude;

type RuleRow = Prisma.NotificationRuleGetPayload<{ include: typeof ruleInclude }>;

async function readRule(ctx: { app: Context["app"] }, id: string): Promise<RuleRow> {
  return ctx.app.db.notificationRule.findUniqueOrThrow({ where: { id }, include: ruleInclude });
}

function ruleView({ channels, gateway, board, ...r }: RuleRow, now = new Date()) {
  return {
    ...r,
    muted: r.mutedUntil !== null && r.mutedUntil > now,
    channels: channels.map((c) => c.channel),
    gatewayName: gateway?.name ?? null,
    boardName: board?.name ?? null,
  };
}

interface RuleShape {
  trigger: (typeof TRIGGERS)[number];
  scope: "fleet" | "gateway" | "board";
  gatewayId?: string | null;
  boardId?: string | null;
  thresholdSeconds?: number | null;
}

/** The columns of a consistent rule: its scope target exists, fleet-only triggers stay fleet-wide. */
async function checkedRule(ctx: { app: Context["app"] }, r: RuleShape, channelIds: string[]) {
  if (FLEET_ONLY_TRIGGERS.includes(r.trigger) && r.scope !== "fleet") {
    throw new TRPCError({ code: "BAD_REQUEST", message: `${r.trigger} concerns the whole installation: use the fleet scope` });
  }
  let gatewayId: string | null = null;
  let boardId: string | null = null;
  if (r.scope === "gateway") {
    if (!r.gatewayId) throw new TRPCError({ code: "BAD_REQUEST", message: "A gateway-scoped rule needs a gateway" });
    if (!(await ctx.app.db.gateway.findUnique({ where: { id: r.gatewayId }, select: { id: true } }))) notFound("Gateway");
    gatewayId = r.gatewayId;
  }
  if (r.scope === "board") {
    if (!r.boardId) throw new TRPCError({ code: "BAD_REQUEST", message: "A board-scoped rule needs a board" });
    if (!(await ctx.app.db.board.findUnique({ where: { id: r.boardId }, select: { id: true } }))) notFound("Board");
    boardId = r.boardId;
  }
  const found = await ctx.app.db.notificationChannel.count({ where: { id: { in: channelIds } } });
  if (found !== new Set(channelIds).size) notFound("Channel");
  const thresholdSeconds = r.trigger === "reconcile_lag" ? (r.thresholdSeconds ?? 10) : null;
  return { gatewayId, boardId, thresholdSeconds };
}

function conflictOnName<T>(what: string, value: string) {
  return (err: unknown): T => {
    if ((err as { code?: string }).code === "P2002") throw new TRPCError({ code: "CONFLICT", message: `A ${what} named ${value} already exists` });
    throw err;
  };
}

export const notificationsRouter = router({
  // ---- channels ---------------------------------------------------------------------------------------------------

  listChannels: adminProcedure.query(async ({ ctx }) => {
    const rows = await ctx.app.db.notificationChannel.findMany({ select: channelSelect, orderBy: { name: "asc" } });
    return rows.map(channelView);
  }),

  /** A webhook channel without a signing secret gets a generated one, returned here once. */
  createChannel: adminProcedure
    .input(z.object({ name, kind: z.enum(NotificationChannelKind), url: channelUrl, signingSecret: signingSecret.optional() }).strict())
    .mutation(async ({ ctx, input }) => {
      if (input.kind === "slack" && input.signingSecret) throw new TRPCError({ code: "BAD_REQUEST", message: "Slack webhooks are not signed: leave the signing secret empty" });
      const generated = input.kind === "webhook" && !input.signingSecret ? newSecret("mcwh") : undefined;
      const row = await ctx.app.db.notificationChannel
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
        .catch(conflictOnName<never>("channel", input.name));
      await audit(ctx, `created notification channel (${row.kind})`, { name: row.name });
      return { ...channelView(row), signingSecret: generated };
    }),

  updateChannel: adminProcedure
    .input(
      z
        .object({
          id,
          name: name.optional(),
          url: channelUrl.optional(),
          enabled: z.boolean().optional(),
          /** Replace the signing secret: with this value, or with a generated one (returned once) when true. */
          signingSecret: z.union([signingSecret, z.literal(true)]).optional(),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      const before = await ctx.app.db.notificationChannel.findUnique({ where: { id: input.id }, select: { kind: true } });
      if (!before) notFound("Channel");
      if (before.kind === "slack" && input.signingSecret) throw new TRPCError({ code: "BAD_REQUEST", message: "Slack webhooks are not signed" });
      const generated = input.signingSecret === true ? newSecret("mcwh") : undefined;
      const secret = generated ?? (typeof input.signingSecret === "string" ? input.signingSecret : undefined);
      const row = await ctx.app.db.notificationChannel
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
        .catch(conflictOnName<never>("channel", input.name ?? ""));
      ctx.app.notifications.invalidateRules();
      const changed = Object.keys(input).filter((k) => k !== "id");
      await audit(ctx, `updated notification channel (${changed.join(", ") || "no change"})`, { name: row.name });
      return { ...channelView(row), signingSecret: generated };
    }),

  deleteChannel: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const row = await ctx.app.db.notificationChannel.findUnique({ where: { id: input.id }, select: { name: true } });
    if (!row) notFound("Channel");
    await ctx.app.db.notificationChannel.delete({ where: { id: input.id } });
    ctx.app.notifications.invalidateRules();
    await audit(ctx, "deleted notification channel", { name: row.name });
    return { id: input.id };
  }),

  testChannel: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const sent = await ctx.app.notifications.sendTest({ channelId: input.id }, actorOf(ctx.principal));
    if (!sent) notFound("Channel");
    await audit(ctx, "sent a test notification to channel", { name: input.id });
    return sent;
  }),

  // ---- rules ------------------------------------------------------------------------------------------------------

  listRules: viewerProcedure.query(async ({ ctx }) => {
    const rows = await ctx.app.db.notificationRule.findMany({ include: ruleInclude, orderBy: { name: "asc" } });
    return rows.map((r) => ruleView(r));
  }),

  createRule: adminProcedure.input(ruleFields.strict()).mutation(async ({ ctx, input }) => {
    const scope = await checkedRule(ctx, { ...input, scope: input.scope ?? "fleet" }, input.channelIds);
    const created = await ctx.app.db.notificationRule
      .create({
        data: {
          name: input.name,
          trigger: input.trigger,
          scope: input.scope ?? "fleet",
          ...scope,
          forSeconds: input.forSeconds ?? null,
          enabled: input.enabled ?? true,
          createdBy: actorOf(ctx.principal),
          channels: { create: [...new Set(input.channelIds)].map((channelId) => ({ channelId })) },
        },
        select: { id: true },
      })
      .catch(conflictOnName<never>("rule", input.name));
    // Read back outside the write: Prisma runs the reads of an `include` in parallel, which a transaction's single
    // connection would have to queue.
    const row = await readRule(ctx, created.id);
    ctx.app.notifications.invalidateRules();
    await audit(ctx, `created notification rule (${row.trigger}, ${row.scope})`, { gatewayId: row.gatewayId ?? undefined, boardId: row.boardId ?? undefined, name: row.name });
    return ruleView(row);
  }),

  updateRule: adminProcedure
    .input(ruleFields.partial().extend({ id }).strict())
    .mutation(async ({ ctx, input }) => {
      const before = await ctx.app.db.notificationRule.findUnique({ where: { id: input.id }, include: { channels: { select: { channelId: true } } } });
      if (!before) notFound("Rule");
      const merged = {
        trigger: input.trigger ?? before.trigger,
        scope: input.scope ?? before.scope,
        gatewayId: input.gatewayId === undefined ? before.gatewayId : input.gatewayId,
        boardId: input.boardId === undefined ? before.boardId : input.boardId,
        thresholdSeconds: input.thresholdSeconds === undefined ? before.thresholdSeconds : input.thresholdSeconds,
      };
      const channelIds = input.channelIds ?? before.channels.map((c) => c.channelId);
      const scope = await checkedRule(ctx, merged, channelIds);
      await ctx.app.db
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
              ...scope,
              forSeconds: input.forSeconds === undefined ? undefined : input.forSeconds,
              enabled: input.enabled,
            },
            select: { id: true },
          });
        })
        .catch(conflictOnName<never>("rule", input.name ?? ""));
      const row = await readRule(ctx, input.id);
      // A rule that changed what it watches, or was disabled, starts afresh.
      if (row.trigger !== before.trigger || row.scope !== before.scope || row.enabled === false || scope.gatewayId !== before.gatewayId || scope.boardId !== before.boardId) {
        await ctx.app.notifications.closeRule(row.id);
      }
      ctx.app.notifications.invalidateRules();
      const changed = Object.keys(input).filter((k) => k !== "id");
      await audit(ctx, `updated notification rule (${changed.join(", ") || "no change"})`, { name: row.name });
      return ruleView(row);
    }),

  deleteRule: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const row = await ctx.app.db.notificationRule.findUnique({ where: { id: input.id }, select: { name: true } });
    if (!row) notFound("Rule");
    await ctx.app.notifications.closeRule(input.id);
    await ctx.app.db.notificationRule.delete({ where: { id: input.id } });
    await audit(ctx, "deleted notification rule", { name: row.name });
    return { id: input.id };
  }),

  /** Silences a rule's deliveries for a while (its notifications are still recorded); 0 minutes unmutes. */
  muteRule: operatorProcedure
    .input(z.object({ id, minutes: z.number().int().min(0).max(7 * 24 * 60) }).strict())
    .mutation(async ({ ctx, input }) => {
      if (!(await ctx.app.db.notificationRule.findUnique({ where: { id: input.id }, select: { id: true } }))) notFound("Rule");
      const actor = actorOf(ctx.principal);
      const until = input.minutes > 0 ? new Date(Date.now() + input.minutes * 60_000) : null;
      await ctx.app.db.notificationRule.update({ where: { id: input.id }, data: { mutedUntil: until, mutedBy: until ? actor : null }, select: { id: true } });
      const row = await readRule(ctx, input.id);
      ctx.app.notifications.invalidateRules();
      await audit(ctx, until ? `muted notification rule for ${input.minutes} min` : "unmuted notification rule", { name: row.name });
      return ruleView(row);
    }),

  testRule: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const sent = await ctx.app.notifications.sendTest({ ruleId: input.id }, actorOf(ctx.principal));
    if (!sent) notFound("Rule");
    const rule = await ctx.app.db.notificationRule.findUnique({ where: { id: input.id }, select: { name: true } });
    await audit(ctx, "sent a test notification for rule", { name: rule?.name });
    return sent;
  }),

  // ---- the log ----------------------------------------------------------------------------------------------------

  list: viewerProcedure
    .input(
      z
        .object({
          state: z.enum(NotificationState).optional(),
          /** Cursor: notifications opened before this one (its openedAt and id, from the previous page). */
          before: z.date().optional(),
          limit: z.number().int().min(1).max(200).default(50),
        })
        .strict()
        .optional(),
    )
    .query(async ({ ctx, input }) => {
      const rows = await ctx.app.db.notification.findMany({
        where: { state: input?.state, openedAt: input?.before ? { lt: input.before } : undefined },
        orderBy: [{ openedAt: "desc" }, { id: "desc" }],
        take: input?.limit ?? 50,
        include: {
          deliveries: {
            orderBy: { createdAt: "asc" },
            select: { id: true, channelName: true, kind: true, status: true, attempts: true, lastError: true, responseStatus: true, createdAt: true, sendAfter: true, deliveredAt: true },
          },
        },
      });
      return rows.map(({ openKey: _openKey, details, ...n }) => ({ ...n, details: (details ?? {}) as Record<string, unknown> }));
    }),

  acknowledge: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const row = await ctx.app.db.notification.findUnique({ where: { id: input.id }, select: { title: true, gatewayId: true, agentId: true, acknowledgedBy: true, state: true } });
    if (!row) notFound("Notification");
    if (row.state === "test") throw new TRPCError({ code: "BAD_REQUEST", message: "A test notification needs no acknowledgement" });
    if (row.acknowledgedBy) throw new TRPCError({ code: "CONFLICT", message: `Already acknowledged by ${row.acknowledgedBy}` });
    await ctx.app.notifications.acknowledge(input.id, actorOf(ctx.principal));
    await audit(ctx, "acknowledged notification", { gatewayId: row.gatewayId ?? undefined, agentId: row.agentId ?? undefined, name: row.title });
    return { id: input.id, acknowledgedBy: actorOf(ctx.principal) };
  }),
});
