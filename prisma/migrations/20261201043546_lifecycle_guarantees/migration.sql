-- AlterTable
ALTER TABLE "Agent" ADD COLUMN     "cycleTokenGeneration" INTEGER,
ADD COLUMN     "gatewayLeaseId" UUID,
ADD COLUMN     "gatewayLeaseUntil" TIMESTAMPTZ(3),
ADD COLUMN     "pendingTokenGeneration" INTEGER,
ADD COLUMN     "pendingTokenHash" TEXT,
ADD COLUMN     "tokenGeneration" INTEGER;

-- CreateTable
CREATE TABLE "SecretKeyCheck" (
    "id" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SecretKeyCheck_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rate_limits" (
    "key" VARCHAR(255) NOT NULL,
    "points" INTEGER NOT NULL DEFAULT 0,
    "expire" BIGINT,

    CONSTRAINT "rate_limits_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "SimulatedAgent" (
    "agentId" UUID NOT NULL,
    "behaviour" TEXT NOT NULL,
    "tokenSealed" TEXT NOT NULL,
    "heartbeatUrl" TEXT NOT NULL,
    "intervalSeconds" INTEGER NOT NULL,
    "wakeGeneration" INTEGER,
    "wakeAttempt" INTEGER,
    "wokenAt" TIMESTAMPTZ(3),
    "answeredAt" TIMESTAMPTZ(3),
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SimulatedAgent_pkey" PRIMARY KEY ("agentId")
);

-- AddForeignKey
ALTER TABLE "SimulatedAgent" ADD CONSTRAINT "SimulatedAgent_agentId_fkey" FOREIGN KEY ("agentId") REFERENCES "Agent"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Data: an undelivered current token becomes the pending one, and the delivered token it had pushed into the
-- overlap slot is current again (it was never replaced: its replacement did not arrive). A revoked slot stays.
UPDATE "Agent"
   SET "pendingTokenHash" = "tokenHash",
       "pendingTokenGeneration" = "lifecycleGeneration",
       "tokenHash" = CASE WHEN "previousTokenExpiresAt" = 'epoch' THEN NULL ELSE "previousTokenHash" END,
       "tokenDelivered" = ("previousTokenHash" IS NOT NULL AND "previousTokenExpiresAt" IS DISTINCT FROM 'epoch'),
       "previousTokenHash" = CASE WHEN "previousTokenExpiresAt" = 'epoch' THEN "previousTokenHash" ELSE NULL END,
       "previousTokenExpiresAt" = CASE WHEN "previousTokenExpiresAt" = 'epoch' THEN "previousTokenExpiresAt" ELSE NULL END
 WHERE "tokenDelivered" = false AND "tokenHash" IS NOT NULL;

UPDATE "Agent" SET "tokenGeneration" = COALESCE("provisionedGeneration", "lifecycleGeneration") WHERE "tokenHash" IS NOT NULL;
UPDATE "Agent" SET "cycleTokenGeneration" = COALESCE("tokenGeneration", "lifecycleGeneration");
