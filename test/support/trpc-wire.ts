// The tRPC wire format over plain HTTP (superjson, no batching), in one place for the tests (test/support/trpc-http.ts),
// the end-to-end tests (e2e/helpers.ts, through Playwright's request context) and the benchmarks (bench/lib/server.ts).
// It imports nothing of the server, so each of them can load it.
import superjson from "superjson";

export type ProcedureKind = "query" | "mutation";

export interface WireRequest {
  method: "GET" | "POST";
  /** Path and query, relative to the server's base URL. */
  path: string;
  /** JSON body of a mutation. */
  body?: string;
}

/** The HTTP request that calls `procedure` with `input`: a GET with `?input=` for a query, a JSON POST for a mutation. */
export function encodeCall(procedure: string, input: unknown, kind: ProcedureKind): WireRequest {
  const serialized = JSON.stringify(superjson.serialize(input));
  if (kind === "query") return { method: "GET", path: `/api/trpc/${procedure}${input === undefined ? "" : `?input=${encodeURIComponent(serialized)}`}` };
  return { method: "POST", path: `/api/trpc/${procedure}`, body: serialized };
}

export interface WireResult {
  /** The deserialized result when it succeeded. */
  data?: unknown;
  /** The tRPC error code (UNAUTHORIZED, FORBIDDEN, …) when it failed. */
  code?: string;
  message?: string;
  /** False when the body was not JSON (a proxy's page, a crash). */
  json: boolean;
}

/** Reads a response body of the tRPC HTTP endpoint. */
export function decodeResponse(raw: string): WireResult {
  let body: { result?: { data?: unknown }; error?: unknown } | undefined;
  try {
    body = JSON.parse(raw);
  } catch {
    return { json: false };
  }
  if (body?.error) {
    const err = superjson.deserialize(body.error as never) as { message?: string; data?: { code?: string } };
    return { code: err?.data?.code, message: err?.message, json: true };
  }
  const data = body?.result?.data === undefined ? undefined : superjson.deserialize(body.result.data as never);
  return { data, json: true };
}

export interface FetchCallResult extends WireResult {
  status: number;
  raw: string;
  headers: Headers;
}

/** Calls a procedure with fetch; `headers` carry the credentials (bearer token or session cookie). */
export async function fetchCall(baseUrl: string, procedure: string, input: unknown, kind: ProcedureKind, headers: Record<string, string> = {}): Promise<FetchCallResult> {
  const req = encodeCall(procedure, input, kind);
  const res = await fetch(`${baseUrl}${req.path}`, {
    method: req.method,
    headers: req.body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: req.body,
  });
  const raw = await res.text();
  return { status: res.status, raw, headers: res.headers, ...decodeResponse(raw) };
}

/** Throws unless the call succeeded; returns its data. */
export function unwrap<T>(procedure: string, status: number, result: WireResult, raw: string): T {
  if (result.code || status >= 300 || !result.json) throw new Error(`${procedure} failed: ${status} ${result.code ?? ""} ${result.message ?? raw.slice(0, 300)}`);
  return result.data as T;
}
