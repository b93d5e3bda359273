// Notification channels: what goes over the wire, and the one HTTP call per delivery.
//
// - webhook: `POST <url>` with a JSON body (docs/ops/README.md, Notifications), `X-MC-Signature: sha256=<hex
//   HMAC-SHA256 of the body keyed with the channel's signing secret>` (the same scheme as the HTTP gateway calls),
//   `X-MC-Event` and `X-MC-Delivery` (an id that stays the same across retries, for de-duplication).
// - slack: `POST <incoming webhook url>` with `{"text": …}` in Slack's mrkdwn, which Slack, Mattermost, Rocket.Chat
//   and others accept.
// Any 2xx is delivered; anything else, a timeout or a connection error is retried by the queue.
import { signBody } from "../drivers/http/driver";

export type ChannelKind = "webhook" | "slack";
export type DeliveryKind = "firing" | "resolved" | "test";

export interface NotificationMessage {
  id: string;
  deliveryId: string;
  kind: DeliveryKind;
  rule: { id: string; name: string; trigger: string } | null;
  title: string;
  summary: string;
  affectedAgents: number;
  gateway: { id: string; name: string } | null;
  agent: { id: string; name: string; lastProvisionError: string | null } | null;
  /** Offline agents of a grouped notification (at most 50). */
  agents: { id: string; name: string; error: string | null }[];
  /** The Diagnose verdict of the agent (or of the first affected agent). */
  diagnosis: string | null;
  /** The agent or gateway page (or System) in the console. */
  url: string;
  openedAt: Date;
  resolvedAt: Date | null;
  acknowledgedAt: Date | null;
  acknowledgedBy: string | null;
}

export function webhookBody(m: NotificationMessage, sentAt: Date): string {
  return JSON.stringify({
    type: `notification.${m.kind}`,
    id: m.id,
    deliveryId: m.deliveryId,
    state: m.kind,
    rule: m.rule,
    title: m.title,
    summary: m.summary,
    affectedAgents: m.affectedAgents,
    gateway: m.gateway,
    agent: m.agent,
    agents: m.agents,
    diagnosis: m.diagnosis,
    url: m.url,
    openedAt: m.openedAt.toISOString(),
    resolvedAt: m.resolvedAt?.toISOString() ?? null,
    acknowledgedAt: m.acknowledgedAt?.toISOString() ?? null,
    acknowledgedBy: m.acknowledgedBy,
    sentAt: sentAt.toISOString(),
  });
}

/** Slack's mrkdwn needs &, < and > escaped in text that is not a link. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function slackBody(m: NotificationMessage): string {
  const icon = m.kind === "resolved" ? ":large_green_circle:" : m.kind === "test" ? ":information_source:" : ":red_circle:";
  const prefix = m.kind === "resolved" ? "Resolved: " : "";
  const lines = [`${icon} *${escapeSlack(prefix + m.title)}*`];
  if (m.kind !== "resolved" && m.summary) lines.push(escapeSlack(m.summary));
  if (m.kind !== "resolved" && m.diagnosis) lines.push(`_Diagnose:_ ${escapeSlack(m.diagnosis)}`);
  if (m.acknowledgedBy) lines.push(`Acknowledged by ${escapeSlack(m.acknowledgedBy)}`);
  lines.push(`<${m.url}|Open in Mission Control>${m.rule ? ` · rule ${escapeSlack(m.rule.name)}` : ""}`);
  return JSON.stringify({ text: lines.join("\n") });
}

export interface ChannelTarget {
  kind: ChannelKind;
  url: string;
  signingSecret: string | null;
}

export interface SendResult {
  ok: boolean;
  status: number | null;
  error: string | null;
}

const MAX_ERROR_TEXT = 300;

export async function send(target: ChannelTarget, m: NotificationMessage, opts: { timeoutMs: number; userAgent: string; now?: Date }): Promise<SendResult> {
  const body = target.kind === "slack" ? slackBody(m) : webhookBody(m, opts.now ?? new Date());
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": opts.userAgent };
  if (target.kind === "webhook") {
    headers["x-mc-event"] = `notification.${m.kind}`;
    headers["x-mc-delivery"] = m.deliveryId;
    if (target.signingSecret) headers["x-mc-signature"] = signBody(body, target.signingSecret);
  }
  try {
    const res = await fetch(target.url, {
      method: "POST",
      headers,
      body,
      // A redirect would send the payload somewhere the admin did not configure.
      redirect: "manual",
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    const text = await res.text().catch(() => "");
    if (res.ok) return { ok: true, status: res.status, error: null };
    return { ok: false, status: res.status, error: `HTTP ${res.status}${text.trim() ? `: ${text.trim().slice(0, 200)}` : ""}`.slice(0, MAX_ERROR_TEXT) };
  } catch (err) {
    return { ok: false, status: null, error: transportError(err, target.url) };
  }
}

/** A transport error in words, without the URL's path or query (a Slack webhook URL is a credential). */
function transportError(err: unknown, url: string): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const host = urlHint(url);
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `timed out calling ${host}`;
  const code = e?.cause?.code ?? "";
  const text = code || e?.cause?.message || e?.message || String(err);
  return `could not reach ${host}: ${text}`.replace(url, host).slice(0, MAX_ERROR_TEXT);
}

/** Scheme, host and port of a URL: what the console shows of a channel's (secret) URL. */
export function urlHint(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "invalid URL";
  }
}
