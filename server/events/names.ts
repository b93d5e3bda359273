// Event names live with the browser and the CLI's in lib/events.ts.
export { EVENT_NAMES, SOCKET_EVENTS, type EventName } from "../../lib/events";
