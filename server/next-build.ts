// `npm start` works right after `npm install`: the web console is built on first start, and rebuilt when its sources
// change (e.g. after `git pull`), so nobody has to remember a separate build step.
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const INPUTS = ["app", "components", "lib", "next.config.ts", "postcss.config.mjs", "package-lock.json", "tsconfig.json"];
const STAMP = path.join(".next", "mc-source-hash");

function hashInputs(root: string): string {
  const hash = createHash("sha256");
  const visit = (p: string) => {
    if (!fs.existsSync(p)) return;
    const stat = fs.statSync(p);
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(p).sort()) visit(path.join(p, entry));
    } else {
      hash.update(path.relative(root, p)).update("\0").update(fs.readFileSync(p));
    }
  };
  for (const input of INPUTS) visit(path.join(root, input));
  return hash.digest("hex");
}

export async function ensureNextBuild(root: string, log: (m: string) => void): Promise<void> {
  const wanted = hashInputs(root);
  const stamp = path.join(root, STAMP);
  const built = fs.existsSync(path.join(root, ".next", "BUILD_ID")) && fs.existsSync(stamp) ? fs.readFileSync(stamp, "utf8").trim() : "";
  if (built === wanted) return;
  log("Building the web console (first start or changed sources; about a minute)…");
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, "node_modules", "next", "dist", "bin", "next"), "build"], {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`next build failed with exit code ${code}`))));
    child.on("error", reject);
  });
  fs.writeFileSync(path.join(root, STAMP), wanted);
  log(`Web console built in ${Math.round((Date.now() - started) / 1000)}s`);
}
