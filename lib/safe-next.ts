/**
 * The `next` parameter of the login page, accepted only as a same-origin relative path ("/agents/x?y=1").
 * Anything else (absolute URLs, protocol-relative `//host`, backslash tricks, javascript:) falls back to "/".
 */
export function safeNextPath(next: string | null | undefined, origin = "http://mission-control.invalid"): string {
  if (!next || typeof next !== "string") return "/";
  if (!next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\") || [...next].some((c) => c.charCodeAt(0) < 0x20)) return "/";
  try {
    const url = new URL(next, origin);
    if (url.origin !== new URL(origin).origin) return "/";
    const path = `${url.pathname}${url.search}${url.hash}`;
    if (url.pathname === "/login" || url.pathname.startsWith("/login/")) return "/";
    return path;
  } catch {
    return "/";
  }
}
