// Response headers every answer carries, and the CSRF rule for cookie-authenticated requests.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClientInfo } from "./client-ip";

const COMMON: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
};

/** APIs answer JSON or text: nothing in them may run, load or be framed. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const HOST = /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;

/**
 * The console's pages. Next.js streams its data as inline <script> blocks, so scripts allow 'self' plus inline (and
 * eval in development only); everything else is as tight as the console allows: no plugins, no foreign origins, no
 * framing, no <base> rewriting, forms post only here, and connections (fetch, Socket.IO) only to this origin.
 */
export function pageCsp(info: ClientInfo, dev: boolean): string {
  const ws = info.host && HOST.test(info.host) ? ` ws://${info.host} wss://${info.host}` : "";
  return [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${ws}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "worker-src 'self' blob:",
    "manifest-src 'self'",
  ].join("; ");
}

export function setSecurityHeaders(res: ServerResponse, info: ClientInfo, opts: { page: boolean; dev: boolean }): void {
  for (const [k, v] of Object.entries(COMMON)) res.setHeader(k, v);
  res.setHeader("content-security-policy", opts.page ? pageCsp(info, opts.dev) : API_CSP);
  if (info.https) res.setHeader("strict-transport-security", "max-age=31536000; includeSubDomains");
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function isUnsafeMethod(method: string | undefined): boolean {
  return !SAFE_METHODS.has((method ?? "GET").toUpperCase());
}

function hostOf(origin: string): string | null {
  try {
    const u = new URL(origin);
    return u.host.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * CSRF defence for requests that a browser authenticates with the session cookie (no change needed in the client):
 *  - Sec-Fetch-Site, when present (every current browser sends it), must be "same-origin";
 *  - otherwise Origin, when present, must name this server (the Host it was addressed as, or MC_BASE_URL);
 *  - a request with neither header did not come from a browser page (curl, scripts): nothing to forge.
 * Requests authenticated with `Authorization: Bearer` are exempt: a foreign page cannot set that header.
 */
export function sameOriginRequest(req: IncomingMessage, info: ClientInfo, baseUrl: string | undefined): boolean {
  const site = req.headers["sec-fetch-site"];
  if (typeof site === "string") return site === "same-origin";
  const origin = req.headers.origin;
  if (typeof origin !== "string") return true;
  const host = hostOf(origin);
  if (!host) return false; // "null" (sandboxed frames, file:) or garbage
  if (info.host && host === info.host) return true;
  if (baseUrl && hostOf(baseUrl) === host) return true;
  return false;
}
