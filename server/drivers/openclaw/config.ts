// Mission Control's agents in the gateway's config: each agent's heartbeat cadence and the prompt of OpenClaw's own
// periodic heartbeat turn (which tells the agent to check in). Two shapes exist, and the driver uses whichever the
// gateway's config (or its schema) shows:
//   entries  agents.entries.<agentId> = {...}          (protocol 4 gateways: OpenClaw 2026.6 and later)
//   list     agents.list = [{id: <agentId>, ...}]      (OpenClaw 2026.4; a merge patch replaces arrays: send it whole)
// Only the keys Mission Control owns are written; the rest of each entry, and every other agent, is kept as it is.

export type AgentsShape = "entries" | "list";

export interface AgentSettings {
  /** The agent's id on the gateway (mc-<uuid>). */
  agentId: string;
  heartbeatEvery: string;
  heartbeatPrompt: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** The shape this config uses, or null when it shows neither (ask the schema then). */
export function agentsShapeOf(config: Record<string, unknown>): AgentsShape | null {
  const agents = isObject(config.agents) ? config.agents : {};
  if (isObject(agents.entries)) return "entries";
  if (Array.isArray(agents.list)) return "list";
  return null;
}

/** OpenClaw's duration syntax: 90 → "90s", 120 → "2m". */
export function heartbeatEvery(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  return s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

function withSettings(entry: Record<string, unknown>, settings: AgentSettings): Record<string, unknown> {
  const heartbeat = isObject(entry.heartbeat) ? entry.heartbeat : {};
  return { ...entry, heartbeat: { ...heartbeat, every: settings.heartbeatEvery, prompt: settings.heartbeatPrompt } };
}

function hasSettings(entry: unknown, settings: AgentSettings): boolean {
  if (!isObject(entry) || !isObject(entry.heartbeat)) return false;
  return entry.heartbeat.every === settings.heartbeatEvery && entry.heartbeat.prompt === settings.heartbeatPrompt;
}

/**
 * The merge patch that gives every listed agent its settings, or null when the config already has them all. Agents
 * missing from the config (not created yet, or deleted since) are left out: creating entries is agents.create's job.
 */
export function agentSettingsPatch(config: Record<string, unknown>, shape: AgentsShape, wanted: AgentSettings[]): Record<string, unknown> | null {
  const agents = isObject(config.agents) ? config.agents : {};
  if (shape === "entries") {
    const entries = isObject(agents.entries) ? agents.entries : {};
    const changed: Record<string, unknown> = {};
    for (const settings of wanted) {
      const entry = entries[settings.agentId];
      if (!isObject(entry) || hasSettings(entry, settings)) continue;
      changed[settings.agentId] = { heartbeat: withSettings(entry, settings).heartbeat };
    }
    return Object.keys(changed).length > 0 ? { agents: { entries: changed } } : null;
  }
  const list = Array.isArray(agents.list) ? [...(agents.list as unknown[])] : [];
  let changed = false;
  for (const settings of wanted) {
    const index = list.findIndex((e) => isObject(e) && e.id === settings.agentId);
    if (index < 0 || hasSettings(list[index], settings)) continue;
    list[index] = withSettings(list[index] as Record<string, unknown>, settings);
    changed = true;
  }
  return changed ? { agents: { list } } : null;
}

/** The merge patch that takes Mission Control's settings out of one agent's entry, or null when it has none. */
export function agentSettingsRemovalPatch(config: Record<string, unknown>, shape: AgentsShape, agentId: string): Record<string, unknown> | null {
  const agents = isObject(config.agents) ? config.agents : {};
  if (shape === "entries") {
    const entry = isObject(agents.entries) ? agents.entries[agentId] : undefined;
    return isObject(entry) && "heartbeat" in entry ? { agents: { entries: { [agentId]: { heartbeat: null } } } } : null;
  }
  const list = Array.isArray(agents.list) ? (agents.list as unknown[]) : [];
  const index = list.findIndex((e) => isObject(e) && e.id === agentId);
  if (index < 0 || !isObject(list[index]) || !("heartbeat" in (list[index] as Record<string, unknown>))) return null;
  const { heartbeat: _removed, ...rest } = list[index] as Record<string, unknown>;
  return { agents: { list: list.map((e, i) => (i === index ? rest : e)) } };
}

/** The config object of a `config.get` answer (`config`, else `parsed`), and its hash for `baseHash`. */
export function snapshotOf(payload: unknown): { config: Record<string, unknown>; hash: string | undefined } {
  const snapshot = (isObject(payload) ? payload : {}) as Record<string, unknown>;
  const config = isObject(snapshot.config) ? snapshot.config : isObject(snapshot.parsed) ? snapshot.parsed : {};
  return { config, hash: typeof snapshot.hash === "string" ? snapshot.hash : undefined };
}
