// Authenticates agent calls (heartbeat, healthz) with O(1) work: the token names its agent, so one primary-key read
// and a constant-time hash comparison decide. Rejections are counted per agent: a token mismatch is the most common
// reason an agent "never checks in".
import type { Db } from "../db/prisma";
import type { EventBus } from "../events/bus";
import { checkAgentToken, parseAgentToken } from "../agent-model/tokens";
import type { HeartbeatCredential } from "../lifecycle/policy";
import { metrics } from "../platform/metrics";

export type AgentAuthResult =
  | { ok: true; agentId: string; credential: HeartbeatCredential; secretHash: string }
  | { ok: false; agentId: string | null; reason: "missing" | "malformed" | "unknown_agent" | "mismatch" | "expired" | "revoked" | "no_token" };

/** Rejections of one agent are stored as an event at most this often; every one is still counted. */
const REJECTION_EVENT_INTERVAL_MS = 60_000;

export function agentTokenFromHeaders(headers: { "x-agent-token"?: string | string[]; authorization?: string }): string | null {
  const direct = headers["x-agent-token"];
  if (typeof direct === "string" && direct.length > 0) return direct.trim();
  const match = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? "");
  return match ? match[1] : null;
}

export class AgentAuthenticator {
  constructor(
    private readonly db: Db,
    private readonly events: EventBus,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async authenticate(token: string | null): Promise<AgentAuthResult> {
    if (!token) return { ok: false, agentId: null, reason: "missing" };
    const parsed = parseAgentToken(token);
    if (!parsed) return { ok: false, agentId: null, reason: "malformed" };
    const stored = await this.db.agent.findUnique({
      where: { id: parsed.agentId },
      select: {
        tokenHash: true,
        tokenGeneration: true,
        pendingTokenHash: true,
        pendingTokenGeneration: true,
        previousTokenHash: true,
        previousTokenExpiresAt: true,
      },
    });
    if (!stored) return { ok: false, agentId: null, reason: "unknown_agent" };
    const check = checkAgentToken(parsed.secretHash, stored, this.clock());
    return check.ok
      ? { ok: true, agentId: parsed.agentId, credential: { slot: check.slot, generation: check.generation }, secretHash: parsed.secretHash }
      : { ok: false, agentId: parsed.agentId, reason: check.reason };
  }

  async recordRejection(result: Extract<AgentAuthResult, { ok: false }>, remoteAddress: string | undefined): Promise<void> {
    metrics.heartbeatsRejected.inc({ reason: result.reason });
    if (!result.agentId) return;
    const now = this.clock();
    const before = await this.db.agent.findUnique({
      where: { id: result.agentId },
      select: { lastRejectedAt: true, lastRejectedReason: true, gatewayId: true, boardId: true, lifecycleGeneration: true },
    });
    if (!before) return;
    const after = await this.db.agent.update({
      where: { id: result.agentId },
      data: { heartbeatsRejected: { increment: 1 }, lastRejectedAt: now, lastRejectedReason: result.reason },
      select: { heartbeatsRejected: true },
    });
    // A new reason is always an event; the same reason again at most once a minute.
    const sameReason = before.lastRejectedReason === result.reason;
    if (sameReason && before.lastRejectedAt && now.getTime() - before.lastRejectedAt.getTime() < REJECTION_EVENT_INTERVAL_MS) return;
    await this.events.emit({
      event: "agent.heartbeat.rejected",
      agentId: result.agentId,
      gatewayId: before.gatewayId,
      boardId: before.boardId,
      generation: before.lifecycleGeneration,
      message: `Heartbeat rejected: ${rejectionText(result.reason)}`,
      data: { reason: result.reason, rejectedTotal: after.heartbeatsRejected, remoteAddress },
    });
  }
}

export function rejectionText(reason: string): string {
  switch (reason) {
    case "mismatch":
      return "token does not match the agent's current token (stale templates or wrong token)";
    case "expired":
      return "previous token used after its overlap window ended";
    case "revoked":
      return "token was revoked by an operator; Rotate token or Reprovision issues a new one";
    case "no_token":
      return "agent has no token yet (never provisioned)";
    default:
      return reason;
  }
}
