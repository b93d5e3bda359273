// The import graph of the product's sources, file by file and folder by folder (a folder is the first two path
// segments: `server/lifecycle`, `lib/contract`, `components/board`; files directly in a top folder belong to it).
import fs from "node:fs";
import path from "node:path";

export interface Import {
  from: string;
  to: string;
  /** `import type …` / `export type … from`: no code is loaded at run time. */
  typeOnly: boolean;
}

const SKIP = new Set(["node_modules", "generated", ".next", ".cache"]);

function sources(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : sources(p);
    return /\.(ts|tsx)$/.test(e.name) ? [p] : [];
  });
}

const STATEMENT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function resolve(root: string, fromFile: string, spec: string): string | null {
  let base: string;
  if (spec.startsWith("@/")) base = path.join(root, spec.slice(2));
  else if (spec.startsWith(".")) base = path.resolve(root, path.dirname(fromFile), spec);
  else return null;
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return path.relative(root, candidate);
  }
  return null;
}

/** Every import between the product's own code files under the given top folders (paths relative to root; data files such as JSON are not code). */
export function importsOf(root: string, tops: string[]): Import[] {
  const out: Import[] = [];
  for (const file of tops.flatMap((t) => sources(path.join(root, t)))) {
    const rel = path.relative(root, file);
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(STATEMENT)) {
      const spec = m[3] ?? m[4];
      const to = resolve(root, rel, spec);
      if (to && /\.tsx?$/.test(to)) out.push({ from: rel, to, typeOnly: Boolean(m[2]) });
    }
  }
  return out;
}

export function folderOf(file: string): string {
  const parts = file.split(path.sep);
  return parts.length > 2 ? parts.slice(0, 2).join("/") : parts[0];
}

/** Groups of folders that import each other, directly or through others (strongly connected components). */
export function folderCycles(imports: Import[]): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const i of imports) {
    const a = folderOf(i.from);
    const b = folderOf(i.to);
    if (a === b) continue;
    if (!edges.has(a)) edges.set(a, new Set());
    edges.get(a)!.add(b);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return groups;
}

/** For a failure message: the imports that make up a group's cycle. */
export function importsWithin(imports: Import[], group: string[]): string[] {
  return imports.filter((i) => folderOf(i.from) !== folderOf(i.to) && group.includes(folderOf(i.from)) && group.includes(folderOf(i.to))).map((i) => `${i.from} -> ${i.to}`);
}
