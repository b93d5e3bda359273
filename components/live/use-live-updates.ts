"use client";

// Live updates over ONE Socket.IO connection per browser tab (docs/architecture.md, Contracts). Pages say which rooms they show
// (`useLiveUpdates(["fleet"])`, `useLiveUpdates([`agent:${id}`])`); pushed agents and events are written straight into
// the TanStack Query cache, so every view of an agent changes at once, with no polling. After a reconnect everything
// is refetched (pushes sent while disconnected are lost). The connection and its rooms: live/connection.ts; the cache
// writes: live/cache-sink.ts.
import { useEffect } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { isRoom } from "@/lib/events";
import { useTRPC } from "../providers";
import { createSink, removedIds } from "./cache-sink";
import { acquire, currentSink, release, setSink, useLiveState, type LiveState } from "./connection";

export { boardPagesKey } from "./cache-sink";
export { useLiveState, type LiveState } from "./connection";

/** Call after deleting an agent: removes it from every cached list now and ignores late pushes about it. */
export function forgetAgent(id: string): void {
  removedIds.add(id);
  currentSink()?.remove(id);
}

/**
 * Subscribes this page to live pushes for `rooms` ("fleet", "gateway:<id>", "board:<id>", "agent:<id>") for as long as
 * it is mounted. Pushed rows and events land in the TanStack Query cache of the board's pages, agents.list /
 * agents.get / agents.timeline / events.list; the board's status counts are refetched (debounced) when they move.
 */
export function useLiveUpdates(rooms: string[]): LiveState {
  const client = useQueryClient();
  const trpc = useTRPC();
  // Only rooms the server accepts: one invalid room would make it reject the whole subscription.
  const key = rooms.filter(isRoom).join("|");

  useEffect(() => {
    const sink = currentSink();
    if (!sink || sink.client !== client) setSink(createSink(client, trpc));
  }, [client, trpc]);

  useEffect(() => {
    const list = key ? key.split("|") : [];
    if (list.length === 0) return;
    acquire(list);
    return () => release(list);
  }, [key]);

  return useLiveState();
}
