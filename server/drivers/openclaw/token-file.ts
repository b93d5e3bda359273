// An OpenClaw agent has no environment of its own: the only way to hand it its Mission Control token is a file in its
// workspace. The token lives in a marked section at the end of AGENTS.md (a file every OpenClaw release accepts and
// every agent reads); the check-in instructions above it say where to find it. Template sync reads the section back
// only to compare it with the stored hash and rewrite it on drift: a token read from a file is never adopted.

export const TOKEN_FILE = "AGENTS.md";
export const TOKEN_MARKER = "<!-- mission-control:agent-token (written by Mission Control; do not edit) -->";
const TOKEN_LINE = /^ {4}MC_AGENT_TOKEN=(\S+)$/m;

/** `files` with the token section appended to AGENTS.md (any earlier section replaced). */
export function withTokenSection(files: Record<string, string>, token: string): Record<string, string> {
  const base = stripTokenSection(files[TOKEN_FILE] ?? "").replace(/\s*$/, "");
  const section =
    `${TOKEN_MARKER}\n## Your Mission Control agent token\n\n` +
    `    MC_AGENT_TOKEN=${token}\n\n` +
    "Send it as the `X-Agent-Token` header of every call to the heartbeat API (in the check-in command above,\n" +
    "`$MC_AGENT_TOKEN` stands for this value). Keep it secret: never copy it into other files or messages.\n";
  return { ...files, [TOKEN_FILE]: `${base}\n\n${section}` };
}

/** The token of the marked section, or null when the file has none. */
export function tokenFromFile(content: string | null): string | null {
  if (!content) return null;
  const at = content.indexOf(TOKEN_MARKER);
  if (at < 0) return null;
  return TOKEN_LINE.exec(content.slice(at))?.[1] ?? null;
}

export function stripTokenSection(content: string): string {
  const at = content.indexOf(TOKEN_MARKER);
  return at < 0 ? content : content.slice(0, at);
}

/** `agents.files.get` answers `{file: {content}}` (older gateways `{content}`). */
export function fileContent(result: unknown): string | null {
  if (typeof result === "string") return result;
  const r = result as { content?: unknown; file?: { content?: unknown; missing?: unknown } } | null;
  if (r?.file?.missing === true) return null;
  if (typeof r?.file?.content === "string") return r.file.content;
  if (typeof r?.content === "string") return r.content;
  return null;
}
