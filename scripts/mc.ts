// `npm run mc -- <command>`: Mission Control from the terminal, with an operator API token (create one on the Tokens
// page). Every call is an ordinary tRPC / Socket.IO call authorised by the token's role and audited like a click.
//
//   MC_URL    where Mission Control runs (default http://127.0.0.1:3000)
//   MC_TOKEN  an operator API token (mco_…); --token works too, but the environment keeps it out of shell history
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import superjson from "superjson";
import { decodeRows } from "../lib/agent-row";
import { io } from "socket.io-client";
import type { AppRouter } from "../server/trpc/root";
import { cliConfig } from "../server/config";

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

const BOOLEAN_FLAGS = new Set(["json", "wake", "all-offline", "help"]);

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
    case "watch":
      return watch(url, token, args, client, json);
    default:
      throw new UsageError(`unknown command: ${args.command}`);
  }
}

interface PushedEvent {
  at: string | Date;
  event: string;
  message: string;
  agentId?: string | null;
  gatewayId?: string | null;
  attempt?: number | null;
  actor?: string | null;
}

async function watch(url: string, token: string, args: Args, client: ReturnType<typeof createTRPCClient<AppRouter>>, json: boolean): Promise<number> {
  const rooms: string[] = [];
  for (const [flagName, room] of [
    ["agent", "agent"],
    ["gateway", "gateway"],
    ["board", "board"],
  ] as const) {
    const v = flag(args, flagName);
    if (v) {
      if (!isUuid(v)) throw new UsageError(`not a ${flagName} id: ${v}`);
      rooms.push(`${room}:${v}`);
    }
  }
  if (rooms.length === 0) rooms.push("fleet");
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
      const ack = (await socket.emitWithAck("subscribe", { rooms })) as { ok: boolean; error?: string };
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
    socket.on("lifecycle.event", (e: PushedEvent) => {
      if (only && !only.some((o) => e.event === o || e.event.startsWith(`${o}.`))) return;
      if (json) return void process.stdout.write(`${JSON.stringify(e)}\n`);
      const at = new Date(e.at).toISOString().slice(11, 23);
      const who = e.agentId ? (names.get(e.agentId) ?? e.agentId.slice(0, 8)) : e.gatewayId ? `gateway ${e.gatewayId.slice(0, 8)}` : "-";
      const colour = /failed|max_attempts|heartbeat_lost|rejected/.test(e.event) ? 31 : /succeeded|heartbeat$|checked_in/.test(e.event) ? 32 : 0;
      process.stdout.write(`${at}  ${paint(colour, e.event.padEnd(42))} ${who.padEnd(20)} ${e.message}\n`);
    });
    socket.on("agent.updated", (payload: unknown) => {
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
