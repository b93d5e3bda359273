// Seeds a fleet straight into a benchmark's database before its server starts: gateways (http driver at a closed
// local port: nothing answers, so a gateway call fails at once) and agents with tokens this process holds. Agents are
// inserted with one statement per chunk (unnest), about a second per 10,000.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { issueAgentToken } from "../../server/agent-model/tokens";
import { TEMPLATE_REVISION } from "../../server/templates/render";

export interface SeedGateway {
  name: string;
  agents: number;
  status: "online" | "offline";
  /** Heartbeat interval the agents are told (and the liveness sweep judges them by). */
  heartbeatIntervalSeconds: number;
  checkinDeadlineSeconds?: number;
  maxWakeAttempts?: number;
}

export interface SeededAgent {
  id: string;
  gatewayId: string;
  token: string;
}

export async function seedFleet(databaseUrl: string, gateways: SeedGateway[]): Promise<SeededAgent[][]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const out: SeededAgent[][] = [];
    for (const [g, spec] of gateways.entries()) {
      const gatewayId = randomUUID();
      await client.query(
        `INSERT INTO "Gateway" (id, name, driver, url, status, "templateRevision", "checkinDeadlineSeconds", "maxWakeAttempts", "updatedAt")
         VALUES ($1, $2, 'http', $3, 'unreachable', $4, $5, $6, now())`,
        [gatewayId, spec.name, `http://127.0.0.1:9/bench-${g}`, TEMPLATE_REVISION, spec.checkinDeadlineSeconds ?? null, spec.maxWakeAttempts ?? null],
      );
      const agents: SeededAgent[] = [];
      const hashes = new Map<string, string>();
      for (let i = 0; i < spec.agents; i++) {
        const id = randomUUID();
        const issued = issueAgentToken(id);
        agents.push({ id, gatewayId, token: issued.token });
        hashes.set(id, issued.hash);
      }
      for (let i = 0; i < agents.length; i += 5000) {
        const chunk = agents.slice(i, i + 5000);
        await client.query(
          `INSERT INTO "Agent" (id, name, kind, "gatewayId", "sessionKey", status, "lastSeenAt", "lifecycleGeneration", "provisionedGeneration",
                                "heartbeatIntervalSeconds", "templateRevision", "tokenHash", "tokenDelivered", "tokenGeneration", "updatedAt")
           SELECT t.id, 'agent-' || t.n, 'board_worker', $1, 'agent:' || t.id || ':main', $2::"AgentStatus",
                  CASE WHEN $2 = 'online' THEN now() END, 1, 1, $3, $4, t.hash, true, 1, now()
             FROM unnest($5::uuid[], $6::text[], $7::int[]) AS t(id, hash, n)`,
          [
            gatewayId,
            spec.status,
            spec.heartbeatIntervalSeconds,
            TEMPLATE_REVISION,
            chunk.map((a) => a.id),
            chunk.map((a) => hashes.get(a.id)!),
            chunk.map((_, k) => i + k),
          ],
        );
      }
      out.push(agents);
    }
    return out;
  } finally {
    await client.end();
  }
}
