// Graceful stop on SIGTERM/SIGINT (docs/ops/README.md): readiness turns 503 at once and, on SIGTERM, the server keeps
// serving for SHUTDOWN_DRAIN_SECONDS so that a load balancer stops routing here before connections close; then the
// queue worker finishes its running jobs and everything closes. A process still stopping after
// SHUTDOWN_TIMEOUT_SECONDS (a gateway call that hangs, a stuck job) exits with status 1: pg-boss hands its unfinished
// jobs to another worker once they expire, so nothing is lost.
import type http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Server as SocketServer } from "socket.io";
import type { App } from "./app";

export interface ShutdownOptions {
  app: Pick<App, "stop" | "draining"> & { publisher?: Pick<App["publisher"], "flush"> };
  server?: http.Server;
  io?: SocketServer;
  drainSeconds: number;
  timeoutSeconds: number;
  /** Closes what the app does not own (the Socket.IO adapter, Next, the embedded database). */
  after?: () => Promise<void>;
  say: (message: string) => void;
  exit: (code: number) => void;
}

export function createShutdown(opts: ShutdownOptions): (signal: string) => Promise<void> {
  let stopping = false;
  return async (signal) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => {
      opts.say(`still stopping after ${opts.timeoutSeconds}s: exiting anyway`);
      opts.exit(1);
    }, opts.timeoutSeconds * 1000);
    opts.app.draining = true;
    if (signal === "SIGTERM" && opts.server && opts.drainSeconds > 0) {
      opts.say(`${signal}: draining for ${opts.drainSeconds}s (readiness answers 503), then stopping`);
      await sleep(opts.drainSeconds * 1000);
    } else {
      opts.say(`${signal}: stopping`);
    }
    // Buffered pushes go out while the sockets are still open.
    opts.app.publisher?.flush();
    opts.io?.close();
    opts.server?.close();
    opts.server?.closeIdleConnections();
    await opts.app.stop().catch((err: unknown) => opts.say(`error while stopping: ${err instanceof Error ? err.message : String(err)}`));
    await opts.after?.().catch(() => undefined);
    clearTimeout(force);
    opts.exit(0);
  };
}
