export { OpenClawDriver, gatewayAgentId, gatewaySessionKey, type DeviceTokenStore, type OpenClawDriverOptions } from "./driver";
export { deviceIdentityLoader, type DeviceIdentity } from "./device-identity";
