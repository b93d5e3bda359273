// The console's pages, in navigation order, with their keyboard shortcut ("g" then the key).
export interface NavLink {
  href: string;
  label: string;
  key: string;
  adminOnly?: boolean;
  match(pathname: string): boolean;
}

export const NAV_LINKS: NavLink[] = [
  { href: "/", label: "Board", key: "b", match: (p) => p === "/" || p.startsWith("/agents/") },
  { href: "/gateways", label: "Gateways", key: "g", match: (p) => p === "/gateways" || p.startsWith("/gateways/") },
  { href: "/timeline", label: "Timeline", key: "t", match: (p) => p === "/timeline" },
  { href: "/system", label: "System", key: "s", match: (p) => p === "/system" },
  { href: "/notifications", label: "Notifications", key: "n", match: (p) => p.startsWith("/notifications") },
  { href: "/operators", label: "Operators", key: "o", adminOnly: true, match: (p) => p.startsWith("/operators") },
  { href: "/tokens", label: "Tokens", key: "k", adminOnly: true, match: (p) => p.startsWith("/tokens") },
];
