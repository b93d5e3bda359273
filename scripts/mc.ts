// `npm run mc -- <command>`: Mission Control from the terminal, with an operator API token (create one on the Tokens
// page). Every call is an ordinary tRPC / Socket.IO call authorised by the token's role and audited like a click.
//
//   MC_URL    where Mission Control runs (default http://127.0.0.1:3000)
//   MC_TOKEN  an operator API token (mco_…); --token works too, but the environment keeps it out of shell history
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import superjson from "superjson";
import { decodeRows } from "../lib/agent-row";
import { rooms as roomNames, SOCKET_COMMANDS, SOCKET_EVENTS } from "../lib/events";
import { decodePush } from "../lib/push";
import { io } from "socket.io-client";
import type { AppRouter } from "../server/trpc/root";
import { readFile } from "node:fs/promises";
import { cliConfig } from "../server/platform/config";
import { parseImport, type ImportRow } from "../server/fleet/import-file";

const USAGE = `Usage: npm run mc -- [--url URL] [--token TOKEN] <command> [options]

Commands:
  whoami                                   who the token acts as, and its role
  agents [--status S,S] [--gateway ID] [--board ID] [--q TEXT] [--json]
                                           list agents
  gateways [--json]                        list gateways
  reprovision <agentId>... [--all-offline] start a new provisioning cycle (operator)
  wake <agentId>...                        start a wake cycle (operator)
  rotate-token <agentId>                   issue and deliver a new agent token (operator)
  sync-templates <gatewayId> [--wake]      push the current templates to a gateway's agents (operator)
  import <file.csv|file.json> --gateway ID|NAME [--board ID|NAME] [--chunk N] [--no-wait]
                                           create a fleet: CSV header name,kind[,board][,simulatorBehaviour] or a
                                           JSON array of those fields; every row is checked first (nothing is
                                           created if one is bad), then created in chunks (operator)
  wake-all <gatewayId>                     a wake cycle for every agent of a gateway, as a queued job (operator)
  watch [--agent ID] [--gateway ID] [--board ID] [--events a,b] [--json]
                                           stream lifecycle events until Ctrl-C

Environment: MC_URL (default http://127.0.0.1:3000), MC_TOKEN (operator API token).`;

interface Args {
  command: string | undefined;
  positional: string[];
  flags: Map<string, string | true>;
}

function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) {
      const [key, inline] = a.slice(2).split("=", 2);
      if (inline !== undefined) flags.set(key, inline);
      else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith("--") && !BOOLEAN_FLAGS.has(key)) flags.set(key, argv[++i]);
      else flags.set(key, true);
    } else positional.push(a);
  }
  return { command: positional.shift(), positional, flags };
}

const BOOLEAN_FLAGS = new Set(["json", "wake", "all-offline", "help", "no-wait"]);

class UsageError extends Error {}

function flag(args: Args, name: string): string | undefined {
  const v = args.flags.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

function requireIds(ids: string[], what: string): string[] {
  if (ids.length === 0) throw new UsageError(`give at least one ${what} id`);
  for (const id of ids) if (!isUuid(id)) throw new UsageError(`not a ${what} id: ${id}`);
  return ids;
}

const cli = cliConfig();
const tty = process.stdout.isTTY && !cli.NO_COLOR;
const paint = (code: number, s: string) => (tty ? `\u001b[${code}m${s}\u001b[0m` : s);
const STATUS_COLOUR: Record<string, number> = { online: 32, offline: 31, waking: 33, provisioning: 36, updating: 34, deleting: 90 };

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => stripAnsi(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => cell + " ".repeat(widths[c] - stripAnsi(cell).length)).join("  ").trimEnd()).join("\n");
}

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[\d+m/g, "");
}

function ago(d: Date | string | null | undefined): string {
  if (!d) return "never";
  const s = Math.round((Date.now() - new Date(d).getTime()) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (!args.command || args.flags.has("help") || args.command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return args.command ? 0 : 2;
  }
  const url = (flag(args, "url") ?? cli.MC_URL ?? "http://127.0.0.1:3000").replace(/\/+$/, "");
  const token = flag(args, "token") ?? cli.MC_TOKEN;
  if (!token) throw new UsageError("set MC_TOKEN to an operator API token (create one on the Tokens page)");
  if (!/^https?:\/\//.test(url)) throw new UsageError(`MC_URL must be an http(s) URL, not ${url}`);
  if (url.startsWith("http://") && !/^http:\/\/(localhost|127\.|\[::1\])/.test(url)) {
    process.stderr.write("warning: sending an API token over plain HTTP; use https:// outside a trusted network\n");
  }
  const client = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/api/trpc`, transformer: superjson, headers: () => ({ authorization: `Bearer ${token}` }) })],
  });
  const json = args.flags.has("json");
  const out = (s: string) => process.stdout.write(`${s}\n`);

  switch (args.command) {
    case "whoami": {
      const me = await client.system.me.query();
      out(`${me.email} (${me.role})`);
      return 0;
    }
    case "agents": {
      const status = flag(args, "status")?.split(",").filter(Boolean);
      const agents = await client.agents.list.query({
        status: status as ("online" | "offline")[] | undefined,
        gatewayId: flag(args, "gateway"),
        boardId: flag(args, "board"),
        q: flag(args, "q"),
      });
      if (json) return out(JSON.stringify(agents, null, 2)), 0;
      if (agents.length === 0) return out("no agents"), 0;
      const rows = [["ID", "NAME", "STATUS", "KIND", "GATEWAY", "BOARD", "ATTEMPT", "LAST SEEN", "REJECTED", "LAST ERROR"]];
      for (const a of agents) {
        rows.push([
          a.id,
          a.name,
          paint(STATUS_COLOUR[a.status] ?? 0, a.status),
          a.kind,
          a.gateway.name,
          a.board?.name ?? "-",
          `${a.wakeAttempts}/${a.maxWakeAttempts}`,
          ago(a.lastSeenAt),
          a.heartbeatsRejected ? `${a.heartbeatsRejected} (${a.lastRejectedReason ?? "?"})` : "0",
          (a.lastProvisionError ?? "").slice(0, 60),
        ]);
      }
      out(table(rows));
      return 0;
    }
    case "gateways": {
      const gateways = await client.gateways.list.query();
      if (json) return out(JSON.stringify(gateways, null, 2)), 0;
      const rows = [["ID", "NAME", "DRIVER", "STATUS", "VERSION", "URL", "LAST ERROR"]];
      for (const g of gateways) rows.push([g.id, g.name, g.driver, g.status, g.runtimeVersion ?? "-", g.url ?? "-", (g.lastError ?? "").slice(0, 60)]);
      out(table(rows));
      return 0;
    }
    case "reprovision": {
      let ids = args.positional;
      if (args.flags.has("all-offline")) ids = [...ids, ...(await client.agents.list.query({ status: ["offline"] })).map((a) => a.id)];
      requireIds(ids, "agent");
      if (ids.length === 1) {
        const a = await client.agents.reprovision.mutate({ id: ids[0] });
        out(`reprovision started: ${a.name} cycle ${a.lifecycleGeneration} (${a.status})`);
      } else {
        const r = await client.agents.bulkReprovision.mutate({ ids });
        out(`reprovision started for ${r.started} agent(s)${r.missing.length ? `; not found: ${r.missing.join(", ")}` : ""}`);
      }
      return 0;
    }
    case "wake": {
      for (const id of requireIds(args.positional, "agent")) {
        const a = await client.agents.wake.mutate({ id });
        out(`wake cycle started: ${a.name} cycle ${a.lifecycleGeneration}`);
      }
      return 0;
    }
    case "rotate-token": {
      const [id] = requireIds(args.positional, "agent");
      const a = await client.agents.rotateToken.mutate({ id });
      out(`token rotation started for ${a.name} (cycle ${a.lifecycleGeneration}); the new token goes to the gateway only`);
      return 0;
    }
    case "sync-templates": {
      const [id] = requireIds(args.positional, "gateway");
      const r = await client.gateways.syncTemplates.mutate({ id, wake: args.flags.has("wake") });
      out(`template sync started (run ${r.runId}); follow it with: npm run mc -- watch --gateway ${id}`);
      return 0;
    }
    case "import":
      return importFleet(client, args, out);
    case "wake-all": {
      const [id] = requireIds(args.positional, "gateway");
      const r = await client.gateways.wakeAll.mutate({ id });
      out(`gateway-wide wake queued (operation ${r.operationId})`);
      return followOperations(client, [r.operationId], out);
    }
    case "watch":
      return watch(url, token, args, client, json);
    default:
      throw new UsageError(`unknown command: ${args.command}`);
  }
}

type Client = ReturnType<typeof createTRPCClient<AppRouter>>;

/** Rows are sent in chunks of this many (one createMany call each; the server writes 1,000 per transaction). */
const IMPORT_CHUNK = 1000;

async function importFleet(client: Client, args: Args, out: (s: string) => void): Promise<number> {
  const file = args.positional[0];
  if (!file) throw new UsageError("give the file to import (.csv or .json)");
  const gatewayRef = flag(args, "gateway");
  if (!gatewayRef) throw new UsageError("--gateway ID|NAME is required");
  const chunk = Number(flag(args, "chunk") ?? IMPORT_CHUNK);
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 10_000) throw new UsageError("--chunk must be 1..10000");
  const parsed = parseImport(await readFile(file, "utf8"), /\.json$/i.test(file) ? "json" : "csv");
  const where = (line: number) => (line === 0 ? file : `${file}:${parsed.unit === "line" ? line : `item ${line}`}`);
  const report = (problems: { line: number; problem: string }[]) => {
    for (const p of problems.slice(0, 50)) process.stderr.write(`${where(p.line)}: ${p.problem}\n`);
    if (problems.length > 50) process.stderr.write(`… and ${problems.length - 50} more\n`);
    process.stderr.write(`${problems.length} bad row(s); nothing was created\n`);
    return 1;
  };
  if (parsed.problems.length > 0) return report(parsed.problems);

  const gateways = await client.gateways.list.query();
  const gateway = gateways.find((g) => g.id === gatewayRef) ?? gateways.find((g) => g.name === gatewayRef);
  if (!gateway) throw new UsageError(`no gateway ${gatewayRef}`);
  const boards = await client.boards.list.query({ gatewayId: gateway.id });
  const boardOf = (ref: string) => boards.find((b) => b.id === ref) ?? boards.find((b) => b.name === ref);
  const defaultBoard = flag(args, "board");
  if (defaultBoard && !boardOf(defaultBoard)) throw new UsageError(`no board ${defaultBoard} on gateway ${gateway.name}`);
  const problems: { line: number; problem: string }[] = [];
  const agents = parsed.rows.map((r: ImportRow) => {
    const ref = r.board ?? (r.kind === "gateway_main" ? undefined : defaultBoard);
    const board = ref ? boardOf(ref) : undefined;
    if (ref && !board) problems.push({ line: r.line, problem: `no board ${ref} on gateway ${gateway.name}` });
    return {
      name: r.name,
      kind: r.kind,
      boardId: board?.id,
      simulatorBehaviour: r.simulatorBehaviour as "healthy" | undefined, // checked by parseImport
    };
  });
  if (problems.length > 0) return report(problems);

  const chunks: { start: number; agents: typeof agents }[] = [];
  for (let i = 0; i < agents.length; i += chunk) chunks.push({ start: i, agents: agents.slice(i, i + chunk) });
  // The server names bad rows as agents[i] of a call: turn them into lines of the file.
  const serverProblems = (err: unknown, start: number) => {
    if (!(err instanceof TRPCClientError)) throw err;
    const found = [...err.message.matchAll(/agents(?:\[(\d+)\]|\.(\d+)(?:\.\w+)?)(?: "[^"]*")?: ([^;]+)/g)].map((m) => ({
      line: parsed.rows[start + Number(m[1] ?? m[2])].line,
      problem: m[3].replace(/agents\[(\d+)\]/g, (_, i: string) => `${parsed.unit} ${parsed.rows[start + Number(i)].line}`).trim(),
    }));
    return found.length > 0 ? found : [{ line: 0, problem: err.message }];
  };
  // Everything is checked (names taken on the gateway, boards) before the first agent is created.
  for (const c of chunks) {
    try {
      await client.agents.createMany.mutate({ gatewayId: gateway.id, agents: c.agents, dryRun: true });
    } catch (err) {
      problems.push(...serverProblems(err, c.start));
    }
  }
  if (problems.length > 0) return report(problems);

  const started = Date.now();
  const operations: string[] = [];
  let created = 0;
  for (const c of chunks) {
    try {
      const r = await client.agents.createMany.mutate({ gatewayId: gateway.id, agents: c.agents });
      created += r.count;
      if (r.operationId) operations.push(r.operationId);
    } catch (err) {
      // Checked a moment ago: someone created a clashing agent since. What is created stays (each agent is whole).
      process.stderr.write(`stopped after ${created} agents: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
    process.stderr.write(`created ${created}/${agents.length}\n`);
  }
  const seconds = (Date.now() - started) / 1000;
  out(`created ${created} agents on ${gateway.name} in ${seconds.toFixed(1)} s (${Math.round(created / Math.max(seconds, 0.001))}/s)`);
  if (args.flags.has("no-wait")) {
    out(`provisioning queued: ${operations.join(", ")}`);
    return 0;
  }
  return followOperations(client, operations, out);
}

/** Follows queued fleet operations to their end, printing progress; 1 if any failed. */
async function followOperations(client: Client, ids: string[], out: (s: string) => void): Promise<number> {
  let last = "";
  for (;;) {
    const ops = await Promise.all(ids.map((id) => client.fleet.operation.query({ id })));
    const total = ops.reduce((n, o) => n + o.total, 0);
    const done = ops.reduce((n, o) => n + o.done, 0);
    const failed = ops.reduce((n, o) => n + o.failed, 0);
    const line = `provisioning ${done}/${total}${failed ? `, ${failed} failed` : ""}`;
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
    if (ops.every((o) => o.status === "done" || o.status === "failed")) {
      const stopped = ops.filter((o) => o.status === "failed");
      out(`provisioning finished: ${done}/${total} handled, ${failed} failed${stopped.length ? `; ${stopped.length} operation(s) stopped: ${stopped.map((o) => o.error).join("; ")}` : ""}`);
      return stopped.length ? 1 : 0;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

interface PushedEvent {
  at: Date;
  event: string;
  message: string;
  agentId?: string | null;
  gatewayId?: string | null;
  attempt?: number | null;
  actor?: string | null;
}

async function watch(url: string, token: string, args: Args, client: Client, json: boolean): Promise<number> {
  const rooms: string[] = [];
  for (const [flagName, room] of [
    ["agent", "agent"],
    ["gateway", "gateway"],
    ["board", "board"],
  ] as const) {
    const v = flag(args, flagName);
    if (v) {
      if (!isUuid(v)) throw new UsageError(`not a ${flagName} id: ${v}`);
      rooms.push(roomNames[room](v));
    }
  }
  if (rooms.length === 0) rooms.push(roomNames.fleet);
  const only = flag(args, "events")?.split(",").filter(Boolean);
  const names = new Map((await client.agents.list.query({})).map((a) => [a.id, a.name]));

  const socket = io(url, { path: "/socket.io", transports: ["websocket"], auth: { token } });
  return new Promise<number>((resolve) => {
    const stop = (code: number) => {
      socket.close();
      resolve(code);
    };
    process.on("SIGINT", () => stop(0));
    socket.on("connect", async () => {
      const ack = (await socket.emitWithAck(SOCKET_COMMANDS.subscribe, { rooms })) as { ok: boolean; error?: string };
      if (!ack.ok) {
        process.stderr.write(`subscribe failed: ${ack.error}\n`);
        return stop(1);
      }
      process.stderr.write(`watching ${rooms.join(", ")} on ${url} (Ctrl-C to stop)\n`);
    });
    socket.on("connect_error", (err) => {
      if (err.message === "unauthorized" || err.message === "rate_limited") {
        process.stderr.write(`connection refused: ${err.message === "unauthorized" ? "the token is invalid, expired or revoked" : "too many failures; retry later"}\n`);
        return stop(1);
      }
      process.stderr.write(`cannot connect (${err.message}); retrying…\n`);
    });
    socket.on("auth.expired", () => {
      process.stderr.write("the token stopped working (revoked, expired or its operator disabled)\n");
      stop(1);
    });
    socket.on(SOCKET_EVENTS.lifecycleEvent, (payload: unknown) => {
      const e = decodePush<PushedEvent>(payload);
      if (!e) return;
      if (only && !only.some((o) => e.event === o || e.event.startsWith(`${o}.`))) return;
      if (json) return void process.stdout.write(`${JSON.stringify(e)}\n`);
      const at = new Date(e.at).toISOString().slice(11, 23);
      const who = e.agentId ? (names.get(e.agentId) ?? e.agentId.slice(0, 8)) : e.gatewayId ? `gateway ${e.gatewayId.slice(0, 8)}` : "-";
      const colour = /failed|max_attempts|heartbeat_lost|rejected/.test(e.event) ? 31 : /succeeded|heartbeat$|checked_in/.test(e.event) ? 32 : 0;
      process.stdout.write(`${at}  ${paint(colour, e.event.padEnd(42))} ${who.padEnd(20)} ${e.message}\n`);
    });
    socket.on(SOCKET_EVENTS.agentUpdated, (payload: unknown) => {
      for (const a of decodeRows(payload)) names.set(a.id, a.name);
    });
  });
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    if (err instanceof TRPCClientError) {
      const code = (err.data as { code?: string } | undefined)?.code;
      process.stderr.write(`error${code ? ` (${code})` : ""}: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
