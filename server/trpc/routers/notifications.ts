// Notifications (docs/ops/README.md, Notifications): channels and rules (admins), mute (operators, during an incident), the
// log with delivery status (everyone), acknowledge (operators) and "send test". A channel's URL and signing secret
// are write-only: a read returns the URL's scheme and host only, and a generated secret is returned once.
import { z } from "zod";
import { TRIGGERS } from "../../notifications/triggers";
import { actorOf, adminProcedure, audit, notFound, operatorProcedure, router, viewerProcedure } from "../init";
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

export const notificationsRouter = router({
  // ---- channels ---------------------------------------------------------------------------------------------------

  listChannels: adminProcedure.query(({ ctx }) => ctx.app.notificationRules.listChannels()),

  /** A webhook channel without a signing secret gets a generated one, returned here once. */
  createChannel: adminProcedure
    .input(z.object({ name, kind: z.enum(NotificationChannelKind), url: channelUrl, signingSecret: signingSecret.optional() }).strict())
    .mutation(async ({ ctx, input }) => {
      const channel = await ctx.app.notificationRules.createChannel(input);
      await audit(ctx, `created notification channel (${channel.kind})`, { name: channel.name });
      return channel;
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
      const channel = await ctx.app.notificationRules.updateChannel(input);
      const changed = Object.keys(input).filter((k) => k !== "id");
      await audit(ctx, `updated notification channel (${changed.join(", ") || "no change"})`, { name: channel.name });
      return channel;
    }),

  deleteChannel: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const { name } = await ctx.app.notificationRules.deleteChannel(input.id);
    await audit(ctx, "deleted notification channel", { name });
    return { id: input.id };
  }),

  testChannel: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const sent = await ctx.app.notifications.sendTest({ channelId: input.id }, actorOf(ctx.principal));
    if (!sent) notFound("Channel");
    await audit(ctx, "sent a test notification to channel", { name: input.id });
    return sent;
  }),

  // ---- rules ------------------------------------------------------------------------------------------------------

  listRules: viewerProcedure.query(({ ctx }) => ctx.app.notificationRules.listRules()),

  createRule: adminProcedure.input(ruleFields.strict()).mutation(async ({ ctx, input }) => {
    const rule = await ctx.app.notificationRules.createRule(input, actorOf(ctx.principal));
    await audit(ctx, `created notification rule (${rule.trigger}, ${rule.scope})`, { gatewayId: rule.gatewayId ?? undefined, boardId: rule.boardId ?? undefined, name: rule.name });
    return rule;
  }),

  updateRule: adminProcedure
    .input(ruleFields.partial().extend({ id }).strict())
    .mutation(async ({ ctx, input }) => {
      const rule = await ctx.app.notificationRules.updateRule(input);
      const changed = Object.keys(input).filter((k) => k !== "id");
      await audit(ctx, `updated notification rule (${changed.join(", ") || "no change"})`, { name: rule.name });
      return rule;
    }),

  deleteRule: adminProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const { name } = await ctx.app.notificationRules.deleteRule(input.id);
    await audit(ctx, "deleted notification rule", { name });
    return { id: input.id };
  }),

  /** Silences a rule's deliveries for a while (its notifications are still recorded); 0 minutes unmutes. */
  muteRule: operatorProcedure
    .input(z.object({ id, minutes: z.number().int().min(0).max(7 * 24 * 60) }).strict())
    .mutation(async ({ ctx, input }) => {
      const rule = await ctx.app.notificationRules.mute(input.id, input.minutes, actorOf(ctx.principal));
      await audit(ctx, rule.mutedUntil ? `muted notification rule for ${input.minutes} min` : "unmuted notification rule", { name: rule.name });
      return rule;
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
    .query(({ ctx, input }) => ctx.app.notifications.log(input ?? {})),

  acknowledge: operatorProcedure.input(z.object({ id }).strict()).mutation(async ({ ctx, input }) => {
    const actor = actorOf(ctx.principal);
    const row = await ctx.app.notifications.acknowledge(input.id, actor);
    await audit(ctx, "acknowledged notification", { gatewayId: row.gatewayId ?? undefined, agentId: row.agentId ?? undefined, name: row.title });
    return { id: input.id, acknowledgedBy: actor };
  }),
});
