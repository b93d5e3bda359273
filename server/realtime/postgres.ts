// Several web processes (and worker-only processes) share Socket.IO broadcasts through PostgreSQL NOTIFY, so no
// Redis is needed (docs/architecture.md). Payloads too large for NOTIFY go through this table.
import type { Server } from "socket.io";
import { createAdapter } from "@socket.io/postgres-adapter";
import pg from "pg";

export const SOCKET_IO_PG_TABLE = "socket_io_attachments";

export function attachPostgresAdapter(io: Server, databaseUrl: string): () => Promise<void> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on("error", () => undefined);
  io.adapter(createAdapter(pool, { tableName: SOCKET_IO_PG_TABLE, heartbeatInterval: 5000, heartbeatTimeout: 15000 }));
  return () => pool.end();
}
