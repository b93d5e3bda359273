import type { GatewayConnection, GatewayDriver } from "./types";
import { GatewayCallError } from "./types";
import { SimulatorDriver, SimulatorRuntime } from "./simulator";
import { HttpDriver } from "./http";

export interface DriverFactory {
  (gateway: GatewayConnection): GatewayDriver;
}

export function createDriverFactory(simulator: SimulatorRuntime): DriverFactory {
  return (gateway) => {
    switch (gateway.driver) {
      case "simulator":
        return new SimulatorDriver(simulator);
      case "http":
        return new HttpDriver(gateway);
      case "openclaw":
        throw new GatewayCallError("the openclaw driver is not available in this build", "incompatible");
    }
  };
}
