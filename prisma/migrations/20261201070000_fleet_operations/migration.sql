-- CreateEnum
CREATE TYPE "FleetOperationKind" AS ENUM ('provision_created', 'reprovision', 'wake_gateway');

-- CreateEnum
CREATE TYPE "FleetOperationStatus" AS ENUM ('queued', 'running', 'done', 'failed');

-- CreateTable
CREATE TABLE "FleetOperation" (
    "id" UUID NOT NULL,
    "kind" "FleetOperationKind" NOT NULL,
    "gatewayId" UUID,
    "agentIds" UUID[],
    "cursor" UUID,
    "total" INTEGER NOT NULL DEFAULT 0,
    "done" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "status" "FleetOperationStatus" NOT NULL DEFAULT 'queued',
    "error" TEXT,
    "startedBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "FleetOperation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "FleetOperation_createdAt_idx" ON "FleetOperation"("createdAt");
