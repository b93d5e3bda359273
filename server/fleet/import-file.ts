// `mc import`: a fleet from a CSV (header `name,kind[,board][,simulatorBehaviour]`) or a JSON array of the same
// fields. Parsed and checked here, before any call, so that every bad row is reported with its line and nothing is
// created; the server checks again (names taken on the gateway, boards) as a whole.
import { AGENT_KINDS, type AgentKind } from "../../lib/contract/enums";

export const IMPORT_KINDS = AGENT_KINDS;
export type ImportKind = AgentKind;

export interface ImportRow {
  /** Line of the CSV file (1 = header) or position in the JSON array (1-based). */
  line: number;
  name: string;
  kind: ImportKind;
  /** A board id or name, as written. */
  board?: string;
  simulatorBehaviour?: string;
}

export interface ImportProblem {
  line: number;
  problem: string;
}

export interface ParsedImport {
  rows: ImportRow[];
  problems: ImportProblem[];
  /** "line" for CSV, "item" for JSON: what `line` counts. */
  unit: "line" | "item";
}

/** The simulator's behaviours (server/drivers/simulator/driver.ts, not imported: the CLI stays light). */
const BEHAVIOURS = ["healthy", "slow", "silent", "flaky", "bad_token", "crash_after"];
const NAME = /^[\p{L}\p{N} ._-]+$/u;
const COLUMNS = ["name", "kind", "board", "simulatorBehaviour"] as const;

/** RFC 4180 records (quoted fields, "" escapes, CRLF or LF), each with the line it starts on. */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  let any = false;
  const end = () => {
    fields.push(field);
    if (any || fields.length > 1 || field !== "") records.push({ line: start, fields });
    fields = [];
    field = "";
    any = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      any = true;
    } else if (c === ",") {
      fields.push(field);
      field = "";
      any = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      end();
      line++;
      start = line;
    } else field += c;
  }
  if (field !== "" || fields.length > 0 || any) end();
  return records;
}

function checkRow(line: number, raw: Record<string, unknown>, problems: ImportProblem[]): ImportRow | null {
  const bad = (problem: string) => {
    problems.push({ line, problem });
    return null;
  };
  const text = (v: unknown) => (typeof v === "string" ? v.trim() : v === undefined || v === null ? "" : null);
  const name = text(raw.name);
  const kind = text(raw.kind);
  const board = text(raw.board);
  const behaviour = text(raw.simulatorBehaviour);
  if (name === null || kind === null || board === null || behaviour === null) return bad("fields must be text");
  if (!name) return bad("name is empty");
  if (name.length > 80) return bad("name is longer than 80 characters");
  if (!NAME.test(name)) return bad(`name "${name}": letters, digits, spaces, dot, dash and underscore only`);
  if (!(IMPORT_KINDS as readonly string[]).includes(kind)) return bad(`kind "${kind}" is not one of ${IMPORT_KINDS.join(", ")}`);
  if (behaviour && !BEHAVIOURS.includes(behaviour)) return bad(`simulatorBehaviour "${behaviour}" is not one of ${BEHAVIOURS.join(", ")}`);
  return { line, name, kind: kind as ImportKind, board: board || undefined, simulatorBehaviour: behaviour || undefined };
}

export function parseImport(text: string, format: "csv" | "json"): ParsedImport {
  const problems: ImportProblem[] = [];
  const rows: ImportRow[] = [];
  if (format === "json") {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      return { rows, problems: [{ line: 0, problem: `not JSON: ${(err as Error).message}` }], unit: "item" };
    }
    if (!Array.isArray(data)) return { rows, problems: [{ line: 0, problem: "expected a JSON array of agents" }], unit: "item" };
    data.forEach((item, i) => {
      if (typeof item !== "object" || item === null || Array.isArray(item)) return void problems.push({ line: i + 1, problem: "not an object" });
      const unknown = Object.keys(item).filter((k) => !(COLUMNS as readonly string[]).includes(k));
      if (unknown.length) return void problems.push({ line: i + 1, problem: `unknown field ${unknown.join(", ")}` });
      const row = checkRow(i + 1, item as Record<string, unknown>, problems);
      if (row) rows.push(row);
    });
  } else {
    const records = parseCsv(text.replace(/^\uFEFF/, ""));
    if (records.length === 0) return { rows, problems: [{ line: 1, problem: "empty file" }], unit: "line" };
    const header = records[0].fields.map((h) => h.trim());
    const unknown = header.filter((h) => !(COLUMNS as readonly string[]).includes(h));
    if (unknown.length || !header.includes("name") || !header.includes("kind")) {
      return {
        rows,
        problems: [{ line: 1, problem: `header must be name,kind[,board][,simulatorBehaviour]${unknown.length ? ` (unknown: ${unknown.join(", ")})` : ""}` }],
        unit: "line",
      };
    }
    for (const { line, fields } of records.slice(1)) {
      if (fields.length !== header.length) {
        problems.push({ line, problem: `${fields.length} fields, expected ${header.length}` });
        continue;
      }
      const row = checkRow(line, Object.fromEntries(header.map((h, i) => [h, fields[i]])), problems);
      if (row) rows.push(row);
    }
  }
  const firstLine = new Map<string, number>();
  for (const row of rows) {
    const first = firstLine.get(row.name);
    if (first !== undefined) problems.push({ line: row.line, problem: `name "${row.name}" repeats ${format === "csv" ? "line" : "item"} ${first}` });
    else firstLine.set(row.name, row.line);
  }
  if (rows.length === 0 && problems.length === 0) problems.push({ line: 0, problem: "no agents in the file" });
  problems.sort((a, b) => a.line - b.line);
  return { rows, problems, unit: format === "csv" ? "line" : "item" };
}
