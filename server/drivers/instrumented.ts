// Every gateway call the lifecycle, the probe and template sync make is timed here, around whichever driver the
// factory builds (the drivers themselves stay free of metrics): `mc_gateway_call_duration_seconds{driver,method,result}`.
import type { DriverFactory } from "./index";
import type { GatewayDriver } from "./types";
import { metrics } from "../metrics";

const METHODS = ["provision", "wake", "resetSession", "syncTemplates", "deleteAgent", "probe"] as const satisfies readonly (keyof GatewayDriver)[];

export function instrumentDrivers(factory: DriverFactory): DriverFactory {
  return (gateway) => {
    const driver = factory(gateway);
    const timed = {} as Record<(typeof METHODS)[number], (...args: unknown[]) => Promise<unknown>>;
    for (const method of METHODS) {
      const call = (driver[method] as (...args: unknown[]) => Promise<unknown>).bind(driver);
      timed[method] = async (...args) => {
        const stop = metrics.gatewayCallDuration.startTimer({ driver: gateway.driver, method });
        try {
          const result = await call(...args);
          stop({ result: "ok" });
          return result;
        } catch (err) {
          stop({ result: "error" });
          throw err;
        }
      };
    }
    return timed as unknown as GatewayDriver;
  };
}
