"use client";

import { useState, type ReactNode } from "react";
import { MutationCache, QueryCache, QueryClient, QueryClientProvider, isServer } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, httpLink, splitLink, TRPCClientError } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import superjson from "superjson";
import type { AppRouter } from "@/server/trpc/root";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** The tRPC error code of an error (UNAUTHORIZED, FORBIDDEN, NOT_FOUND, …), if it is one. */
export function trpcErrorCode(err: unknown): string | undefined {
  if (err instanceof TRPCClientError) {
    const data = err.data as { code?: string } | undefined;
    return data?.code;
  }
  return undefined;
}

/** A readable message for any error a query or mutation can throw. */
export function errorMessage(err: unknown): string {
  if (!err) return "";
  const code = trpcErrorCode(err);
  if (code === "FORBIDDEN") return err instanceof Error ? err.message : "Not allowed";
  if (err instanceof Error) return err.message || "Request failed";
  return String(err);
}

let redirecting = false;

/** A signed-out (or expired) session sends the browser to the login page, back to where it was afterwards. */
export function redirectToLogin(): void {
  if (typeof window === "undefined" || redirecting) return;
  const { pathname, search } = window.location;
  if (pathname === "/login" || pathname.startsWith("/login/")) return;
  redirecting = true;
  window.location.assign(`/login?next=${encodeURIComponent(pathname + search)}`);
}

function onError(err: unknown): void {
  if (trpcErrorCode(err) === "UNAUTHORIZED") redirectToLogin();
}

const NO_RETRY = new Set(["UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BAD_REQUEST", "CONFLICT", "PRECONDITION_FAILED"]);

function makeQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        // Agent data is kept fresh by the socket (components/live/use-live-updates.ts), not by polling or focus refetches.
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        retry: (count, err) => !NO_RETRY.has(trpcErrorCode(err) ?? "") && count < 2,
      },
      mutations: { retry: false },
    },
  });
}

let browserQueryClient: QueryClient | undefined;

function getQueryClient(): QueryClient {
  if (isServer) return makeQueryClient();
  browserQueryClient ??= makeQueryClient();
  return browserQueryClient;
}

export function Providers({ children }: { children: ReactNode }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      // Board pages travel alone: in a batch, the board's first rows would wait for the slowest query beside them.
      links: [
        splitLink({
          condition: (op) => op.path === "agents.page",
          true: httpLink({ url: "/api/trpc", transformer: superjson }),
          false: httpBatchLink({ url: "/api/trpc", transformer: superjson, maxURLLength: 2000 }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
