import Link from "next/link";
import type { ReactNode } from "react";
import { errorMessage, trpcErrorCode } from "./providers";

/** The loading line of a detail page. */
export function PageLoading({ what }: { what: string }) {
  return (
    <p className="p-6 text-sm text-zinc-500" role="status">
      Loading {what}…
    </p>
  );
}

/** A detail page that could not load: "not found" is told apart from other failures, with a way back. */
export function PageLoadError({ what, error, backHref, backLabel }: { what: string; error: unknown; backHref: string; backLabel: string }) {
  const code = trpcErrorCode(error);
  const title = code === "NOT_FOUND" || code === "BAD_REQUEST" ? `${what[0].toUpperCase()}${what.slice(1)} not found` : `Could not load the ${what}`;
  return (
    <div className="p-6 text-sm" role="alert">
      <h1 className="text-lg font-semibold">{title}</h1>
      <p className="mt-1 text-zinc-600 dark:text-zinc-400">{errorMessage(error)}</p>
      <Link href={backHref} className="mt-3 inline-block text-sky-700 underline dark:text-sky-400">
        {backLabel}
      </Link>
    </div>
  );
}

interface QueryState<T> {
  isPending: boolean;
  isError: boolean;
  error: unknown;
  data: T | undefined;
  refetch?: () => unknown;
}

/**
 * The one pending → error → empty → data chain of every list and panel: its loading line, its error (with Retry when
 * `retry`), its empty message (when `empty` is given; a list is empty when it has no items, or as `isEmpty` says), or
 * the data itself.
 */
export function DataState<T>({
  query,
  what,
  loading,
  empty,
  isEmpty,
  retry = false,
  padded = false,
  children,
}: {
  query: QueryState<T>;
  /** "agents", "the audit log": in "Loading agents…" and "Could not load agents: …". */
  what: string;
  /** Replaces the loading line's text. */
  loading?: string;
  /** A string is shown as the usual muted line; anything else as it is. */
  empty?: ReactNode;
  isEmpty?(data: T): boolean;
  retry?: boolean;
  /** Page-level (p-6) rather than in a section. */
  padded?: boolean;
  children(data: T): ReactNode;
}) {
  const pad = padded ? "p-6 " : "";
  if (query.isPending) {
    return (
      <p className={`${pad}text-sm text-zinc-500`} role="status">
        {loading ?? `Loading ${what}…`}
      </p>
    );
  }
  if (query.isError || query.data === undefined) {
    const message = `Could not load ${what}: ${errorMessage(query.error)}`;
    if (!retry || !query.refetch) {
      return (
        <p role="alert" className={`${pad}text-sm text-rose-700 dark:text-rose-400`}>
          {message}
        </p>
      );
    }
    const refetch = query.refetch;
    return (
      <div className={`${pad}text-sm`} role="alert">
        <p className="text-rose-700 dark:text-rose-400">{message}</p>
        <button type="button" className="btn mt-2" onClick={() => void refetch()}>
          Retry
        </button>
      </div>
    );
  }
  const data = query.data;
  if (empty !== undefined && (isEmpty ? isEmpty(data) : Array.isArray(data) && data.length === 0)) {
    return typeof empty === "string" ? <p className={`${pad}text-sm text-zinc-500`}>{empty}</p> : <>{empty}</>;
  }
  return <>{children(data)}</>;
}
