// The board's row of an agent: only what the live board table shows, in a compact wire form. Board pages
// (`agents.page`) and live pushes (`agent.updated`) both carry rows in this form, so one decoder serves both; the
// agent page loads the full record (`agents.get`). Pure and client-safe.
//
// Wire form: `{ refs, rows }`. Each row is a tuple in ROW_FIELDS order; gateway and board ids are indexes into `refs`
// (a page holds a few gateways and boards, so a row pays a digit instead of a 38-byte uuid); kind and status are
// indexes into their lists; times are epoch milliseconds. About 110–170 bytes per agent as JSON.
import { AGENT_KINDS, AGENT_STATUSES, type AgentKind, type AgentStatus } from "./contract/enums";

export { AGENT_KINDS, type AgentKind };

/** Errors on the board are a one-line summary; the agent page shows the whole text. */
export const ROW_ERROR_CHARS = 120;

export interface AgentRow {
  id: string;
  name: string;
  kind: AgentKind;
  status: AgentStatus;
  statusReason: string | null;
  gatewayId: string;
  boardId: string | null;
  wakeAttempts: number;
  maxWakeAttempts: number;
  lifecycleGeneration: number;
  checkinDeadlineAt: number | null;
  lastSeenAt: number | null;
  lastProvisionError: string | null;
  templateStale: boolean;
  heartbeatsRejected: number;
  lastRejectedReason: string | null;
  /** Orders pushes: a row never replaces a newer one. */
  updatedAt: number;
}

type RowTuple = [
  id: string,
  name: string,
  kind: number,
  status: number,
  statusReason: string | null,
  gateway: number,
  board: number,
  wakeAttempts: number,
  maxWakeAttempts: number,
  lifecycleGeneration: number,
  checkinDeadlineAt: number | null,
  lastSeenAt: number | null,
  lastProvisionError: string | null,
  templateStale: 0 | 1,
  heartbeatsRejected: number,
  lastRejectedReason: string | null,
  updatedAt: number,
];

export interface EncodedRows {
  refs: string[];
  rows: RowTuple[];
}

export function clipError(text: string | null): string | null {
  if (text === null) return null;
  return text.length > ROW_ERROR_CHARS ? `${text.slice(0, ROW_ERROR_CHARS - 1)}…` : text;
}

export function encodeRows(rows: readonly AgentRow[]): EncodedRows {
  const refs: string[] = [];
  const index = new Map<string, number>();
  const ref = (id: string | null): number => {
    if (id === null) return -1;
    let i = index.get(id);
    if (i === undefined) {
      i = refs.push(id) - 1;
      index.set(id, i);
    }
    return i;
  };
  return {
    refs,
    rows: rows.map((r) => [
      r.id,
      r.name,
      AGENT_KINDS.indexOf(r.kind),
      AGENT_STATUSES.indexOf(r.status),
      r.statusReason,
      ref(r.gatewayId),
      ref(r.boardId),
      r.wakeAttempts,
      r.maxWakeAttempts,
      r.lifecycleGeneration,
      r.checkinDeadlineAt,
      r.lastSeenAt,
      clipError(r.lastProvisionError),
      r.templateStale ? 1 : 0,
      r.heartbeatsRejected,
      r.lastRejectedReason,
      r.updatedAt,
    ]),
  };
}

/** Decodes rows from a page or a push; a malformed payload decodes to no rows rather than to wrong ones. */
export function decodeRows(raw: unknown): AgentRow[] {
  if (!isEncodedRows(raw)) return [];
  const { refs, rows } = raw;
  const out: AgentRow[] = [];
  for (const t of rows) {
    if (!Array.isArray(t)) continue;
    const kind = AGENT_KINDS[t[2]];
    const status = AGENT_STATUSES[t[3]];
    const gatewayId = refs[t[5]];
    if (t.length !== 17 || !kind || !status || !gatewayId) continue;
    out.push({
      id: t[0],
      name: t[1],
      kind,
      status,
      statusReason: t[4],
      gatewayId,
      boardId: t[6] >= 0 ? (refs[t[6]] ?? null) : null,
      wakeAttempts: t[7],
      maxWakeAttempts: t[8],
      lifecycleGeneration: t[9],
      checkinDeadlineAt: t[10],
      lastSeenAt: t[11],
      lastProvisionError: t[12],
      templateStale: t[13] === 1,
      heartbeatsRejected: t[14],
      lastRejectedReason: t[15],
      updatedAt: t[16],
    });
  }
  return out;
}

function isEncodedRows(raw: unknown): raw is EncodedRows {
  if (typeof raw !== "object" || raw === null) return false;
  const { refs, rows } = raw as Partial<EncodedRows>;
  return Array.isArray(refs) && Array.isArray(rows) && refs.every((r) => typeof r === "string");
}
