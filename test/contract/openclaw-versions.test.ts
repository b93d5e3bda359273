// The releases the interop suite runs against, the recordings the fake is checked against, and the default minimum
// version Mission Control accepts must describe the same matrix.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { DEFAULT_MIN_VERSION, compareCalVer, parseCalVer } from "../../server/drivers/openclaw/protocol";
import { OPENCLAW_TESTED_VERSIONS } from "../interop/openclaw-runtime";
import { loadConfig } from "../../server/platform/config";

test("OPENCLAW_MIN_VERSION defaults to the oldest release the interop suite tests", () => {
  const oldest = [...OPENCLAW_TESTED_VERSIONS].sort((a, b) => compareCalVer(parseCalVer(a)!, parseCalVer(b)!))[0];
  assert.equal(DEFAULT_MIN_VERSION, oldest);
  assert.equal(loadConfig({ NODE_ENV: "test" }).OPENCLAW_MIN_VERSION, oldest);
});

test("every tested release has a committed recording, and every recording a tested release", () => {
  const recorded = fs
    .readdirSync("test/contract/recordings")
    .map((f) => /^openclaw-(.+)\.json$/.exec(f)?.[1])
    .filter(Boolean)
    .sort();
  assert.deepEqual(recorded, [...OPENCLAW_TESTED_VERSIONS].sort());
});

test("OPENCLAW_MIN_VERSION must be a CalVer version", () => {
  assert.equal(loadConfig({ NODE_ENV: "test", OPENCLAW_MIN_VERSION: "2026.6.11" }).OPENCLAW_MIN_VERSION, "2026.6.11");
  assert.throws(() => loadConfig({ NODE_ENV: "test", OPENCLAW_MIN_VERSION: "latest" }), /OPENCLAW_MIN_VERSION/);
});
