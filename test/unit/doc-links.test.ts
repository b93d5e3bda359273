// Code comments point to docs/ instead of an outside document: every such pointer, and every relative link inside
// the docs, must lead to a file that exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const SOURCE_DIRS = ["server", "lib", "jobs", "main", "components", "app", "scripts", "test", "e2e", "bench", "prisma", "docs", "examples"];
const SKIP = new Set(["node_modules", "generated", "recordings"]);

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return SKIP.has(entry.name) ? [] : filesUnder(full);
    return /\.(ts|tsx|mjs|cjs|sh|prisma|md|sql)$/.test(entry.name) ? [full] : [];
  });
}

const files = [...SOURCE_DIRS.flatMap(filesUnder), "README.md"];

test("every docs/… path named in the code and docs exists", () => {
  const named = files.flatMap((file) => [...fs.readFileSync(file, "utf8").matchAll(/\bdocs\/[\w./-]+\.(?:md|json|yml)\b/g)].map((m) => ({ file, target: m[0] })));
  assert.ok(named.length > 30, `only ${named.length} pointers found`);
  assert.deepEqual(named.filter((n) => !fs.existsSync(n.target)), []);
});

test("every relative Markdown link in the docs leads to a file", () => {
  const docs = files.filter((f) => f.endsWith(".md"));
  const links = docs.flatMap((file) =>
    [...fs.readFileSync(file, "utf8").matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((m) => m[1])
      .filter((href) => !/^[a-z]+:/i.test(href))
      .map((href) => ({ file, href, target: path.join(path.dirname(file), href) })),
  );
  assert.ok(links.length > 5, `only ${links.length} links found`);
  assert.deepEqual(links.filter((l) => !fs.existsSync(l.target)), []);
});
