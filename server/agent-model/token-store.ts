// Writes of the agent token slots (server/agent-model/tokens.ts describes them). Every right-hand side of these updates
// reads the row as it was before the update, and every time is the database's.
import type { Db, Tx } from "../db/prisma";
import type { IssuedToken } from "./tokens";

/**
 * Makes a delivered pending token the current one: the token it replaces moves to the overlap slot (its window starts
 * now, at delivery), unless there is none (a revoked slot then stays as it is). False when `pendingHash` is no longer
 * the pending token (already promoted by the agent's first heartbeat, replaced, or revoked).
 */
export async function promotePendingToken(db: Db | Tx, agentId: string, pendingHash: string, overlapSeconds: number): Promise<boolean> {
  const promoted = await db.$executeRaw`
    UPDATE "Agent"
       SET "previousTokenHash" = CASE WHEN "tokenHash" IS NOT NULL THEN "tokenHash" ELSE "previousTokenHash" END,
           "previousTokenExpiresAt" = CASE WHEN "tokenHash" IS NOT NULL
                                           THEN clock_timestamp() + make_interval(secs => ${overlapSeconds})
                                           ELSE "previousTokenExpiresAt" END,
           "tokenHash" = "pendingTokenHash",
           "tokenGeneration" = "pendingTokenGeneration",
           "tokenDelivered" = true,
           "pendingTokenHash" = NULL,
           "pendingTokenGeneration" = NULL,
           "updatedAt" = clock_timestamp()
     WHERE id = ${agentId}::uuid AND "pendingTokenHash" = ${pendingHash}`;
  return promoted === 1;
}

/**
 * A token written to the agent outside a provisioning (template sync repairing a drifted token file): it is delivered,
 * so it becomes current at once, valid for the agent's current cycle; the one it replaces overlaps briefly.
 */
export async function storeDeliveredToken(db: Db, agentId: string, issued: IssuedToken, overlapSeconds: number): Promise<void> {
  await db.$transaction(async (tx) => {
    await tx.$executeRaw`
      UPDATE "Agent" SET "pendingTokenHash" = ${issued.hash}, "pendingTokenGeneration" = "lifecycleGeneration" WHERE id = ${agentId}::uuid`;
    await promotePendingToken(tx, agentId, issued.hash, overlapSeconds);
  });
}
