// The production build (`dist/server.cjs`) as a child process on a free port, for the benchmarks and the e2e specs that
// need a server of their own. Node built-ins only: Playwright's loader must be able to load it.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";

export interface ServerProcess {
  baseUrl: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL if it has not exited after 15 s. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/**
 * Starts the built server against `databaseUrl` with no demo fleet, and resolves once `/api/readyz` answers (it
 * migrates the database first). `env` adds to or overrides the environment. Rejects, with the server's last output,
 * when it exits or is not ready within two minutes.
 */
export async function startServerProcess(opts: { databaseUrl: string; env: Record<string, string>; inheritOutput?: boolean }): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--enable-source-maps", path.join("dist", "server.cjs")], {
    env: { ...process.env, DATABASE_URL: opts.databaseUrl, PORT: String(port), HOST: "127.0.0.1", MC_DEMO: "0", ...opts.env },
    stdio: ["ignore", opts.inheritOutput ? "inherit" : "pipe", opts.inheritOutput ? "inherit" : "pipe"],
  });
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  };

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (!(await fetch(`${baseUrl}/api/readyz`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the server was not ready after 120 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { baseUrl, child, stop };
}
