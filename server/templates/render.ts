// Agent template files (docs/architecture.md, Contracts (templates)), rendered with Liquid in a sandbox: templates are data, never code. Liquid has no way
// to call JavaScript, `ownPropertyOnly` hides prototypes (no `constructor` tricks), partials resolve only against an
// empty in-memory set (no file is ever read), and parse/render/memory limits stop runaway loops. Strict mode makes an
// unknown variable or filter a render error instead of a silently broken file. The revision is a hash of the set.
import { createHash } from "node:crypto";
import { Liquid } from "liquidjs";
import { TEMPLATE_SOURCES } from "./sources";
import type { AgentKind } from "../../lib/contract/enums";

export type AgentKindName = AgentKind;

export interface TemplateContext {
  agent: { id: string; name: string; kind: AgentKindName; sessionKey: string; heartbeatIntervalSeconds: number };
  gateway: { name: string };
  board: { name: string } | null;
  heartbeatUrl: string;
  baseUrl: string;
}

/** The agent heartbeat endpoint under Mission Control's base URL (docs/architecture.md, Contracts (agent API)). */
export function heartbeatUrlOf(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/api/agent/heartbeat`;
}

/** The render context of one agent; the same for provisioning and template sync. */
export function templateContextOf(
  agent: TemplateContext["agent"],
  gateway: { name: string },
  board: { name: string } | null,
  baseUrl: string,
): TemplateContext {
  return { agent, gateway, board, heartbeatUrl: heartbeatUrlOf(baseUrl), baseUrl: baseUrl.replace(/\/+$/, "") };
}

const engine = new Liquid({
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  // `{% include %}`, `{% render %}` and `{% layout %}` look here only: nothing on disk is reachable.
  templates: {},
  dynamicPartials: false,
  jsTruthy: false,
  parseLimit: 1_000_000,
  renderLimit: 1_000,
  memoryLimit: 10_000_000,
  cache: true,
});

export function filesForKind(kind: AgentKindName): string[] {
  return Object.keys(TEMPLATE_SOURCES).filter((name) => name !== "BOOTSTRAP.md" || kind === "board_lead");
}

/** Content hash of a template set: any change to any file gives a new revision. */
export function templateRevisionOf(sources: Record<string, string>): string {
  return createHash("sha256")
    .update(JSON.stringify(Object.entries(sources).sort(([a], [b]) => a.localeCompare(b))))
    .digest("hex")
    .slice(0, 12);
}

export const TEMPLATE_REVISION = templateRevisionOf(TEMPLATE_SOURCES);

/** Renders one template text with the sandboxed engine (exported for tests and previews). Throws on any error. */
export async function renderTemplateText(source: string, ctx: TemplateContext): Promise<string> {
  return engine.parseAndRender(source, { ...ctx, board: ctx.board ?? { name: "" } });
}

export async function renderTemplates(ctx: TemplateContext): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of filesForKind(ctx.agent.kind)) {
    try {
      files[name] = await renderTemplateText(TEMPLATE_SOURCES[name], ctx);
    } catch (err) {
      throw new Error(`template ${name} failed to render: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  return files;
}
