"use client";

import { useCallback, useState } from "react";
import type { AgentRow } from "@/lib/agent-row";
import type { BoardRow } from "./agent-table";

/** Names for group headers: rows carry ids only (gateways.list and boards.list name them). */
export interface GroupNames {
  gateway(id: string): { name: string; driver: string; status: string } | undefined;
  board(id: string): string | undefined;
}

/**
 * Rows in board order → table rows. Grouped (the board's default order), a header goes before each gateway/board run;
 * its ids are the agents loaded so far.
 */
export function toRows(agents: readonly AgentRow[], names: GroupNames, grouped = true): BoardRow[] {
  const rows: BoardRow[] = [];
  let group: Extract<BoardRow, { type: "group" }> | null = null;
  for (const a of agents) {
    const key = `${a.gatewayId}|${a.boardId ?? ""}`;
    if (grouped && (!group || group.key !== key)) {
      const gw = names.gateway(a.gatewayId);
      group = {
        type: "group",
        key,
        gatewayId: a.gatewayId,
        gatewayName: gw?.name ?? "gateway",
        gatewayDriver: gw?.driver ?? "",
        gatewayStatus: gw?.status ?? "unknown",
        boardId: a.boardId,
        boardName: a.boardId ? (names.board(a.boardId) ?? "board") : null,
        ids: [],
      };
      rows.push(group);
    }
    group?.ids.push(a.id);
    rows.push({ type: "agent", key: a.id, agent: a });
  }
  return rows;
}

/** A set of selected agent ids with stable toggle callbacks (rows re-render only when their own state changes). */
export function useSelection() {
  const [selected, setSelected] = useState<ReadonlySet<string>>(() => new Set());
  const toggle = useCallback((id: string) => {
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);
  const toggleMany = useCallback((ids: string[], select: boolean) => {
    setSelected((prev) => {
      const next = new Set(prev);
      for (const id of ids) {
        if (select) next.add(id);
        else next.delete(id);
      }
      return next;
    });
  }, []);
  return { selected, setSelected, toggle, toggleMany };
}
