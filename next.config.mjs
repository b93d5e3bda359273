// @ts-check
import path from "node:path";
import { fileURLToPath } from "node:url";

// The console is served by the custom server in main/server.ts (API routes, tRPC and Socket.IO live there, not in
// Next route handlers). Client code may import only *types* from server/, except Prisma's browser-safe enums module,
// which it reaches through lib/contract/enums.ts. Plain JavaScript, so that serving a build needs no TypeScript at run
// time.
/** @type {import("next").NextConfig} */
const nextConfig = {
  typedRoutes: false,
  poweredByHeader: false,
  reactStrictMode: true,
  // Next 16 no longer lints during `next build`, so a missing ESLint setup cannot fail it.
  // Type checking runs separately (`npm run typecheck`, which covers server/ and jobs/ too); skipping it here keeps the
  // build that `npm start` runs on first start fast and independent of work-in-progress server types.
  typescript: { ignoreBuildErrors: true },
  turbopack: { root: path.dirname(fileURLToPath(import.meta.url)) },
};

export default nextConfig;
