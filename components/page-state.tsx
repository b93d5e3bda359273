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

/** A list in a section: its loading line, its error, its empty message, or the list itself. */
export function ListState<T>({
  query,
  what,
  empty,
  children,
}: {
  query: { isPending: boolean; isError: boolean; error: unknown; data: T[] | undefined };
  what: string;
  empty: ReactNode;
  children(data: T[]): ReactNode;
}) {
  if (query.isPending) {
    return (
      <p className="text-sm text-zinc-500" role="status">
        Loading {what}…
      </p>
    );
  }
  if (query.isError || !query.data) {
    return (
      <p role="alert" className="text-sm text-rose-700 dark:text-rose-400">
        Could not load {what}: {errorMessage(query.error)}
      </p>
    );
  }
  if (query.data.length === 0) return <p className="text-sm text-zinc-500">{empty}</p>;
  return <>{children(query.data)}</>;
}
