// The OpenClaw gateway protocol, versions 3 (OpenClaw 2026.4) and 4 (2026.6 and later): frames, the device-signature
// payload and CalVer versions. Shared by the driver and the fake gateway of the test suite. What real gateways answer is
// described in docs/openclaw.md and kept honest by the interop suite (test/interop).
import { createHash, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import os from "node:os";
import { DEFAULT_OPENCLAW_MIN_VERSION } from "../../platform/config";

/** The protocol range Mission Control offers at `connect`; the gateway's hello says which one it chose. */
export const PROTOCOL_MIN = 3;
export const PROTOCOL_MAX = 4;
export const OPERATOR_ROLE = "operator";
export const OPERATOR_SCOPES = ["operator.read", "operator.admin", "operator.approvals", "operator.pairing"] as const;
export const CLIENT_VERSION = "1.0.0";
/** Mission Control connects as a backend client with a device identity (a paired device once remote). */
export const BACKEND_CLIENT = { id: "gateway-client", mode: "backend" } as const;
/** OPENCLAW_MIN_VERSION's default (server/platform/config.ts). */
export const DEFAULT_MIN_VERSION = DEFAULT_OPENCLAW_MIN_VERSION;
/** What provisioning, waking and deleting need; a gateway whose hello lists methods without one of them is incompatible. */
export const REQUIRED_METHODS = [
  "agents.create",
  "agents.update",
  "agents.delete",
  "agents.files.get",
  "agents.files.set",
  "config.get",
  "config.patch",
  "sessions.reset",
  "sessions.patch",
  "chat.send",
] as const;

export interface RequestFrame {
  type: "req";
  id: string;
  method: string;
  params: unknown;
}

export interface ResponseFrame {
  type: "res";
  id: string;
  ok: boolean;
  payload?: unknown;
  error?: GatewayErrorShape;
}

export interface GatewayErrorShape {
  code?: string;
  message?: string;
  details?: unknown;
  /** Set on transient refusals (rate limits, start-up): the request may be sent again after `retryAfterMs`. */
  retryable?: boolean;
  retryAfterMs?: number;
}

export interface EventFrame {
  type: "event";
  event: string;
  payload?: unknown;
}

export interface DeviceProof {
  id: string;
  publicKey: string;
  signature: string;
  signedAt: number;
  nonce?: string;
}

export interface ConnectParams {
  minProtocol: number;
  maxProtocol: number;
  role: string;
  scopes: string[];
  client: { id: string; version: string; platform: string; mode: string };
  device?: DeviceProof;
  auth?: { token?: string; deviceToken?: string };
}

/** Parses one frame; null for anything that is not a JSON object with a known `type` (legacy responses included). */
export function parseFrame(text: string): ResponseFrame | EventFrame | RequestFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object") return null;
  const f = value as Record<string, unknown>;
  if (f.type === "event" && typeof f.event === "string") return f as unknown as EventFrame;
  if (f.type === "req" && typeof f.id === "string" && typeof f.method === "string") return f as unknown as RequestFrame;
  if (typeof f.id === "string" && (f.type === "res" || "result" in f || "error" in f)) {
    // Legacy form: any frame with the id carrying `error:{message}` or `result`.
    if (f.type !== "res") return { type: "res", id: f.id, ok: !f.error, payload: f.result, error: f.error as ResponseFrame["error"] };
    return f as unknown as ResponseFrame;
  }
  return null;
}

/** The host OS as the gateway pins it at pairing time: linux | darwin | windows (never a language name). */
export function hostPlatform(platform: NodeJS.Platform = os.platform()): string {
  if (platform === "win32") return "windows";
  return platform;
}

/** `v2|deviceId|clientId|clientMode|role|scopes|signedAtMs|token|nonce`, or `v1|…` without the nonce when none was issued. */
export function deviceAuthPayload(p: {
  deviceId: string;
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  signedAtMs: number;
  token: string | null | undefined;
  nonce: string | null | undefined;
}): string {
  const base = [p.deviceId, p.clientId, p.clientMode, p.role, p.scopes.join(","), String(p.signedAtMs), p.token ?? ""];
  return p.nonce ? ["v2", ...base, p.nonce].join("|") : ["v1", ...base].join("|");
}

export function base64url(buf: Buffer): string {
  return buf.toString("base64url");
}

/** The raw 32-byte Ed25519 public key of a key object or PEM. */
export function rawEd25519PublicKey(key: KeyObject | string): Buffer {
  const object = typeof key === "string" ? createPublicKey(key) : key;
  const der = object.export({ format: "der", type: "spki" });
  // SPKI for Ed25519 = 12-byte prefix + 32-byte key.
  return Buffer.from(der.subarray(der.length - 32));
}

/** deviceId = SHA-256 hex of the raw public key. */
export function deviceIdOf(rawPublicKey: Buffer): string {
  return createHash("sha256").update(rawPublicKey).digest("hex");
}

export function signPayload(privateKey: KeyObject | string, payload: string): string {
  return base64url(sign(null, Buffer.from(payload, "utf8"), privateKey));
}

const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** Verifies a base64url signature with a base64url raw public key (what the gateway receives). */
export function verifyPayload(publicKeyB64url: string, payload: string, signatureB64url: string): boolean {
  try {
    const raw = Buffer.from(publicKeyB64url, "base64url");
    if (raw.length !== 32) return false;
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
    return verify(null, Buffer.from(payload, "utf8"), key, Buffer.from(signatureB64url, "base64url"));
  } catch {
    return false;
  }
}

// ---- versions ---------------------------------------------------------------------------------------------------

export interface CalVer {
  year: number;
  month: number;
  day: number;
  rev: number;
}

/** `[v]YYYY.M.D[-REV]`, month 1–12, day 1–31; null when not CalVer. */
export function parseCalVer(text: string | null | undefined): CalVer | null {
  const m = /^v?(\d{4})\.(\d{1,2})\.(\d{1,2})(?:-(\d+))?$/.exec((text ?? "").trim());
  if (!m) return null;
  const [year, month, day, rev] = [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ? Number(m[4]) : 0];
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  return { year, month, day, rev };
}

export function compareCalVer(a: CalVer, b: CalVer): number {
  return a.year - b.year || a.month - b.month || a.day - b.day || a.rev - b.rev;
}

/** Null when `version` is supported, else the reason (shown to operators). */
export function incompatibility(version: string | null, minimum: string): string | null {
  if (!version) return `unable to determine the gateway version (OpenClaw ${minimum} or later is required)`;
  const parsed = parseCalVer(version);
  if (!parsed) return `unsupported version format "${version.slice(0, 40)}" (OpenClaw ${minimum} or later is required)`;
  const min = parseCalVer(minimum);
  if (min && compareCalVer(parsed, min) < 0) return `gateway runs OpenClaw ${version}, below the minimum ${minimum}: upgrade the gateway`;
  return null;
}
