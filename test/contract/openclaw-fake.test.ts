// The fake gateway of the fast tests against reality: for every release the interop suite recorded (what a real
// OpenClaw gateway answered to each step of the contract scenario), the fake with that release's profile must answer
// the same scenario identically. When this fails, the fake (test/support/fake-openclaw.ts) disagrees with a real
// gateway: fix the fake, never the recording.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { FAKE_PROFILES, FakeOpenClaw, type FakeProfileName } from "../support/fake-openclaw";
import { runOpenClawScenario, type Recording } from "./openclaw-scenario";

const RECORDINGS = path.join(import.meta.dirname, "recordings");
const files = fs.readdirSync(RECORDINGS).filter((f) => /^openclaw-.+\.json$/.test(f));

test("there is a recording of every release the fake models", () => {
  const recorded = files.map((f) => (JSON.parse(fs.readFileSync(path.join(RECORDINGS, f), "utf8")) as Recording).version);
  assert.deepEqual([...recorded].sort(), [...FAKE_PROFILES].sort());
});

for (const file of files) {
  const recording = JSON.parse(fs.readFileSync(path.join(RECORDINGS, file), "utf8")) as Recording;
  test(`the fake answers the contract scenario exactly as real OpenClaw ${recording.version} did (${file})`, async () => {
    assert.ok((FAKE_PROFILES as readonly string[]).includes(recording.version), `the fake has no profile for OpenClaw ${recording.version}`);
    const token = "contract-gateway-token-5f0c";
    const fake = await FakeOpenClaw.start({ profile: recording.version as FakeProfileName, token });
    try {
      const steps = await runOpenClawScenario({ url: fake.url, token });
      assert.deepEqual(steps, recording.steps);
    } finally {
      await fake.close();
    }
  });
}
