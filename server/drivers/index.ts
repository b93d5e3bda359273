import type { GatewayConnection, GatewayDriver } from "./types";
import { SimulatorDriver, SimulatorRuntime } from "./simulator";
import { HttpDriver } from "./http";
import { OpenClawDriver } from "./openclaw";
import type { DeviceIdentity } from "./device-identity";

export interface DriverFactory {
  (gateway: GatewayConnection): GatewayDriver;
}

export interface DriverDependencies {
  /** The installation's OpenClaw device identity, shared by every process through the database. */
  deviceIdentity?: () => Promise<DeviceIdentity>;
}

export function createDriverFactory(simulator: SimulatorRuntime, deps: DriverDependencies = {}): DriverFactory {
  return (gateway) => {
    switch (gateway.driver) {
      case "simulator":
        return new SimulatorDriver(simulator);
      case "http":
        return new HttpDriver(gateway);
      case "openclaw":
        return new OpenClawDriver(gateway, { deviceIdentity: deps.deviceIdentity });
    }
  };
}
