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
