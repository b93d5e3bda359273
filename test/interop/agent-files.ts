// Playing the agent: no model provider is reachable from the test machines, so the interop tests do what an OpenClaw
// agent would do after a wake. They read the files the real gateway wrote into the agent's workspace and follow the
// check-in instructions literally: the command of the "Check in with Mission Control" section, with $MC_AGENT_TOKEN
// replaced by the value the same file gives for it.
import fs from "node:fs";
import path from "node:path";

export interface CheckInInstructions {
  url: string;
  token: string;
}

export function readWorkspaceFile(workspace: string, name: string): string | null {
  const file = path.join(workspace, name);
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
}

/** The URL and token the file tells the agent to use, or null when it does not say (both are needed). */
export function checkInInstructions(agentsMd: string): CheckInInstructions | null {
  const command = /^\s*curl -fsS -X POST (\S+) -H "X-Agent-Token: \$MC_AGENT_TOKEN"\s*$/m.exec(agentsMd);
  const token = /^\s*MC_AGENT_TOKEN=(\S+)\s*$/m.exec(agentsMd);
  if (!command || !token) return null;
  return { url: command[1], token: token[1] };
}

/** `curl -fsS -X POST <url> -H "X-Agent-Token: <token>"`: no body, no redirects followed; curl -f fails on >= 400. */
export async function followCheckIn(instructions: CheckInInstructions): Promise<{ status: number; body: string }> {
  const res = await fetch(instructions.url, {
    method: "POST",
    headers: { "X-Agent-Token": instructions.token },
    redirect: "manual",
  });
  return { status: res.status, body: await res.text() };
}
