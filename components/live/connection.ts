// The one Socket.IO connection per browser tab: connects when the first room is needed, joins and leaves rooms as
// views mount and unmount, reconnects (and has everything shown refetched, since pushes sent meanwhile are lost), and
// hands decoded pushes to the cache sink.
import { useSyncExternalStore } from "react";
import { io, type Socket } from "socket.io-client";
import { MAX_ROOMS_PER_MESSAGE, SOCKET_COMMANDS, SOCKET_EVENTS } from "@/lib/events";
import { decodeEventPush } from "@/lib/push";
import { decodeRows } from "@/lib/agent-row";
import { RoomRefs } from "@/lib/room-refs";
import { redirectToLogin } from "../providers";
import type { Sink } from "./cache-sink";
import type { LifecycleEvent } from "@/lib/client/types";

export type LiveState = "idle" | "connecting" | "live" | "reconnecting" | "unauthorized";

// ---- connection state (for the nav indicator) -------------------------------------------------------------------

let state: LiveState = "idle";
const stateListeners = new Set<() => void>();

function setState(next: LiveState) {
  if (state === next) return;
  state = next;
  for (const l of stateListeners) l();
}

export function useLiveState(): LiveState {
  return useSyncExternalStore(
    (l) => {
      stateListeners.add(l);
      return () => stateListeners.delete(l);
    },
    () => state,
    () => "idle",
  );
}

// ---- the one connection ---------------------------------------------------------------------------------------------

let socket: Socket | null = null;
let sink: Sink | null = null;
let everConnected = false;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
const roomRefs = new RoomRefs();

/** Where pushes go (one sink per query client). */
export function currentSink(): Sink | null {
  return sink;
}
export function setSink(next: Sink): void {
  sink = next;
}

function subscribe(rooms: string[]) {
  if (!socket?.connected || rooms.length === 0) return;
  for (let i = 0; i < rooms.length; i += MAX_ROOMS_PER_MESSAGE) {
    const chunk = rooms.slice(i, i + MAX_ROOMS_PER_MESSAGE);
    const sentAt = Date.now();
    socket.emit(SOCKET_COMMANDS.subscribe, { rooms: chunk }, (res: { ok?: boolean } | undefined) => {
      if (res?.ok) sink?.resync(chunk, sentAt);
    });
  }
}

function retryLater(ms: number) {
  if (retryTimer) return;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    if (socket && !socket.connected && roomRefs.active().length > 0) socket.connect();
  }, ms);
}

function ensureSocket(): Socket {
  if (socket) return socket;
  setState("connecting");
  const s = io({ path: "/socket.io", withCredentials: true });
  socket = s;

  s.on("connect", () => {
    setState("live");
    const rooms = roomRefs.active();
    if (everConnected) {
      // Pushes sent while we were away are lost: refetch what is shown, then listen again.
      sink?.refetchAll();
    }
    everConnected = true;
    subscribe(rooms);
  });
  s.on("disconnect", (reason) => {
    setState("reconnecting");
    // A server-side disconnect is not retried automatically by socket.io-client.
    if (reason === "io server disconnect") retryLater(1000);
  });
  s.on("connect_error", (err) => {
    if (err.message === "unauthorized") {
      setState("unauthorized");
      redirectToLogin();
      return;
    }
    setState("reconnecting");
    // Errors from the server's middleware ("unavailable") stop the built-in reconnection: retry ourselves.
    if (!s.active) retryLater(3000);
  });

  // One message per room every ~100 ms, carrying many rows (lib/agent-row.ts).
  s.on(SOCKET_EVENTS.agentUpdated, (payload: unknown) => {
    const rows = decodeRows(payload);
    if (rows.length) sink?.rows(rows);
  });
  s.on(SOCKET_EVENTS.lifecycleEvent, (payload: unknown) => {
    const event = decodeEventPush<LifecycleEvent>(payload);
    if (event) sink?.event(event);
  });
  s.on(SOCKET_EVENTS.systemHealth, () => sink?.health());
  return s;
}

export function acquire(rooms: string[]) {
  const added = roomRefs.acquire(rooms);
  ensureSocket();
  subscribe(added);
}

export function release(rooms: string[]) {
  roomRefs.release(rooms);
  // Deferred, so that a remount (React strict mode, navigation between views of the same room) does not churn.
  setTimeout(() => {
    const gone = roomRefs.sweep(rooms);
    if (gone.length > 0 && socket?.connected) socket.emit(SOCKET_COMMANDS.unsubscribe, { rooms: gone });
  }, 0);
}
