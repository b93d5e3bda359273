// Configuration (server/platform/config.ts): every environment variable is read there, documented in README.md, and checked
// with a clear message; the demo fleet is seeded only where a first trial runs.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { CONFIG_KEYS, cliConfig, loadConfig } from "../../server/platform/config";
import { shouldSeedDemo } from "../../server/runtime/demo";

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "generated" ? [] : sources(p);
    return /\.(ts|tsx|mjs|cjs)$/.test(e.name) ? [p] : [];
  });
}

describe("configuration", () => {
  test("no product code reads process.env except server/platform/config.ts", () => {
    const files = [...["server", "main", "jobs", "lib", "app", "components"].flatMap(sources), path.join("scripts", "mc.ts")];
    assert.ok(files.length > 50);
    const offenders = files.filter((f) => f !== path.join("server", "platform", "config.ts") && /process\.env\b/.test(fs.readFileSync(f, "utf8")));
    assert.deepEqual(offenders, []);
  });

  test("README documents every variable", () => {
    const readme = fs.readFileSync("README.md", "utf8");
    const missing = [...CONFIG_KEYS, "MC_URL", "MC_TOKEN"].filter((k) => !readme.includes(`\`${k}\``));
    assert.deepEqual(missing, []);
  });

  test("bad values are refused with the variable's name; defaults otherwise", () => {
    assert.throws(() => loadConfig({ PORT: "eighty" }), /Invalid configuration: PORT/);
    assert.throws(() => loadConfig({ MC_DEMO: "yes" }), /MC_DEMO/);
    assert.throws(() => loadConfig({ OPENCLAW_MIN_VERSION: "latest" }), /OPENCLAW_MIN_VERSION/);
    const c = loadConfig({});
    assert.equal(c.MC_DEMO, "auto");
    assert.equal(c.DATABASE_URL, undefined);
    assert.equal(c.RETENTION_DAYS, 30);
    assert.equal(c.AUDIT_RETENTION_DAYS, 365);
    assert.equal(loadConfig({ DATABASE_URL: "  " }).DATABASE_URL, undefined, "blank is unset");
    assert.equal(loadConfig({ MC_DEMO: "1" }).MC_DEMO, true);
    assert.equal(loadConfig({ MC_DEMO: "0" }).MC_DEMO, false);
    assert.deepEqual(cliConfig({ MC_URL: "https://mc.example", NO_COLOR: "" }), { MC_URL: "https://mc.example", NO_COLOR: false });
  });

  test("the demo gateway is seeded on the embedded database only, unless MC_DEMO says otherwise", () => {
    assert.equal(shouldSeedDemo("auto", true), true, "first trial on the embedded database");
    assert.equal(shouldSeedDemo("auto", false), false, "a real database (DATABASE_URL) stays empty");
    assert.equal(shouldSeedDemo(true, false), true, "MC_DEMO=1 forces it");
    assert.equal(shouldSeedDemo(false, true), false, "MC_DEMO=0 skips it");
  });
});
