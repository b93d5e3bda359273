// Socket.IO pushes that carry records (`lifecycle.event`, `system.health`) travel in superjson's form, the same
// transformer tRPC uses, so a pushed event has the very types a fetched one has (Dates stay Dates). `agent.updated`
// carries the board's compact rows instead (lib/agent-row.ts: plain numbers).
import superjson, { type SuperJSONResult } from "superjson";

export type PushPayload = SuperJSONResult;

export function encodePush(value: unknown): PushPayload {
  return superjson.serialize(value);
}

/** The pushed value, or undefined when the payload is not in superjson's form. */
export function decodePush<T>(payload: unknown): T | undefined {
  if (typeof payload !== "object" || payload === null || !("json" in payload)) return undefined;
  return superjson.deserialize<T>(payload as SuperJSONResult);
}

/** The fields every pushed lifecycle event has; the caller names the full type it expects (lib/client/types.ts). */
interface EventShape {
  id: string;
  event: string;
}

function isEvent(raw: unknown): raw is EventShape {
  return typeof raw === "object" && raw !== null && typeof (raw as { id?: unknown }).id === "string" && typeof (raw as { event?: unknown }).event === "string";
}

/** A `lifecycle.event` push, or undefined for anything else. */
export function decodeEventPush<E extends EventShape = EventShape>(payload: unknown): E | undefined {
  const event = decodePush<unknown>(payload);
  return isEvent(event) ? (event as E) : undefined;
}
