"use client";

import { countdown, formatAbsolute, formatRelative, toDate, type DateLike } from "@/lib/time";
import { useNow } from "./use-now";

/** "12s ago", with the absolute local time on hover. */
export function RelativeTime({ value, empty = "—", className = "" }: { value: DateLike; empty?: string; className?: string }) {
  const now = useNow();
  const d = toDate(value);
  if (!d) return <span className={`text-zinc-400 dark:text-zinc-500 ${className}`}>{empty}</span>;
  return (
    <time dateTime={d.toISOString()} title={formatAbsolute(d)} className={className}>
      {now ? formatRelative(d, now) : formatAbsolute(d)}
    </time>
  );
}

/** "2026-01-02 10:11:12 (12s ago)". */
export function AbsoluteTime({ value, empty = "—" }: { value: DateLike; empty?: string }) {
  const now = useNow();
  const d = toDate(value);
  if (!d) return <span className="text-zinc-400 dark:text-zinc-500">{empty}</span>;
  return (
    <time dateTime={d.toISOString()} title={d.toISOString()}>
      {formatAbsolute(d)}
      {now ? <span className="text-zinc-500 dark:text-zinc-400"> ({formatRelative(d, now)})</span> : null}
    </time>
  );
}

/** Live countdown to a server deadline, ticking every second in the browser; "—" without a deadline. */
export function Countdown({ deadline, className = "" }: { deadline: DateLike; className?: string }) {
  const now = useNow();
  const d = toDate(deadline);
  if (!d) {
    return (
      <span data-testid="countdown" className={`text-zinc-400 dark:text-zinc-500 ${className}`}>
        —
      </span>
    );
  }
  const c = countdown(d, now || d.getTime());
  const tone = c.overdue
    ? "text-rose-600 dark:text-rose-400"
    : (c.secondsLeft ?? 99) <= 5
      ? "text-amber-600 dark:text-amber-400"
      : "text-zinc-800 dark:text-zinc-200";
  return (
    <time
      data-testid="countdown"
      data-seconds-left={c.secondsLeft ?? undefined}
      dateTime={d.toISOString()}
      title={`Check-in deadline ${formatAbsolute(d)}`}
      className={`font-mono tabular-nums ${tone} ${className}`}
    >
      {c.text}
    </time>
  );
}
