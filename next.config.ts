import path from "node:path";
import type { NextConfig } from "next";

// The console is served by the custom server in server/main.ts (API routes, tRPC and Socket.IO live there, not in
// Next route handlers). Client code may import only *types* from server/.
const nextConfig: NextConfig = {
  typedRoutes: false,
  poweredByHeader: false,
  reactStrictMode: true,
  // Next 16 no longer lints during `next build`, so a missing ESLint setup cannot fail it.
  // Type checking runs separately (`npm run typecheck`, which covers server/ and jobs/ too); skipping it here keeps the
  // build that `npm start` runs on first start fast and independent of work-in-progress server types.
  typescript: { ignoreBuildErrors: true },
  turbopack: { root: path.resolve(__dirname) },
};

export default nextConfig;
