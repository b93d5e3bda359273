// Every gateway call the lifecycle, the probe and template sync make is timed here, around whichever driver the
// factory builds (the drivers themselves stay free of metrics): `mc_gateway_call_duration_seconds{driver,method,result}`.
import type { DriverFactory } from "./index";
import type { GatewayDriver } from "./types";
import { metrics } from "../platform/metrics";

const METHODS = [
  "provision",
  "wake",
  "resetSession",
  "syncTemplates",
  "deleteAgent",
  "probe",
  "deliveredToken",
  "applyAgentSettings",
] as const satisfies readonly (keyof GatewayDriver)[];

export function instrumentDrivers(factory: DriverFactory): DriverFactory {
  return (gateway) => {
    const driver = factory(gateway);
    const timed = {} as Record<(typeof METHODS)[number], (...args: unknown[]) => Promise<unknown>>;
    for (const method of METHODS) {
      // Optional capabilities stay absent where the driver has none: callers test for them.
      if (typeof driver[method] !== "function") continue;
      timed[method] = async (...args) => {
        const stop = metrics.gatewayCallDuration.startTimer({ driver: gateway.driver, method });
        try {
          // Looked up at call time, on the driver itself (its methods may live on its prototype).
          const result = await (driver[method] as (...a: unknown[]) => Promise<unknown>).apply(driver, args);
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
