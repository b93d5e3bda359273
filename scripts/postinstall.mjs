// After `npm install`: generate the Prisma client when the Prisma CLI is installed (a development install). A
// production install (`npm ci --omit=dev`) runs a build made elsewhere, which has the client compiled in.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const cli = path.join("node_modules", "prisma", "build", "index.js");
if (fs.existsSync(cli)) {
  const result = spawnSync(process.execPath, [cli, "generate"], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}
