// A cross-process lock for test set-up that several test processes may attempt at once (node:test runs files in
// parallel processes): the first process creates the lock file and does the work; the others wait. A lock left by a
// killed process is taken over.
import fs from "node:fs";
import path from "node:path";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `work` while holding `lockFile`. Before taking the lock, and while waiting for it, `done()` is asked whether
 * another process already did the work; if so, `work` is skipped.
 */
export async function withFileLock(
  lockFile: string,
  opts: { timeoutMs: number; what: string; done?: () => Promise<boolean> | boolean },
  work: () => Promise<void>,
): Promise<void> {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (opts.done && (await opts.done())) return;
    let fd: number;
    try {
      fd = fs.openSync(lockFile, "wx");
    } catch {
      const holder = Number.parseInt(fs.readFileSync(lockFile, "utf8") || "0", 10);
      if (holder && !alive(holder)) fs.rmSync(lockFile, { force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what} (${lockFile})`);
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      if (!(opts.done && (await opts.done()))) await work();
      return;
    } finally {
      fs.rmSync(lockFile, { force: true });
    }
  }
}
