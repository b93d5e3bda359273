"use client";

import { useCallback, useState } from "react";
import type { Agent } from "@/lib/types";
import type { BoardRow } from "./agent-table";

/** Agents (already sorted by gateway, board) → table rows with a group header before each gateway/board run. */
export function toRows(agents: Agent[]): BoardRow[] {
  const rows: BoardRow[] = [];
  let group: Extract<BoardRow, { type: "group" }> | null = null;
  for (const a of agents) {
    const key = `${a.gatewayId}|${a.boardId ?? ""}`;
    if (!group || group.key !== key) {
      group = {
        type: "group",
        key,
        gatewayId: a.gatewayId,
        gatewayName: a.gateway.name,
        gatewayDriver: a.gateway.driver,
        gatewayStatus: a.gateway.status,
        boardId: a.boardId,
        boardName: a.board?.name ?? null,
        ids: [],
      };
      rows.push(group);
    }
    group.ids.push(a.id);
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
