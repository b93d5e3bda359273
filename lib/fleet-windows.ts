// The windows of the fleet timeline (fleet.timeline and the /timeline page): one list for the API's input and the UI.

export const FLEET_WINDOWS = {
  "15m": { seconds: 15 * 60, label: "15 min" },
  "1h": { seconds: 60 * 60, label: "1 hour" },
  "24h": { seconds: 24 * 60 * 60, label: "24 hours" },
} as const;

export type FleetWindow = keyof typeof FLEET_WINDOWS;

export const FLEET_WINDOW_NAMES = Object.keys(FLEET_WINDOWS) as [FleetWindow, ...FleetWindow[]];

export const DEFAULT_FLEET_WINDOW: FleetWindow = "1h";
