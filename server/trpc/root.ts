import { router } from "./init";
import { agentsRouter } from "./routers/agents";
import { gatewaysRouter } from "./routers/gateways";
import { boardsRouter } from "./routers/boards";
import { eventsRouter } from "./routers/events";
import { systemRouter } from "./routers/system";
import { operatorsRouter } from "./routers/operators";
import { tokensRouter } from "./routers/tokens";
import { fleetRouter } from "./routers/fleet";
import { notificationsRouter } from "./routers/notifications";

export const appRouter = router({
  agents: agentsRouter,
  gateways: gatewaysRouter,
  boards: boardsRouter,
  events: eventsRouter,
  system: systemRouter,
  operators: operatorsRouter,
  tokens: tokensRouter,
  fleet: fleetRouter,
  notifications: notificationsRouter,
});

export type AppRouter = typeof appRouter;
