import { openSecret } from "../secrets/crypto";
import type { GatewayConnection } from "./types";

export const gatewayConnectionSelect = {
  id: true,
  name: true,
  driver: true,
  url: true,
  tokenSecret: true,
  allowInsecureTls: true,
  workspaceRoot: true,
} as const;

/** What a driver needs to reach a gateway, with its token decrypted (never log or return this object). */
export function gatewayConnectionOf(row: {
  id: string;
  name: string;
  driver: GatewayConnection["driver"];
  url: string | null;
  tokenSecret: string | null;
  allowInsecureTls: boolean;
  workspaceRoot: string | null;
}): GatewayConnection {
  return {
    id: row.id,
    name: row.name,
    driver: row.driver,
    url: row.url,
    tokenSecret: openSecret(row.tokenSecret),
    allowInsecureTls: row.allowInsecureTls,
    workspaceRoot: row.workspaceRoot,
  };
}
