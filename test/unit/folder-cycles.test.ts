// The folder map of docs/architecture.md, kept true: folders import each other in one direction only, server code
// never reaches into job handlers or the process entry points, and browser code loads nothing from server/.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { folderCycles, folderOf, importsOf, importsWithin } from "../support/folder-graph";

const imports = importsOf(process.cwd(), ["app", "components", "lib", "server", "jobs", "main"]);

test("the import graph is read (a broken reader would pass everything)", () => {
  assert.ok(imports.length > 300, `only ${imports.length} imports found`);
  assert.ok(imports.some((i) => i.from === "jobs/handlers.ts" && i.to === "jobs/reconcile.ts"));
  assert.ok(imports.some((i) => i.typeOnly));
});

test("no two folders import each other, directly or through others", () => {
  const cycles = folderCycles(imports);
  assert.deepEqual(
    cycles.map((group) => ({ group, imports: importsWithin(imports, group) })),
    [],
  );
});

test("server/ never imports jobs/ or main/; jobs/ never imports main/", () => {
  const wrong = imports.filter((i) => (i.from.startsWith("server/") && /^(jobs|main)\//.test(i.to)) || (i.from.startsWith("jobs/") && i.to.startsWith("main/")));
  assert.deepEqual(wrong, []);
});

test("browser code (app/, components/, lib/) loads no server code: types only, and the generated browser enums", () => {
  const wrong = imports.filter(
    (i) => /^(app|components|lib)\//.test(i.from) && i.to.startsWith("server/") && !i.typeOnly && !i.to.startsWith("server/generated/"),
  );
  assert.deepEqual(wrong, []);
  // lib/ outside lib/client/ is shared with the server: it does not even name the router's types.
  const sharedToClient = imports.filter((i) => i.from.startsWith("lib/") && !i.from.startsWith("lib/client/") && (folderOf(i.to) === "lib/client" || i.to.startsWith("server/trpc/")));
  assert.deepEqual(sharedToClient, []);
});

test("docs/architecture.md lists the folders in import order: each imports only folders listed above it, or its own row", () => {
  const doc = fs.readFileSync("docs/architecture.md", "utf8");
  const section = doc.slice(doc.indexOf("## Folders"), doc.indexOf("\n## ", doc.indexOf("## Folders") + 1));
  const rows = section
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .map((l) => [...l.split("|")[1].matchAll(/`([^`]+)\/`/g)].map((m) => m[1]));
  assert.ok(rows.length > 15, "the Folders table was not found");
  // The most specific folder of the table that holds a file.
  const rowOf = (file: string): number => {
    let best = -1;
    let bestLength = -1;
    rows.forEach((folders, i) => {
      for (const f of folders) if (file.startsWith(`${f}/`) && f.length > bestLength) [best, bestLength] = [i, f.length];
    });
    return best;
  };
  const unlisted = [...new Set(imports.flatMap((i) => [i.from, i.to]).filter((f) => rowOf(f) < 0).map(folderOf))];
  assert.deepEqual(unlisted, []);
  const upward = imports.filter((i) => rowOf(i.to) > rowOf(i.from)).map((i) => `${i.from} -> ${i.to}`);
  assert.deepEqual(upward, []);
});

/** Every .ts file under `dir`, as repository paths. */
function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts")).map((f) => `${dir}/${f}`);
}

test("jobs are enqueued only by server/queue/queues.ts, and routers neither write to the database nor enqueue", () => {
  const code = ["server", "jobs", "main"].flatMap(sourcesUnder).filter((f) => !f.startsWith("server/generated/"));
  assert.ok(code.length > 100, `only ${code.length} files read`);
  const enqueuers = code.filter((f) => !f.startsWith("server/queue/") && /\bboss\.(send|insert|sendAfter)\(/.test(fs.readFileSync(f, "utf8")));
  assert.deepEqual(enqueuers, []);
  const writingRouters = sourcesUnder("server/trpc/routers").filter((f) =>
    /\.db\.(\$transaction|\$executeRaw|\w+\.(create|createMany|update|updateMany|upsert|delete|deleteMany)\()|\bboss\./.test(fs.readFileSync(f, "utf8")),
  );
  assert.deepEqual(writingRouters, []);
});
