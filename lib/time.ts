// Time formatting for operators: relative text for scanning, absolute local time for the record (in titles).

export type DateLike = Date | string | number | null | undefined;

export function toDate(value: DateLike): Date | null {
  if (value === null || value === undefined || value === "") return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** `2025-11-27 22:55:03` in the browser's time zone. */
export function formatAbsolute(value: DateLike): string {
  const d = toDate(value);
  if (!d) return "—";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `22:55:03.120` — for event logs where sub-second order matters. */
export function formatClock(value: DateLike, millis = false): string {
  const d = toDate(value);
  if (!d) return "—";
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return millis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** Compact duration: `42s`, `3m 05s`, `2h 10m`, `4d 3h`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  if (total < 60) return `${total}s`;
  const m = Math.floor(total / 60);
  const s = total % 60;
  if (m < 60) return `${m}m ${pad(s)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad(m % 60)}m`;
  const d = Math.floor(h / 24);
  return `${d}d ${h % 24}h`;
}

/** `12s ago`, `in 5s`, `just now`. */
export function formatRelative(value: DateLike, now: number): string {
  const d = toDate(value);
  if (!d) return "—";
  const diff = now - d.getTime();
  if (Math.abs(diff) < 1000) return "just now";
  return diff > 0 ? `${formatDuration(diff)} ago` : `in ${formatDuration(-diff)}`;
}

export interface Countdown {
  text: string;
  /** Seconds left (negative when overdue); null without a deadline. */
  secondsLeft: number | null;
  overdue: boolean;
}

/** Countdown to a server-given deadline, computed against the browser clock. */
export function countdown(deadline: DateLike, now: number): Countdown {
  const d = toDate(deadline);
  if (!d) return { text: "—", secondsLeft: null, overdue: false };
  const ms = d.getTime() - now;
  const secondsLeft = Math.ceil(ms / 1000);
  if (ms > 0) return { text: formatDuration(ms + 999), secondsLeft, overdue: false };
  return { text: `overdue ${formatDuration(-ms)}`, secondsLeft, overdue: true };
}
