// The fake gateway of the fast tests against reality: for every release the interop suite recorded (what a real
// OpenClaw gateway answered to each step of the contract scenario), the fake with that release's profile must answer
// the same scenario identically. When this fails, the fake (test/support/fake-openclaw.ts) disagrees with a real
// gateway: fix the fake, never the recording.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import WebSocket from "ws";
import { FAKE_PROFILES, FakeOpenClaw, type FakeProfileName } from "../support/fake-openclaw";
import { runOpenClawScenario, type Recording } from "./openclaw-scenario";

const RECORDINGS = path.join("test", "contract", "recordings");
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

/** One raw `connect` after the challenge (or without waiting for it): the gateway's answer. */
async function rawConnect(url: string, params: (nonce: string | null) => Record<string, unknown>): Promise<{ ok: boolean; error?: { code?: string; message?: string; details?: Record<string, unknown> } }> {
  const ws = new WebSocket(url);
  try {
    return await new Promise((resolve, reject) => {
      let sent = false;
      const send = (nonce: string | null) => {
        if (sent) return;
        sent = true;
        ws.send(JSON.stringify({ type: "req", id: "c", method: "connect", params: params(nonce) }));
      };
      ws.on("error", reject);
      ws.on("message", (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type === "event" && frame.event === "connect.challenge") send(frame.payload.nonce);
        if (frame.type === "res") resolve(frame);
      });
    });
  } finally {
    ws.terminate();
  }
}

test("what the measured notes say beyond the scenario: control UI without a device, a device without the nonce (2026.4.29)", async () => {
  const fake = await FakeOpenClaw.start({ profile: "2026.4.29", token: "t0k3n-measured" });
  try {
    const client = { id: "openclaw-control-ui", version: "1.0.0", platform: "linux", mode: "ui" };
    const base = { minProtocol: 3, maxProtocol: 4, role: "operator", scopes: ["operator.read"], auth: { token: "t0k3n-measured" } };
    const ui = await rawConnect(fake.url, () => ({ ...base, client }));
    assert.equal(ui.ok, false);
    assert.equal(ui.error?.message, "control ui requires device identity (use HTTPS or localhost secure context)");
    assert.equal(ui.error?.details?.code, "CONTROL_UI_DEVICE_IDENTITY_REQUIRED");
    const device = { id: "x".repeat(64), publicKey: "AAAA", signature: "AAAA", signedAt: Date.now() };
    const noNonce = await rawConnect(fake.url, () => ({ ...base, client: { ...client, id: "gateway-client", mode: "backend" }, device }));
    assert.equal(noNonce.error?.message, "invalid connect params: at /device: must have required property 'nonce'");
    // A backend client with the token and no device at all is accepted on loopback (how the interop suite waits for readiness).
    assert.equal((await rawConnect(fake.url, () => ({ ...base, client: { ...client, id: "gateway-client", mode: "backend" } }))).ok, true);
  } finally {
    await fake.close();
  }
});
