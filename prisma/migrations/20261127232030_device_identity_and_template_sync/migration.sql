-- CreateEnum
CREATE TYPE "SyncRunStatus" AS ENUM ('running', 'succeeded', 'failed');

-- CreateTable
CREATE TABLE "DeviceIdentity" (
    "id" TEXT NOT NULL,
    "publicKey" TEXT NOT NULL,
    "privateKeyEncrypted" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DeviceIdentity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TemplateSyncRun" (
    "id" UUID NOT NULL,
    "gatewayId" UUID NOT NULL,
    "revision" TEXT NOT NULL,
    "wake" BOOLEAN NOT NULL DEFAULT false,
    "status" "SyncRunStatus" NOT NULL DEFAULT 'running',
    "startedBy" TEXT NOT NULL,
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),
    "total" INTEGER NOT NULL DEFAULT 0,
    "succeeded" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "TemplateSyncRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TemplateSyncResult" (
    "id" UUID NOT NULL,
    "runId" UUID NOT NULL,
    "agentId" UUID NOT NULL,
    "ok" BOOLEAN NOT NULL,
    "error" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TemplateSyncResult_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "TemplateSyncRun_gatewayId_startedAt_idx" ON "TemplateSyncRun"("gatewayId", "startedAt");

-- CreateIndex
CREATE INDEX "TemplateSyncResult_runId_idx" ON "TemplateSyncResult"("runId");

-- AddForeignKey
ALTER TABLE "TemplateSyncResult" ADD CONSTRAINT "TemplateSyncResult_runId_fkey" FOREIGN KEY ("runId") REFERENCES "TemplateSyncRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;
