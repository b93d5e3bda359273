// Agent templates (docs/architecture.md, Contracts (templates)): the file set per kind, the check-in instructions, strict rendering and the sandbox.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  filesForKind,
  renderTemplateText,
  renderTemplates,
  templateContextOf,
  templateRevisionOf,
  TEMPLATE_REVISION,
  type AgentKindName,
  type TemplateContext,
} from "../../server/templates/render";
import { TEMPLATE_SOURCES } from "../../server/templates/sources";

const BASE_URL = "https://mc.example.test:3000";
const HEARTBEAT_URL = `${BASE_URL}/api/agent/heartbeat`;
const COMMON = ["AGENTS.md", "HEARTBEAT.md", "TOOLS.md", "IDENTITY.md", "SOUL.md", "USER.md", "MEMORY.md"];

function contextFor(kind: AgentKindName): TemplateContext {
  return templateContextOf(
    { id: "6f1c2a9e-0000-4000-8000-000000000001", name: `agent-${kind}`, kind, sessionKey: `agent:${kind}:x`, heartbeatIntervalSeconds: 45 },
    { name: "gw-one" },
    kind === "gateway_main" ? null : { name: "Board Alpha" },
    BASE_URL + "/",
  );
}

describe("template set per agent kind", () => {
  for (const kind of ["gateway_main", "board_lead", "board_worker"] as const) {
    test(`${kind}: the docs/architecture.md, Contracts (templates) files, fully rendered, check-in first`, async () => {
      const files = await renderTemplates(contextFor(kind));
      const expected = kind === "board_lead" ? [...COMMON, "BOOTSTRAP.md"] : COMMON;
      assert.deepEqual(Object.keys(files).sort(), [...expected].sort());
      assert.deepEqual(filesForKind(kind).sort(), [...expected].sort());
      for (const [name, text] of Object.entries(files)) {
        assert.ok(text.trim().length > 0, `${name} is empty`);
        assert.doesNotMatch(text, /\{\{|\{%|%\}|\}\}/, `${name} has unrendered Liquid`);
      }
      const checkInFiles = kind === "board_lead" ? ["HEARTBEAT.md", "BOOTSTRAP.md"] : ["HEARTBEAT.md"];
      for (const name of checkInFiles) {
        const text = files[name];
        assert.match(text, /immediately/i, `${name} says to check in immediately`);
        assert.ok(text.includes(`curl -fsS -X POST ${HEARTBEAT_URL} -H "X-Agent-Token: $MC_AGENT_TOKEN"`), `${name} has the exact heartbeat call`);
        assert.match(text, /before any other work/);
        assert.match(text, /nextHeartbeatSeconds/);
        assert.match(text, /45/, "the agent's heartbeat interval");
      }
      assert.ok(files["TOOLS.md"].includes(`POST ${HEARTBEAT_URL}`));
      assert.ok(files["TOOLS.md"].includes(`GET ${BASE_URL}/api/agent/healthz`));
      assert.match(files["IDENTITY.md"], /id: 6f1c2a9e-0000-4000-8000-000000000001/);
      assert.match(files["IDENTITY.md"], new RegExp(`kind: ${kind}`));
      if (kind === "gateway_main") {
        assert.match(files["AGENTS.md"], /on gateway gw-one\./);
        assert.match(files["AGENTS.md"], /gateway main/);
        assert.doesNotMatch(files["IDENTITY.md"], /board:/);
      } else {
        assert.match(files["AGENTS.md"], /on gateway gw-one, board Board Alpha\./);
        assert.match(files["AGENTS.md"], kind === "board_lead" ? /You lead board Board Alpha/ : /You work on board Board Alpha/);
        assert.match(files["IDENTITY.md"], /board: Board Alpha/);
      }
    });
  }

  test("no file ever contains the agent's token; the templates point at MC_AGENT_TOKEN", async () => {
    const files = await renderTemplates(contextFor("board_lead"));
    assert.ok(files["HEARTBEAT.md"].includes("MC_AGENT_TOKEN"));
    // The context has no token at all: a template that asks for one fails to render.
    await assert.rejects(renderTemplateText("{{ token }}", contextFor("board_lead")), /undefined variable: token/);
  });
});

describe("template revision", () => {
  test("is a content hash of the whole set", () => {
    assert.match(TEMPLATE_REVISION, /^[0-9a-f]{12}$/);
    assert.equal(templateRevisionOf(TEMPLATE_SOURCES), TEMPLATE_REVISION);
    assert.equal(templateRevisionOf({ ...TEMPLATE_SOURCES }), TEMPLATE_REVISION, "independent of object identity");
    const edited = { ...TEMPLATE_SOURCES, "SOUL.md": TEMPLATE_SOURCES["SOUL.md"] + "\nOne more line.\n" };
    assert.notEqual(templateRevisionOf(edited), TEMPLATE_REVISION, "any edit gives a new revision");
    const renamed = Object.fromEntries(Object.entries(TEMPLATE_SOURCES).map(([k, v]) => [k === "USER.md" ? "USERS.md" : k, v]));
    assert.notEqual(templateRevisionOf(renamed), TEMPLATE_REVISION, "a renamed file gives a new revision");
  });
});

describe("strict, sandboxed rendering", () => {
  const ctx = contextFor("board_worker");

  test("a template referencing an unknown variable fails at render time", async () => {
    await assert.rejects(renderTemplateText("Hello {{ agent.nickname }}", ctx), /undefined variable: agent\.nickname/);
    await assert.rejects(renderTemplateText("{{ gatewayUrl }}", ctx), /undefined variable: gatewayUrl/);
    await assert.rejects(renderTemplateText("{% if secret %}x{% endif %}", ctx), /undefined variable: secret/);
  });

  test("an unknown filter fails at render time", async () => {
    await assert.rejects(renderTemplateText("{{ agent.name | shell }}", ctx), /undefined filter: shell/);
  });

  test("a broken template in the set fails the whole render with the file's name", async () => {
    const sources = TEMPLATE_SOURCES as Record<string, string>;
    const original = sources["USER.md"];
    sources["USER.md"] = "{{ operator.email }}";
    try {
      await assert.rejects(renderTemplates(ctx), /template USER\.md failed to render: undefined variable: operator/);
    } finally {
      sources["USER.md"] = original;
    }
  });

  test("template text cannot execute code", async () => {
    const marker = "__mc_template_code_ran__";
    const g = globalThis as Record<string, unknown>;
    delete g[marker];
    const attacks = [
      // Prototype walks to the Function constructor.
      `{{ agent.constructor.constructor("globalThis.${marker} = 1")() }}`,
      "{{ agent.name.constructor }}",
      "{{ agent.__proto__ }}",
      "{{ agent['constructor'] }}",
      // Node globals are not in scope.
      "{{ process.env }}",
      "{{ require }}",
      "{{ globalThis }}",
      // No file-system access through partials or layouts.
      "{% include '/etc/passwd' %}",
      "{% render '../../.data/secret.key' %}",
      "{% layout 'package.json' %}x",
      // No runaway loops.
      "{% for i in (1..100000000) %}x{% endfor %}",
    ];
    for (const source of attacks) {
      await assert.rejects(renderTemplateText(source, ctx), `rendering ${JSON.stringify(source)} must fail`);
    }
    assert.equal(g[marker], undefined, "no template ran JavaScript");
    // JavaScript in the text is just text.
    const out = await renderTemplateText("<script>process.exit(1)</script> ${process.pid} `rm -rf /`", ctx);
    assert.equal(out, "<script>process.exit(1)</script> ${process.pid} `rm -rf /`");
  });

  test("values are inserted as text, never evaluated as template code", async () => {
    const evil = templateContextOf(
      { id: "x", name: "{{ agent.id }}{% raw %}", kind: "gateway_main", sessionKey: "{{ 7 | plus: 1 }}", heartbeatIntervalSeconds: 60 },
      { name: "gw" },
      null,
      BASE_URL,
    );
    const out = await renderTemplateText("{{ agent.name }}|{{ agent.sessionKey }}", evil);
    assert.equal(out, "{{ agent.id }}{% raw %}|{{ 7 | plus: 1 }}");
  });
});
