#!/usr/bin/env node
// `npm start` (the server), `npm run worker`, `npm run mc`: runs the ahead-of-time build in dist/. When there is no
// build (a fresh clone after `npm install`), it builds once first; an existing build is served as it is, with a
// warning when the sources changed since (run `npm run build`).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readBuild, sourceHash } from "./build-stamp.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const [target = "server", ...rest] = process.argv.slice(2);
if (!["server", "worker", "mc"].includes(target)) {
  process.stderr.write(`usage: node scripts/start.mjs [server|worker|mc] …\n`);
  process.exit(2);
}
const say = (m) => process.stderr.write(`[mission-control] ${m}\n`);
const needsConsole = target === "server";

const build = readBuild(root, { needsConsole });
if (!build) {
  if (!fs.existsSync(path.join(root, "node_modules", "esbuild"))) {
    say("There is no build, and the build tools are not installed. Run `npm run build` where the development dependencies are installed, then start again.");
    process.exit(1);
  }
  say(needsConsole ? "No build yet: building once (about a minute)…" : "No build yet: compiling the server (a few seconds)…");
  const result = spawnSync(process.execPath, [path.join("scripts", "build.mjs"), ...(needsConsole ? [] : ["--bundles"])], { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) process.exit(result.status ?? 1);
} else if (target !== "mc" && build.sourceHash !== sourceHash(root)) {
  say("Serving the existing build, which is older than the sources: run `npm run build` to serve the current code.");
}

process.setSourceMapsEnabled(true);
const entry = path.join(root, "dist", `${target}.cjs`);
process.argv = [process.argv[0], entry, ...rest];
createRequire(import.meta.url)(entry);
