import type { Db } from "../db/prisma";
import { openSecret, sealSecret } from "../secrets/crypto";
import type { GatewayConnection, GatewayDriver } from "./types";
import { SimulatorDriver, SimulatorRuntime } from "./simulator/driver";
import { HttpDriver } from "./http/driver";
import { OpenClawDriver, type DeviceIdentity, type DeviceTokenStore } from "./openclaw";

export interface DriverFactory {
  (gateway: GatewayConnection): GatewayDriver;
}

export interface DriverDependencies {
  /** The installation's OpenClaw device identity, shared by every process through the database. */
  deviceIdentity?: () => Promise<DeviceIdentity>;
  /** Where each OpenClaw gateway's device token is kept (sealed, on the gateway's row). */
  deviceTokens?: (gatewayId: string) => DeviceTokenStore;
  /** Oldest OpenClaw release provisioned on (OPENCLAW_MIN_VERSION). */
  openclawMinVersion?: string;
}

export function createDriverFactory(simulator: SimulatorRuntime, deps: DriverDependencies = {}): DriverFactory {
  return (gateway) => {
    switch (gateway.driver) {
      case "simulator":
        return new SimulatorDriver(simulator);
      case "http":
        return new HttpDriver(gateway);
      case "openclaw":
        return new OpenClawDriver(gateway, {
          deviceIdentity: deps.deviceIdentity,
          deviceTokens: deps.deviceTokens?.(gateway.id),
          minVersion: deps.openclawMinVersion,
        });
    }
  };
}

/** Device tokens on the Gateway row, sealed like the gateway token; never returned by a read API. */
export function gatewayDeviceTokens(db: Db): (gatewayId: string) => DeviceTokenStore {
  return (gatewayId) => ({
    async load() {
      const row = await db.gateway.findUnique({ where: { id: gatewayId }, select: { deviceTokenSecret: true } });
      return openSecret(row?.deviceTokenSecret ?? null);
    },
    async save(token) {
      await db.gateway.updateMany({ where: { id: gatewayId }, data: { deviceTokenSecret: sealSecret(token), pairingRequestId: null } });
    },
  });
}
