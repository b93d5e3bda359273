// Who is the client? The socket's peer address, unless that peer is a configured trusted proxy (TRUSTED_PROXIES): then
// X-Forwarded-For is walked from the right, skipping trusted proxies, and the first untrusted address is the client.
// A client can put anything in X-Forwarded-For; only the entries appended by our own proxies can be believed.
import { BlockList, isIP } from "node:net";
import type { IncomingMessage } from "node:http";

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(spec: string) {
    const entries = spec
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const entry of entries) {
      if (entry === "loopback") {
        this.list.addSubnet("127.0.0.0", 8, "ipv4");
        this.list.addAddress("::1", "ipv6");
        continue;
      }
      const [address, bits] = entry.split("/");
      const family = isIP(address);
      if (family === 0) throw new Error(`TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR range`);
      const type = family === 4 ? "ipv4" : "ipv6";
      if (bits === undefined) this.list.addAddress(address, type);
      else {
        const prefix = Number(bits);
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
          throw new Error(`TRUSTED_PROXIES: "${entry}" has an invalid prefix length`);
        }
        this.list.addSubnet(address, prefix, type);
      }
    }
    this.empty = entries.length === 0;
  }

  has(address: string | undefined): boolean {
    if (this.empty || !address) return false;
    const a = normalizeAddress(address);
    const family = isIP(a);
    if (family === 0) return false;
    return this.list.check(a, family === 4 ? "ipv4" : "ipv6");
  }
}

/** "::ffff:1.2.3.4" → "1.2.3.4"; strips brackets and ports that some proxies add to X-Forwarded-For entries. */
export function normalizeAddress(address: string): string {
  let a = address.trim();
  if (a.startsWith("[")) a = a.slice(1, a.indexOf("]") > 0 ? a.indexOf("]") : undefined);
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  if (a.toLowerCase().startsWith("::ffff:") && isIP(a.slice(7)) === 4) a = a.slice(7);
  return a;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

export interface ClientInfo {
  ip: string;
  https: boolean;
  /** The host the client addressed (Host, or X-Forwarded-Host from a trusted proxy), lower-case, with port. */
  host: string | null;
}

export function clientInfo(req: IncomingMessage, proxies: TrustedProxies): ClientInfo {
  const peer = normalizeAddress(req.socket.remoteAddress ?? "unknown");
  const direct = {
    ip: peer,
    https: (req.socket as { encrypted?: boolean }).encrypted === true,
    host: req.headers.host?.toLowerCase() ?? null,
  };
  if (!proxies.has(peer)) return direct;
  let ip = peer;
  const forwarded = (header(req, "x-forwarded-for") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (let i = forwarded.length - 1; i >= 0; i--) {
    const candidate = normalizeAddress(forwarded[i]);
    if (isIP(candidate) === 0) break; // garbage: stop believing anything further left
    ip = candidate;
    if (!proxies.has(candidate)) break;
  }
  const proto = header(req, "x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
  const host = header(req, "x-forwarded-host")?.split(",")[0]?.trim().toLowerCase();
  return { ip, https: proto ? proto === "https" : direct.https, host: host || direct.host };
}
