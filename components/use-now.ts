"use client";

import { useSyncExternalStore } from "react";

// One shared 1-second clock for every countdown and relative time on the page (not one timer per cell).
const listeners = new Set<() => void>();
let now = 0;
let timer: ReturnType<typeof setTimeout> | null = null;

function tick() {
  now = Date.now();
  for (const l of listeners) l();
  // Align ticks with wall-clock seconds so all countdowns change together.
  timer = setTimeout(tick, 1000 - (now % 1000) + 5);
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (!timer) {
    now = Date.now();
    timer = setTimeout(tick, 1000 - (now % 1000) + 5);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer) {
      clearTimeout(timer);
      timer = null;
    }
  };
}

function getSnapshot(): number {
  // Must be stable between calls; refreshed by tick() and when the clock (re)starts in subscribe().
  if (now === 0) now = Date.now();
  return now;
}

/** Milliseconds since the epoch, updated every second; 0 while rendering on the server. */
export function useNow(): number {
  return useSyncExternalStore(subscribe, getSnapshot, () => 0);
}
