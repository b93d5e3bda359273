#!/usr/bin/env node
/*
 * Stand-in for Prisma's native `schema-engine` binary (selected through PRISMA_SCHEMA_ENGINE_BINARY in
 * prisma.config.ts).
 *
 * Why: every Prisma 7 CLI command first downloads a native schema engine from binaries.prisma.sh, which our
 * machines cannot reach. This script speaks the same CLI <-> engine protocol and forwards the work to the
 * WebAssembly build of the same engine (@prisma/schema-engine-wasm, same engine hash as the CLI), talking to
 * PostgreSQL through @prisma/adapter-pg. See /work/shared/STACK.md, "Prisma without the native schema engine".
 *
 * Protocol, as the CLI (node_modules/prisma/build/cli.js) uses it:
 *   schema-engine --version                                  -> "schema-engine-cli <hash>" on stdout
 *   schema-engine --datasource <json> cli <command>          -> one-shot database commands (done with `pg` here)
 *   schema-engine [--datamodels <file>]... [--datasource <json>] -> JSON-RPC 2.0, one message per line on
 *                                                                  stdin/stdout, until stdin closes
 * The CLI ignores the first stderr line of a one-shot command and parses every later line as JSON, so a harmless
 * JSON log line is printed first in every mode.
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const crypto = require("node:crypto");
const pg = require("pg");

// ---------------------------------------------------------------------------------------------------------------
// stderr logging in the engine's JSON log format ({level, target, fields: {message, ...}})

function logLine(level, message, extra) {
  process.stderr.write(
    JSON.stringify({ timestamp: new Date().toISOString(), level, target: "schema_engine::logger", fields: { message, ...extra } }) + "\n",
  );
}

// The CLI drops the first stderr line of `cli ...` commands (the native engine prints a banner there).
logLine("INFO", "Starting schema engine (wasm, scripts/prisma-schema-engine.cjs)");

// ---------------------------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const out = { datamodels: [], datasource: null, cli: null, version: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--version" || a === "-V") out.version = true;
    else if (a === "--datamodels" || a === "-d") out.datamodels.push(argv[++i]);
    else if (a === "--datasource") out.datasource = JSON.parse(argv[++i]);
    else if (a === "--enabled-preview-features" || a === "--extension-types") i++; // not used by the wasm engine
    else if (a === "cli") out.cli = argv[++i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Loading the wasm engine. The package's own entry does `import * as wasm from "./schema_engine_bg.wasm"`, which
// Node 20 cannot import, so we instantiate the .wasm ourselves and hand it to the wasm-bindgen glue module.

async function loadWasm() {
  const gluePath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
  const glue = await import(require("node:url").pathToFileURL(gluePath).href);
  const bytes = fs.readFileSync(path.join(path.dirname(gluePath), "schema_engine_bg.wasm"));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { "./schema_engine_bg.js": glue });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return glue;
}

// ---------------------------------------------------------------------------------------------------------------
// pg helpers

function databaseName(url) {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, "")) || "postgres";
}

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = "/" + encodeURIComponent(name);
  return u.toString();
}

const quoteIdent = (name) => '"' + String(name).replace(/"/g, '""') + '"';

/** Do two connection strings name the same database (whatever the spelling or `?schema=`)? */
function sameDatabase(a, b) {
  const key = (url) => {
    const u = new URL(url);
    const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, "");
    return [["localhost", "127.0.0.1", "::1"].includes(host) ? "localhost" : host, u.port || "5432", databaseName(url)].join("|");
  };
  return key(a) === key(b);
}

/** Empty a (shadow) database: drop every user schema, recreate `public`. */
async function resetDatabase(client) {
  const { rows } = await client.query(
    "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'",
  );
  for (const { nspname } of rows) await client.query(`DROP SCHEMA ${quoteIdent(nspname)} CASCADE`);
  await client.query("CREATE SCHEMA IF NOT EXISTS public");
}

/** Run `fn(client)` on a short-lived connection. */
async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Map a connection error to the Prisma error codes the CLI understands (P1000/P1001/P1003). */
function userFacingError(err, url) {
  const u = new URL(url);
  const where = `${u.hostname}:${u.port || 5432}`;
  if (err && err.code === "3D000")
    return { error_code: "P1003", message: `Database \`${databaseName(url)}\` does not exist on the database server at \`${where}\`.` };
  if (err && (err.code === "28P01" || err.code === "28000"))
    return { error_code: "P1000", message: `Authentication failed against database server at \`${where}\`: ${err.message}` };
  if (err && ["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ETIMEDOUT", "ECONNRESET"].includes(err.code))
    return { error_code: "P1001", message: `Can't reach database server at \`${where}\`\n\nPlease make sure your database server is running at \`${where}\`.` };
  return { error_code: undefined, message: String((err && err.message) || err) };
}

// ---------------------------------------------------------------------------------------------------------------
// One-shot commands: `schema-engine --datasource {"url":...} cli <command>`.
// Failures are reported as an ERROR log line on stderr (the CLI reads fields.error_code / fields.message).

async function runCliCommand(command, datasource) {
  const url = datasource && datasource.url;
  if (!url) throw Object.assign(new Error("No datasource url was given"), { userFacing: true });
  const adminUrl = withDatabase(url, "postgres"); // connect elsewhere to create/drop the target
  const name = databaseName(url);
  switch (command) {
    case "can-connect-to-database":
      await withClient(url, (c) => c.query("SELECT 1"));
      return;
    case "create-database":
      await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
      process.stdout.write(`Database '${name}' was successfully created.\n`);
      return;
    case "drop-database":
      await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
      process.stdout.write(`The database '${name}' was successfully dropped.\n`);
      return;
    default:
      throw new Error(`Unsupported cli command: ${command}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The driver adapter handed to the wasm engine, with three fixes to @prisma/adapter-pg 7.10 (each reproduced).

/**
 * Fix 1: adapter-pg cannot deserialize PostgreSQL's internal one-byte `"char"` type (OID 18), which the engine's
 * catalog queries return (e.g. pg_class.relkind, pg_constraint.contype), and fails with UnsupportedNativeDataType.
 * Its text form is an ordinary string, so report those columns as `text` (OID 25). Pool queries use pg's callback
 * form, PoolClient queries the promise form: both are handled.
 */
const CHAR_OID = 18;
const TEXT_OID = 25;
function charAsText(result) {
  for (const r of Array.isArray(result) ? result : [result]) {
    if (r && Array.isArray(r.fields)) for (const f of r.fields) if (f.dataTypeID === CHAR_OID) f.dataTypeID = TEXT_OID;
  }
  return result;
}
class CharAsTextClient extends pg.Client {
  query(config, values, callback) {
    if (config && typeof config.submit === "function") return super.query(config, values, callback); // Submittable
    if (typeof values === "function") {
      callback = values;
      values = undefined;
    }
    if (typeof callback === "function") {
      return super.query(config, values, (err, res) => callback(err, err ? res : charAsText(res)));
    }
    return super.query(config, values).then(charAsText);
  }
}

const { PrismaPg } = require("@prisma/adapter-pg");
const { bindMigrationAwareSqlAdapterFactory } = require("@prisma/driver-adapter-utils");

/**
 * Fix 2: adapter-pg's executeScript splits the script on `;`, which breaks `$$ ... $$` function bodies and string
 * literals containing `;`. A query without parameters goes through PostgreSQL's simple protocol, which accepts
 * several statements at once, so run the whole script as one query.
 */
function patchExecuteScript(adapter) {
  adapter.executeScript = async function executeScript(script) {
    try {
      await this.client.query(script);
    } catch (error) {
      this.onError(error); // converts to a DriverAdapterError and throws
    }
  };
  return adapter;
}

function adapterOptions(url) {
  // Honour `?schema=` like the native engine does; pg would otherwise ignore it.
  const schema = new URL(url).searchParams.get("schema");
  return schema ? { schema } : undefined;
}

class PatchedPrismaPg extends PrismaPg {
  constructor(url, shadowDatabaseUrl) {
    super({ connectionString: url, Client: CharAsTextClient }, adapterOptions(url));
    this.url = url;
    this.shadowDatabaseUrl = shadowDatabaseUrl;
  }

  async connect() {
    return patchExecuteScript(await super.connect());
  }

  /**
   * Fix 3: adapter-pg creates the shadow database and then builds a pool from `{ ...config, database }`; with a
   * connection string, pg lets the string win and the "shadow" pool talks to the main database (the engine then
   * resets it!). Create the database ourselves, connect to it by URL, and drop it after its pool is closed.
   */
  async connectToShadowDb() {
    if (this.shadowDatabaseUrl) {
      // A configured shadow database (datasource.shadowDatabaseUrl). The native engine refuses the main database
      // and resets the shadow first; the wasm engine does neither (it would replay the migrations into whatever
      // database that is), so do both here.
      if (sameDatabase(this.shadowDatabaseUrl, this.url))
        throw new Error("The shadow database you configured appears to be the same as the main database. Please specify another shadow database.");
      await withClient(this.shadowDatabaseUrl, resetDatabase);
      return new PatchedPrismaPg(this.shadowDatabaseUrl).connect();
    }
    const name = `prisma_migrate_shadow_db_${crypto.randomUUID()}`;
    await withClient(this.url, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
    const adapter = await new PatchedPrismaPg(withDatabase(this.url, name)).connect();
    const closePool = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await closePool();
      await withClient(this.url, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    };
    return adapter;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// JSON-RPC server

const RPC_ERROR_CODE = 4466; // what the native engine uses for user-facing errors; the CLI reads error.data

function send(message) {
  process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n");
}

function errorPayload(err, errorRegistry) {
  // The wasm engine rejects with Error instances carrying a Prisma error code in `code` (e.g. P1012 for an invalid
  // schema); the CLI wants it as `error_code`.
  let message = (err && (err.message || (typeof err === "string" ? err : null))) || JSON.stringify(err);
  // Errors thrown by the adapter reach the engine only as "External error id#N": add the original message.
  const external = /External error id#(\d+)/.exec(message);
  const original = external && errorRegistry && errorRegistry.consumeError(Number(external[1]));
  if (original && original.error) message += `\n${original.error.message || JSON.stringify(original.error)}`;
  const code = err && (err.error_code || err.code);
  const error_code = typeof code === "string" && /^P\d{4}$/.test(code) ? code : undefined;
  const data = { is_panic: false, message, error_code, meta: err && err.meta };
  return { code: RPC_ERROR_CODE, message: "An error happened. Check the data field for details.", data };
}

async function runRpcServer(args) {
  const glue = await loadWasm();
  const datasource = args.datasource || {};
  const datamodels = args.datamodels.map((file) => [file, fs.readFileSync(file, "utf8")]);
  const engineLog = (line) => {
    if (process.env.PRISMA_SCHEMA_ENGINE_DEBUG) process.stderr.write(String(line).trimEnd() + "\n");
  };

  let engine = null;
  let boundFactory = null;
  const getEngine = async () => {
    if (engine) return engine;
    if (!datasource.url) throw { message: "The datasource has no url (set DATABASE_URL / prisma.config.ts datasource.url)." };
    boundFactory = bindMigrationAwareSqlAdapterFactory(new PatchedPrismaPg(datasource.url, datasource.shadowDatabaseUrl));
    engine = await glue.SchemaEngine.new({ datamodels: datamodels.length ? datamodels : undefined }, engineLog, boundFactory);
    return engine;
  };

  // Outgoing requests (only `print`) wait for the CLI's reply on stdin.
  let nextOwnId = 1;
  const pendingReplies = new Map();
  const requestFromCli = (method, params) =>
    new Promise((resolve) => {
      const id = `engine-${nextOwnId++}`;
      pendingReplies.set(id, resolve);
      send({ id, method, params });
    });

  // The engine refuses createMigration / evaluateDataLoss ("migrate dev") unless devDiagnostic ran on this
  // instance after the last applyMigrations; the native binary does not need it. Re-run it when needed.
  let diagnosticIsStale = false;

  async function handle(method, params) {
    switch (method) {
      case "getDatabaseVersion":
        return (await getEngine()).version(params ?? null);
      case "createDatabase": {
        const url = (params && params.datasource && params.datasource.url) || datasource.url;
        await runCliCommand("create-database", { url });
        return { databaseName: databaseName(url) };
      }
      case "diff": {
        // The native engine prints the diff through a `print` request and answers only the exit code.
        const result = await (await getEngine()).diff(params);
        if (result.stdout != null) await requestFromCli("print", { content: result.stdout.replace(/\n$/, "") });
        return { exitCode: result.exitCode };
      }
      case "createMigration":
      case "evaluateDataLoss": {
        const e = await getEngine();
        if (diagnosticIsStale) {
          await e.devDiagnostic({ migrationsList: params.migrationsList, filters: params.filters });
          diagnosticIsStale = false;
        }
        return e[method](params);
      }
      default: {
        const e = await getEngine();
        if (typeof e[method] !== "function" || method === "free" || method.startsWith("_"))
          throw { rpcCode: -32601, message: `Method not found: ${method}` };
        const result = await e[method](params);
        if (method === "applyMigrations") diagnosticIsStale = true;
        if (method === "devDiagnostic") diagnosticIsStale = false;
        return result === undefined ? {} : result;
      }
    }
  }

  const inFlight = new Set();
  // Requests are processed one at a time, in order, like the native engine does.
  let queue = Promise.resolve();
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on("line", (line) => {
    if (!line.trim()) return;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      send({ id: null, error: { code: -32700, message: "Parse error" } });
      return;
    }
    if (msg.method === undefined) {
      // A reply to one of our own requests (print).
      const resolve = pendingReplies.get(msg.id);
      pendingReplies.delete(msg.id);
      if (resolve) resolve(msg.result);
      return;
    }
    const p = (queue = queue.then(async () => {
      try {
        send({ id: msg.id, result: await handle(msg.method, msg.params) });
      } catch (err) {
        if (err && err.rpcCode) send({ id: msg.id, error: { code: err.rpcCode, message: err.message } });
        else {
          const error = errorPayload(err, boundFactory && boundFactory.errorRegistry);
          logLine("ERROR", error.data.message);
          send({ id: msg.id, error });
        }
      }
    }));
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
  });
  rl.on("close", async () => {
    // stdin closed: the CLI is done with us. Finish in-flight work, release connections, exit.
    await Promise.allSettled([...inFlight]);
    try {
      if (engine) engine.free();
    } catch {}
    process.exit(0);
  });
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.version) {
    const glue = await loadWasm();
    process.stdout.write(`schema-engine-cli ${glue.version()}\n`);
    return;
  }
  if (args.cli) {
    try {
      await runCliCommand(args.cli, args.datasource);
    } catch (err) {
      const { error_code, message } = userFacingError(err, (args.datasource && args.datasource.url) || "postgresql://localhost");
      logLine("ERROR", message, error_code ? { error_code } : {});
      process.exitCode = 1;
    }
    return;
  }
  await runRpcServer(args);
}

main().catch((err) => {
  logLine("ERROR", String((err && err.stack) || err));
  process.exit(1);
});
