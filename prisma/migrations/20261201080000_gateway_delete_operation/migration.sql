-- AlterEnum
ALTER TYPE "FleetOperationKind" ADD VALUE 'gateway_delete';

-- AlterTable
ALTER TABLE "Gateway" ADD COLUMN     "deletingAt" TIMESTAMPTZ(3);

-- A gateway being deleted takes no new agents or boards, whichever path creates them. The row lock (FOR SHARE) waits
-- for a delete that is starting, so no agent slips in after the delete took its list of agents. SQLSTATE MC409 is a
-- refusal the API shows as a conflict (server/platform/service-error.ts).
CREATE FUNCTION "refuse_work_on_deleting_gateway"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gateway_name TEXT;
    deleting TIMESTAMPTZ(3);
BEGIN
    SELECT "name", "deletingAt" INTO gateway_name, deleting FROM "Gateway" WHERE "id" = NEW."gatewayId" FOR SHARE;
    IF deleting IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'MC409', MESSAGE = format('Gateway %s is being deleted', gateway_name);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER "Agent_refuse_on_deleting_gateway" BEFORE INSERT ON "Agent"
    FOR EACH ROW EXECUTE FUNCTION "refuse_work_on_deleting_gateway"();

CREATE TRIGGER "Board_refuse_on_deleting_gateway" BEFORE INSERT ON "Board"
    FOR EACH ROW EXECUTE FUNCTION "refuse_work_on_deleting_gateway"();
