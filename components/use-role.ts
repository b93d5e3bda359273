"use client";

import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "./providers";

export interface RoleInfo {
  email: string | null;
  role: "admin" | "operator" | "viewer" | null;
  /** Operators and admins may act on agents (reprovision, wake, rotate, delete, retry jobs). */
  canAct: boolean;
  /** Admins manage gateways, operators and tokens. */
  isAdmin: boolean;
  loaded: boolean;
}

/** The signed-in operator's role. Until it is known, nothing that needs a role is shown (buttons are hidden, not disabled). */
export function useRole(): RoleInfo {
  const trpc = useTRPC();
  const me = useQuery(trpc.system.me.queryOptions(undefined, { staleTime: Infinity }));
  const role = (me.data?.role ?? null) as RoleInfo["role"];
  return {
    email: me.data?.email ?? null,
    role,
    canAct: role === "admin" || role === "operator",
    isAdmin: role === "admin",
    loaded: Boolean(me.data),
  };
}
