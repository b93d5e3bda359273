// What went wrong, in words an operator can act on. Real gateways answer with an error code, a message and often a
// machine-readable `details.code` (PROTOCOL_MISMATCH, AUTH_TOKEN_MISMATCH, PAIRING_REQUIRED, …); the detail code wins
// over the message, and the message texts are matched only where no code exists (e.g. "not found" arrives as
// INVALID_REQUEST). Every text that leaves this module has the gateway token and the device key removed.
import { GatewayCallError } from "../types";
import { OPERATOR_SCOPES, PROTOCOL_MAX, PROTOCOL_MIN, type GatewayErrorShape } from "./protocol";

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|HOSTNAME|ALTNAME/i;

export const isMissingAgentText = (m: string) =>
  /unknown agent|no such agent|agent does not exist|agent .*not found|not found.*agent|no longer exists in configuration/i.test(m);
export const isAlreadyExistsText = (m: string) => /already exists/i.test(m);
export const isUnsupportedFileText = (m: string) => /unsupported file/i.test(m);
export const isConfigConflictText = (m: string) => /config changed since last load|base hash (required|mismatch)|stale/i.test(m);
/** OpenClaw refuses a config write that would shrink the config below half its size (a guard against lost configs). */
export const isConfigSizeGuardText = (m: string) => /config write rejected.*size-drop/i.test(m);
/** Deleting an agent's main session is refused by current gateways, and is moot once the agent is gone. */
export const isUndeletableSessionText = (m: string) =>
  /cannot delete the main session|database is unavailable while agent|not found|unknown session|no such session/i.test(m);

function detailsOf(error: GatewayErrorShape): Record<string, unknown> {
  return error.details && typeof error.details === "object" ? (error.details as Record<string, unknown>) : {};
}

/** Seconds (or ms) to wait from a retryable refusal: `retryAfterMs`, else "retry after Ns" in the message. */
export function retryAfterMsOf(error: GatewayErrorShape): number | null {
  if (typeof error.retryAfterMs === "number" && error.retryAfterMs >= 0) return error.retryAfterMs;
  const fromDetails = detailsOf(error).retryAfterMs;
  if (typeof fromDetails === "number" && fromDetails >= 0) return fromDetails;
  const seconds = /retry after (\d+(?:\.\d+)?)\s*s/i.exec(error.message ?? "")?.[1];
  return seconds ? Number(seconds) * 1000 : null;
}

export class ErrorText {
  constructor(
    private readonly gatewayName: string,
    private readonly host: string,
    private readonly secrets: () => (string | null | undefined)[],
  ) {}

  clean(text: string): string {
    let out = text;
    for (const s of this.secrets()) {
      if (s && s.length >= 4) out = out.split(s).join("[redacted]");
    }
    out = out.replace(/-----BEGIN [^-]*PRIVATE KEY-----[\s\S]*?(-----END [^-]*PRIVATE KEY-----|$)/g, "[redacted]");
    return out.length > 400 ? `${out.slice(0, 400)}…` : out;
  }

  transport(err: unknown): GatewayCallError {
    if (err instanceof GatewayCallError) return err;
    const e = err as Error & { code?: string };
    const code = e?.code ?? "";
    const message = String(e?.message ?? err);
    const status = /Unexpected server response: (\d+)/.exec(message)?.[1];
    if (status === "401" || status === "403") {
      return new GatewayCallError(
        `gateway refused authentication: HTTP ${status} on the WebSocket upgrade to ${this.host}; check the gateway token configured for ${this.gatewayName}`,
        "auth",
      );
    }
    if (status) return new GatewayCallError(`gateway unreachable: HTTP ${status} from ${this.host} instead of a WebSocket`, "unreachable");
    if (TLS_CODES.test(code) || /certificate/i.test(message)) {
      return new GatewayCallError(
        `gateway unreachable: the TLS certificate of ${this.host} is not trusted (${this.clean(code || message)}); install a ` +
          `trusted certificate, or enable "allow self-signed certificate" for ${this.gatewayName}`,
        "unreachable",
      );
    }
    return new GatewayCallError(`gateway unreachable: cannot reach ${this.host} (${this.clean(code || message)})`, "unreachable");
  }

  closed(code: number, reason: string, during: string): GatewayCallError {
    const why = this.clean(reason);
    const restart = code === 1012 ? ", the gateway is restarting" : "";
    return new GatewayCallError(
      `gateway unreachable: connection to ${this.host} closed during ${during} (code ${code}${why ? `: ${why}` : ""}${restart})`,
      "unreachable",
    );
  }

  timeout(what: string, ms: number): GatewayCallError {
    return new GatewayCallError(`gateway unreachable: ${what} on ${this.host} timed out after ${ms / 1000}s`, "timeout");
  }

  /** The gateway refused `connect`. */
  connectRejected(error: GatewayErrorShape, ctx: { deviceId?: string; platform?: string } = {}): GatewayCallError {
    const details = detailsOf(error);
    const detailCode = typeof details.code === "string" ? details.code : "";
    const msg = this.clean(error.message ?? error.code ?? "connect refused");
    const name = this.gatewayName;
    if (detailCode === "PROTOCOL_MISMATCH" || /protocol mismatch/i.test(msg)) {
      const expected = typeof details.expectedProtocol === "number" ? details.expectedProtocol : null;
      return new GatewayCallError(
        `incompatible gateway: ${name} speaks OpenClaw protocol ${expected ?? "(not stated)"}, Mission Control speaks ` +
          `${PROTOCOL_MIN}–${PROTOCOL_MAX} (${msg})`,
        "incompatible",
      );
    }
    if (detailCode === "PAIRING_REQUIRED" || error.code === "NOT_PAIRED" || /pairing required|not paired/i.test(msg)) {
      const requestId = typeof details.requestId === "string" ? details.requestId : undefined;
      const device = ctx.deviceId ? ` ${ctx.deviceId.slice(0, 16)}…` : "";
      const approve = requestId ? `openclaw devices approve ${requestId}` : "openclaw devices list, then openclaw devices approve <requestId>";
      return new GatewayCallError(
        `device not paired: gateway ${name} has not approved Mission Control's device${device} yet. On the gateway host run: ${approve}`,
        "auth",
        { pairingRequestId: requestId },
      );
    }
    if (/platform/i.test(msg) && /device/i.test(msg)) {
      return new GatewayCallError(
        `gateway refused authentication: ${msg}. The device was paired from another platform than this process ` +
          `(${ctx.platform ?? "unknown"}); run every Mission Control process on the same OS, or approve the device again`,
        "auth",
      );
    }
    const scope = /missing scope:?\s*([\w.]+)/i.exec(msg)?.[1];
    if (scope) {
      return new GatewayCallError(
        `gateway refused authentication: the gateway token of ${name} lacks the scope ${scope} (${msg}); use an operator ` +
          `token with the scopes ${OPERATOR_SCOPES.join(", ")}`,
        "auth",
      );
    }
    if (detailCode.startsWith("AUTH_") || detailCode.includes("DEVICE") || /unauthori[sz]ed|token mismatch|signature|device identity/i.test(msg)) {
      return new GatewayCallError(`gateway refused authentication: ${msg}. Check the gateway token configured for ${name}`, "auth");
    }
    return new GatewayCallError(`gateway rejected the connection: ${msg}`, "protocol");
  }

  /** The gateway refused a method call. */
  methodRejected(method: string, error: GatewayErrorShape): GatewayCallError {
    const msg = this.clean(error.message ?? error.code ?? "unknown error");
    const retryAfterMs = retryAfterMsOf(error);
    if (error.code === "UNAVAILABLE" && (error.retryable || retryAfterMs !== null)) {
      return new GatewayCallError(`gateway ${this.gatewayName} asked to retry ${method} later: ${msg}`, "rate_limited", {
        retryAfterMs: retryAfterMs ?? 1000,
      });
    }
    if (/missing scope|unauthori[sz]ed|forbidden/i.test(msg)) return this.connectRejected(error);
    if (isMissingAgentText(msg)) return new GatewayCallError(`agent not found on gateway ${this.gatewayName}: ${method}: ${msg}`, "not_found");
    return new GatewayCallError(`gateway rejected ${method}: ${msg}`, "protocol");
  }
}
