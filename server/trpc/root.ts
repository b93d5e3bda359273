import { router } from "./init";
import { agentsRouter } from "./routers/agents";
import { gatewaysRouter } from "./routers/gateways";
import { boardsRouter } from "./routers/boards";
import { eventsRouter } from "./routers/events";
import { systemRouter } from "./routers/system";

export const appRouter = router({
  agents: agentsRouter,
  gateways: gatewaysRouter,
  boards: boardsRouter,
  events: eventsRouter,
  system: systemRouter,
});

export type AppRouter = typeof appRouter;
