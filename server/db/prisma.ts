import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient, Prisma } from "../generated/prisma/client";
import { ServiceError } from "../platform/service-error";

export type Db = PrismaClient;
export type Tx = Prisma.TransactionClient;
export { Prisma };

/**
 * How long an interactive transaction may wait for a pool connection. Prisma's default (2 s) turned a busy pool into
 * failed jobs ("Unable to start a transaction in the given time"); waiting longer is harmless because every caller is
 * bounded elsewhere (decisions have a pool of their own, gateway work is limited per gateway; docs/scaling.md).
 */
export const TRANSACTION_MAX_WAIT_MS = 15_000;
/** Longest an interactive transaction may run (Prisma's default is 5 s; a reconcile batch of a few hundred agents takes well under 1 s). */
export const TRANSACTION_TIMEOUT_MS = 15_000;

export function createPrisma(databaseUrl: string, poolSize = 10, applicationName = "mission-control"): PrismaClient {
  return new PrismaClient({
    adapter: new PrismaPg({ connectionString: databaseUrl, max: poolSize, application_name: applicationName }),
    transactionOptions: { maxWait: TRANSACTION_MAX_WAIT_MS, timeout: TRANSACTION_TIMEOUT_MS },
  });
}

const UNAVAILABLE_ADAPTER_KINDS = new Set([
  "DatabaseNotReachable",
  "DatabaseDoesNotExist",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
  "TransactionAlreadyClosed",
]);

/** True for errors that mean "the database is not reachable right now", as opposed to a bad query. */
/**
 * The database's clock. Every time a decision compares (deadlines, cycle starts, worker beats) is this one, never a
 * process's: pg-boss fires jobs by it, and the processes' clocks may differ (docs/lifecycle.md, How they are kept).
 */
export async function dbNow(db: PrismaClient | Prisma.TransactionClient): Promise<Date> {
  const [row] = await db.$queryRaw<{ now: Date }[]>`SELECT clock_timestamp() AS now`;
  return row.now;
}

/** A unique constraint refused the write (Prisma P2002): another request took the name first. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "P2002";
}

/**
 * For `.catch` after a name check: the write a racing request beat to the name fails on the unique constraint, and
 * becomes the same conflict the check gives, not a 500. Anything else is rethrown.
 */
export function conflictOnUnique(message: string): (err: unknown) => never {
  return (err) => {
    throw isUniqueViolation(err) ? new ServiceError("conflict", message) : err;
  };
}

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string } } } };
  const code = typeof e?.code === "string" ? e.code : "";
  // Prisma's P1xxx errors are all about reaching the database; P2024 is a pool timeout.
  if (/^P1\d{3}$/.test(code) || code === "P2024") return true;
  const cause = e?.meta?.driverAdapterError?.cause;
  if (cause?.kind && UNAVAILABLE_ADAPTER_KINDS.has(cause.kind)) return true;
  // PostgreSQL classes 08 (connection), 53 (resources), 57P (shutdown), 55000 (not accepting connections).
  const sqlState = cause?.originalCode ?? code;
  if (/^(08|53|57P)/.test(sqlState) || sqlState === "55000") return true;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection terminated|not currently accepting connections|timeout exceeded when trying to connect/i.test(
    String(e?.message ?? err),
  );
}
