// Agent template files (SPEC §7), rendered with Liquid in strict mode: no code execution from template text, and an
// unknown variable is a render error instead of a silently broken file. The revision is a hash of the template set.
import { createHash } from "node:crypto";
import { Liquid } from "liquidjs";
import { TEMPLATE_SOURCES } from "./sources";

export type AgentKindName = "gateway_main" | "board_lead" | "board_worker";

export interface TemplateContext {
  agent: { id: string; name: string; kind: AgentKindName; sessionKey: string; heartbeatIntervalSeconds: number };
  gateway: { name: string };
  board: { name: string } | null;
  heartbeatUrl: string;
  baseUrl: string;
}

const engine = new Liquid({ strictVariables: true, strictFilters: true, ownPropertyOnly: true, cache: true });

export function filesForKind(kind: AgentKindName): string[] {
  return Object.keys(TEMPLATE_SOURCES).filter((name) => name !== "BOOTSTRAP.md" || kind === "board_lead");
}

export const TEMPLATE_REVISION = createHash("sha256")
  .update(JSON.stringify(Object.entries(TEMPLATE_SOURCES).sort(([a], [b]) => a.localeCompare(b))))
  .digest("hex")
  .slice(0, 12);

export async function renderTemplates(ctx: TemplateContext): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of filesForKind(ctx.agent.kind)) {
    files[name] = await engine.parseAndRender(TEMPLATE_SOURCES[name], { ...ctx, board: ctx.board ?? { name: "" } });
  }
  return files;
}
