import path from "node:path";
import { defineConfig } from "prisma/config";

// Prisma's CLI downloads a native schema engine on every command; ours speaks the same protocol through the
// bundled wasm engine, so the CLI works offline. An explicit empty value selects the native engine again.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join("scripts", "prisma-schema-engine.cjs");

export default defineConfig({
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  datasource: {
    url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/mission_control",
    // The native engine needs it for `migrate diff --from-migrations`; our wasm engine makes a temporary one when unset.
    shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL,
  },
});
