// One concurrency limit per gateway for the lifecycle's gateway calls (provisioning, wakes, deletes): a slow or
// hanging gateway fills only its own slots, so another gateway's calls, and every reconcile decision (which never
// waits for gateway I/O), go on. A gateway with nothing queued or running has no limiter at all: thousands of
// gateways that were busy once leave nothing behind (docs/scaling.md).
import pLimit, { type LimitFunction } from "p-limit";

interface Entry {
  limit: LimitFunction;
  /** Calls scheduled through this entry that have not settled yet (queued or running). */
  users: number;
}

export class GatewayLimits {
  private readonly byGateway = new Map<string, Entry>();

  constructor(readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`gateway concurrency must be a positive integer, got ${concurrency}`);
  }

  /** Runs `work` once fewer than `concurrency` calls of this gateway are running. */
  run<T>(gatewayId: string, work: () => Promise<T>): Promise<T> {
    let entry = this.byGateway.get(gatewayId);
    if (!entry) {
      entry = { limit: pLimit(this.concurrency), users: 0 };
      this.byGateway.set(gatewayId, entry);
    }
    const held = entry;
    held.users += 1;
    return held.limit(work).finally(() => {
      held.users -= 1;
      // Nothing queued or running: forget the gateway (the next call starts a fresh limiter).
      if (held.users === 0 && this.byGateway.get(gatewayId) === held) this.byGateway.delete(gatewayId);
    });
  }

  /** Calls of a gateway running now and waiting for a slot. */
  load(gatewayId: string): { active: number; pending: number } {
    const entry = this.byGateway.get(gatewayId);
    return { active: entry?.limit.activeCount ?? 0, pending: entry?.limit.pendingCount ?? 0 };
  }

  /** True when a new call of this gateway would wait for a slot. */
  busy(gatewayId: string): boolean {
    const entry = this.byGateway.get(gatewayId);
    return entry !== undefined && entry.limit.activeCount + entry.limit.pendingCount >= this.concurrency;
  }

  /** Gateways with a limiter now (those with calls queued or running). */
  get gateways(): number {
    return this.byGateway.size;
  }
}
