-- Board pages: keyset indexes per sort and trigram search on agent names (pg_trgm ships with PostgreSQL's contrib,
-- in both the system PostgreSQL 15 and embedded-postgres; it is a trusted extension, so the database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- DropIndex
DROP INDEX "Agent_status_idx";

-- CreateIndex
CREATE INDEX "Agent_board_group_idx" ON "Agent"("gatewayId", "boardId", "kind", "name", "id");

-- CreateIndex
CREATE INDEX "Agent_name_id_idx" ON "Agent"("name", "id");

-- CreateIndex
CREATE INDEX "Agent_status_name_id_idx" ON "Agent"("status", "name", "id");

-- CreateIndex
CREATE INDEX "Agent_wakeAttempts_id_idx" ON "Agent"("wakeAttempts", "id");

-- CreateIndex
CREATE INDEX "Agent_name_trgm_idx" ON "Agent" USING GIN ("name" gin_trgm_ops);
