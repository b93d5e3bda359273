// One interface for every gateway runtime (SPEC §6). A driver is created per gateway and holds no database access.

export interface DriverAgent {
  id: string;
  name: string;
  kind: "gateway_main" | "board_lead" | "board_worker";
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
}

export interface WakeRequest {
  agent: DriverAgent;
  attempt: number;
  generation: number;
  deadlineAt: Date;
  message: string;
}

export interface ProbeResult {
  version: string | null;
}

export interface GatewayDriver {
  provision(req: ProvisionRequest): Promise<void>;
  wake(req: WakeRequest): Promise<void>;
  resetSession(agent: DriverAgent): Promise<void>;
  syncTemplates(agent: DriverAgent, files: Record<string, string>): Promise<void>;
  deleteAgent(agent: DriverAgent): Promise<void>;
  probe(): Promise<ProbeResult>;
}

export interface GatewayConnection {
  id: string;
  name: string;
  driver: "simulator" | "http" | "openclaw";
  url: string | null;
  /** Decrypted gateway token. */
  tokenSecret: string | null;
  allowInsecureTls: boolean;
  disableDevicePairing: boolean;
  /** Where the gateway keeps agent workspaces (openclaw); a default under the gateway user's home when unset. */
  workspaceRoot?: string | null;
}

/** A failed gateway call; `message` is shown to operators, so it never contains a secret. */
export class GatewayCallError extends Error {
  constructor(
    message: string,
    readonly kind: "unreachable" | "auth" | "protocol" | "timeout" | "not_found" | "incompatible" = "protocol",
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
