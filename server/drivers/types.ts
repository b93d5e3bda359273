// One interface for every gateway runtime (docs/architecture.md, Contracts (gateway drivers)). A driver is created per gateway and holds no database access.

import type { AgentKind, GatewayDriver as DriverName } from "../../lib/contract/enums";

export interface DriverAgent {
  id: string;
  name: string;
  kind: AgentKind;
  boardId: string | null;
  sessionKey: string;
  heartbeatIntervalSeconds: number;
  simulatorBehaviour?: string | null;
}

export interface ProvisionRequest {
  agent: DriverAgent;
  /** The agent's heartbeat token: delivered to the runtime, never stored in clear by Mission Control. */
  token: string;
  baseUrl: string;
  heartbeatUrl: string;
  files: Record<string, string>;
  /**
   * Aborted when this provisioning is no longer wanted: its outer time limit passed, or its lifecycle cycle stopped
   * being current. A driver stops between steps (and cancels the step in flight where it can) once it is aborted.
   */
  signal?: AbortSignal;
}

export interface WakeRequest {
  agent: DriverAgent;
  attempt: number;
  generation: number;
  deadlineAt: Date;
  message: string;
  signal?: AbortSignal;
}

/** How the run a wake started ended, as far as the gateway reports it. */
export type RunOutcome = { status: "ok" } | { status: "error"; error: string } | { status: "unknown" };

export interface WakeReceipt {
  /** Settles when the gateway reports the woken run's end, or `unknown` when it does not say in time. */
  runOutcome?: Promise<RunOutcome>;
}

export interface DeleteOptions {
  signal?: AbortSignal;
}

export interface ProbeResult {
  version: string | null;
  /** The gateway protocol the connection negotiated (OpenClaw). */
  protocol?: number;
}

export interface GatewayDriver {
  provision(req: ProvisionRequest): Promise<void>;
  wake(req: WakeRequest): Promise<WakeReceipt | void>;
  resetSession(agent: DriverAgent): Promise<void>;
  /** Writes the current templates; `token` replaces the agent's delivered token where the runtime keeps it in a file. */
  syncTemplates(agent: DriverAgent, files: Record<string, string>, opts?: { token?: string }): Promise<void>;
  deleteAgent(agent: DriverAgent, opts?: DeleteOptions): Promise<void>;
  probe(): Promise<ProbeResult>;
  /**
   * The token the agent was given, read back from its files (runtimes that keep it in a file). Only ever compared
   * with the stored hash, never adopted.
   */
  deliveredToken?(agent: DriverAgent): Promise<string | null>;
  /** Gateway-side settings of many agents at once (OpenClaw: one config patch); see server/gateways/agent-settings.ts. */
  applyAgentSettings?(agents: Pick<DriverAgent, "id" | "heartbeatIntervalSeconds">[]): Promise<{ patched: boolean }>;
}

export interface GatewayConnection {
  id: string;
  name: string;
  driver: DriverName;
  url: string | null;
  /** Decrypted gateway token. */
  tokenSecret: string | null;
  allowInsecureTls: boolean;
  /** Where the gateway keeps agent workspaces (openclaw); a default under the gateway user's home when unset. */
  workspaceRoot?: string | null;
}

export type GatewayErrorKind =
  | "unreachable"
  | "auth"
  | "protocol"
  | "timeout"
  | "not_found"
  | "incompatible"
  /** The gateway asked to try again later (a rate limit, or still starting): not a failure of the agent. */
  | "rate_limited";

export interface GatewayErrorDetails {
  /** rate_limited: how long the gateway asked to wait. */
  retryAfterMs?: number;
  /** auth: the gateway's pending pairing request for Mission Control's device (`openclaw devices approve <id>`). */
  pairingRequestId?: string;
}

const UNREACHABLE_PREFIX = "gateway unreachable: ";

/**
 * The error an agent's gateway call ends with, without calling the driver, while its gateway is `unreachable`:
 * `gateway unreachable: <last probe error>` (the prefix is not doubled when the probe error already has it).
 */
export function gatewayUnreachableError(lastError: string | null): string {
  const detail = (lastError ?? "").startsWith(UNREACHABLE_PREFIX) ? (lastError ?? "").slice(UNREACHABLE_PREFIX.length) : lastError;
  return `${UNREACHABLE_PREFIX}${detail || "the last probe got no answer"}`;
}

/** A failed gateway call; `message` is shown to operators, so it never contains a secret. */
export class GatewayCallError extends Error {
  constructor(
    message: string,
    readonly kind: GatewayErrorKind = "protocol",
    readonly details: GatewayErrorDetails = {},
  ) {
    super(message);
    this.name = "GatewayCallError";
  }
}

export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GatewayCallError(`${what} timed out after ${ms / 1000}s`, "timeout")), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function describeGatewayError(err: unknown): string {
  if (err instanceof GatewayCallError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
