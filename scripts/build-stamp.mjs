// What a build was made from: a hash over the sources of the console and the server, kept in dist/build-info.json.
// `npm start` compares it to warn about a build older than the sources; the end-to-end tests rebuild when they differ.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const INPUTS = [
  "app",
  "components",
  "lib",
  "server",
  "jobs",
  "docs/openapi",
  "scripts/mc.ts",
  "scripts/build.mjs",
  "next.config.mjs",
  "postcss.config.mjs",
  "package-lock.json",
  "tsconfig.json",
  "prisma/schema.prisma",
];
/** Derived from prisma/schema.prisma (hashed itself). */
const SKIP = new Set([path.join("server", "generated")]);

export const BUILD_INFO = path.join("dist", "build-info.json");

export function sourceHash(root) {
  const hash = createHash("sha256");
  const visit = (p) => {
    const rel = path.relative(root, p);
    if (SKIP.has(rel) || !fs.existsSync(p)) return;
    if (fs.statSync(p).isDirectory()) {
      for (const entry of fs.readdirSync(p).sort()) visit(path.join(p, entry));
    } else {
      hash.update(rel).update("\0").update(fs.readFileSync(p));
    }
  };
  for (const input of INPUTS) visit(path.join(root, input));
  return hash.digest("hex");
}

/** The stamp of the build in this checkout, or null when there is no complete build. */
export function readBuild(root, { needsConsole = true } = {}) {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(root, BUILD_INFO), "utf8"));
    const bundles = ["server", "worker", "mc"].every((b) => fs.existsSync(path.join(root, "dist", `${b}.cjs`)));
    // The console must come from the same build as the bundles, or its sources may differ.
    const console = info.console === true && fs.existsSync(path.join(root, ".next", "BUILD_ID"));
    return bundles && (console || !needsConsole) ? info : null;
  } catch {
    return null;
  }
}
