// The one error a service throws for a request it refuses. Services know nothing of HTTP or tRPC; the tRPC layer
// maps the kind to a 4xx code (server/trpc/init.ts). Messages are shown to operators: never put a secret in one.

export type ServiceErrorKind = "not_found" | "invalid" | "conflict" | "forbidden" | "precondition";

export class ServiceError extends Error {
  constructor(
    readonly kind: ServiceErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "ServiceError";
  }

  static notFound(what: string): ServiceError {
    return new ServiceError("not_found", `${what} not found`);
  }
}

/** SQLSTATE of a refusal the database raises itself (a trigger, prisma/migrations): a conflict, with its message. */
const DATABASE_REFUSAL = "MC409";

/** The refusal `err` carries: a ServiceError, or a refusal raised by the database; null for anything else. */
export function refusalOf(err: unknown): ServiceError | null {
  if (err instanceof ServiceError) return err;
  const cause = (err as { meta?: { driverAdapterError?: { cause?: { code?: unknown; message?: unknown } } } } | null)?.meta?.driverAdapterError?.cause;
  return cause?.code === DATABASE_REFUSAL && typeof cause.message === "string" ? new ServiceError("conflict", cause.message) : null;
}
