// Which build is running (the `mc_build_info` metric, /api/readyz): written by `npm run build` into dist/build-info.json;
// from a source checkout (development, tests) the version comes from package.json and the commit from .git.
import fs from "node:fs";
import path from "node:path";

export interface BuildInfo {
  version: string;
  commit: string;
  builtAt: string | null;
  /** Hash of the sources the build was made from (scripts/build-stamp.mjs). */
  sourceHash: string | null;
}

export const BUILD_INFO_FILE = path.join("dist", "build-info.json");

let cached: BuildInfo | undefined;

export function buildInfo(root: string = process.cwd()): BuildInfo {
  if (cached) return cached;
  try {
    const built = JSON.parse(fs.readFileSync(path.join(root, BUILD_INFO_FILE), "utf8")) as Partial<BuildInfo>;
    cached = { version: built.version ?? "unknown", commit: built.commit ?? "unknown", builtAt: built.builtAt ?? null, sourceHash: built.sourceHash ?? null };
  } catch {
    cached = { version: packageVersion(root), commit: gitCommit(root) ?? "unknown", builtAt: null, sourceHash: null };
  }
  return cached;
}

function packageVersion(root: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** The checked-out commit, read from .git without running git (a worktree's .git is a file naming its directory). */
export function gitCommit(root: string): string | null {
  try {
    let gitDir = path.join(root, ".git");
    if (fs.statSync(gitDir).isFile()) gitDir = path.resolve(root, fs.readFileSync(gitDir, "utf8").replace(/^gitdir:\s*/, "").trim());
    const head = fs.readFileSync(path.join(gitDir, "HEAD"), "utf8").trim();
    if (!head.startsWith("ref:")) return head.slice(0, 12);
    const ref = head.slice(4).trim();
    const commonDir = fs.existsSync(path.join(gitDir, "commondir"))
      ? path.resolve(gitDir, fs.readFileSync(path.join(gitDir, "commondir"), "utf8").trim())
      : gitDir;
    for (const dir of [gitDir, commonDir]) {
      const file = path.join(dir, ref);
      if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim().slice(0, 12);
    }
    const packed = fs.readFileSync(path.join(commonDir, "packed-refs"), "utf8");
    const line = packed.split("\n").find((l) => l.endsWith(` ${ref}`));
    return line ? line.slice(0, 12) : null;
  } catch {
    return null;
  }
}
