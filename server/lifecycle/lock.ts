import type { Tx } from "../db/prisma";

/**
 * Locks an agent's row for the rest of the transaction and returns the database's clock read after the lock, or
 * null when the agent does not exist. Every change to an agent's lifecycle fields or tokens takes this lock first,
 * so two steps on one agent never interleave; the time comes from the database, the clock pg-boss fires jobs by
 * (docs/lifecycle.md, How they are kept).
 */
export async function lockAgentRow(tx: Tx, agentId: string): Promise<Date | null> {
  const locked = await tx.$queryRaw<{ now: Date }[]>`SELECT clock_timestamp() AS now FROM "Agent" WHERE id = ${agentId}::uuid FOR UPDATE`;
  return locked[0]?.now ?? null;
}
