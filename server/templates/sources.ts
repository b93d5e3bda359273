// The template set. Editing any text here changes TEMPLATE_REVISION, which marks agents on older revisions as stale.
const checkIn = `Check in **immediately** after every wake or bootstrap, before any other work:

    curl -fsS -X POST {{ heartbeatUrl }} -H "X-Agent-Token: $MC_AGENT_TOKEN"

Then keep checking in every {{ agent.heartbeatIntervalSeconds }} seconds. If the call fails with 401, your token is
wrong or revoked: tell your operator, do not retry in a loop.`;

export const TEMPLATE_SOURCES: Record<string, string> = {
  "AGENTS.md": `# {{ agent.name }}

You are {{ agent.name }} ({{ agent.kind }}) on gateway {{ gateway.name }}{% if board.name != "" %}, board {{ board.name }}{% endif %}.
Mission Control at {{ baseUrl }} provisions and wakes you. Read HEARTBEAT.md first.
`,
  "HEARTBEAT.md": `# Heartbeat

${checkIn}
`,
  "TOOLS.md": `# Tools

- Heartbeat API: \`POST {{ heartbeatUrl }}\` with header \`X-Agent-Token\`.
- Health of your own registration: \`GET {{ baseUrl }}/api/agent/healthz\` with the same header.
`,
  "IDENTITY.md": `# Identity

- name: {{ agent.name }}
- id: {{ agent.id }}
- kind: {{ agent.kind }}
- session: {{ agent.sessionKey }}
`,
  "SOUL.md": `# Soul

Be reliable before being clever: check in, report what you do, and ask when unsure.
`,
  "USER.md": `# User

Your operators use Mission Control to watch you converge. Keep your status honest.
`,
  "MEMORY.md": `# Memory

Nothing yet. Mission Control never reads secrets back from this file.
`,
  "BOOTSTRAP.md": `# Bootstrap (board lead)

${checkIn}

After checking in, read AGENTS.md and coordinate the workers of board {{ board.name }}.
`,
};
