import { router, viewerProcedure } from "../init";

export const systemRouter = router({
  health: viewerProcedure.query(({ ctx }) => ctx.app.health()),
  me: viewerProcedure.query(({ ctx }) => ({ email: ctx.principal.email, role: ctx.principal.role })),
});
