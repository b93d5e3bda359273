-- CreateEnum
CREATE TYPE "GatewayDriver" AS ENUM ('simulator', 'http', 'openclaw');

-- CreateEnum
CREATE TYPE "GatewayStatus" AS ENUM ('unknown', 'reachable', 'unreachable', 'incompatible');

-- CreateEnum
CREATE TYPE "AgentKind" AS ENUM ('gateway_main', 'board_lead', 'board_worker');

-- CreateEnum
CREATE TYPE "AgentStatus" AS ENUM ('provisioning', 'updating', 'waking', 'online', 'offline', 'deleting');

-- CreateEnum
CREATE TYPE "WakeOutcome" AS ENUM ('pending', 'checked_in', 'expired', 'rpc_failed', 'superseded');

-- CreateEnum
CREATE TYPE "OperatorRole" AS ENUM ('admin', 'operator', 'viewer');

-- CreateTable
CREATE TABLE "Gateway" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "driver" "GatewayDriver" NOT NULL,
    "url" TEXT,
    "tokenSecret" TEXT,
    "workspaceRoot" TEXT,
    "allowInsecureTls" BOOLEAN NOT NULL DEFAULT false,
    "disableDevicePairing" BOOLEAN NOT NULL DEFAULT false,
    "status" "GatewayStatus" NOT NULL DEFAULT 'unknown',
    "runtimeVersion" TEXT,
    "lastContactAt" TIMESTAMPTZ(3),
    "lastError" TEXT,
    "checkinDeadlineSeconds" INTEGER,
    "maxWakeAttempts" INTEGER,
    "templateRevision" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Gateway_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Board" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "gatewayId" UUID NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Board_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Agent" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "AgentKind" NOT NULL,
    "gatewayId" UUID NOT NULL,
    "boardId" UUID,
    "sessionKey" TEXT NOT NULL,
    "status" "AgentStatus" NOT NULL,
    "statusReason" TEXT,
    "lastSeenAt" TIMESTAMPTZ(3),
    "wakeAttempts" INTEGER NOT NULL DEFAULT 0,
    "lastWakeSentAt" TIMESTAMPTZ(3),
    "checkinDeadlineAt" TIMESTAMPTZ(3),
    "lastProvisionError" TEXT,
    "lifecycleGeneration" INTEGER NOT NULL DEFAULT 0,
    "provisionedGeneration" INTEGER,
    "cycleStartedAt" TIMESTAMPTZ(3),
    "cycleStartedBy" TEXT,
    "heartbeatIntervalSeconds" INTEGER NOT NULL DEFAULT 60,
    "templateRevision" TEXT,
    "simulatorBehaviour" TEXT,
    "tokenHash" TEXT,
    "tokenDelivered" BOOLEAN NOT NULL DEFAULT false,
    "previousTokenHash" TEXT,
    "previousTokenExpiresAt" TIMESTAMPTZ(3),
    "heartbeatsAccepted" INTEGER NOT NULL DEFAULT 0,
    "heartbeatsRejected" INTEGER NOT NULL DEFAULT 0,
    "lastRejectedAt" TIMESTAMPTZ(3),
    "lastRejectedReason" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Agent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WakeAttempt" (
    "id" UUID NOT NULL,
    "agentId" UUID NOT NULL,
    "generation" INTEGER NOT NULL,
    "attempt" INTEGER NOT NULL,
    "sentAt" TIMESTAMPTZ(3) NOT NULL,
    "deadlineAt" TIMESTAMPTZ(3) NOT NULL,
    "outcome" "WakeOutcome" NOT NULL DEFAULT 'pending',
    "checkedInAt" TIMESTAMPTZ(3),
    "resolvedAt" TIMESTAMPTZ(3),
    "error" TEXT,

    CONSTRAINT "WakeAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LifecycleEvent" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "event" TEXT NOT NULL,
    "agentId" UUID,
    "gatewayId" UUID,
    "boardId" UUID,
    "generation" INTEGER,
    "attempt" INTEGER,
    "deadlineAt" TIMESTAMPTZ(3),
    "message" TEXT NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "actor" TEXT,

    CONSTRAINT "LifecycleEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Operator" (
    "id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "role" "OperatorRole" NOT NULL,
    "passwordHash" TEXT,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Operator_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OperatorSession" (
    "id" UUID NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "operatorId" UUID NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "lastUsedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OperatorSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OperatorApiToken" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "operatorId" UUID NOT NULL,
    "role" "OperatorRole" NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3),
    "lastUsedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "OperatorApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "QueueWorker" (
    "id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "queueSchema" TEXT NOT NULL,
    "queues" TEXT[],
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastBeatAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "QueueWorker_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "socket_io_attachments" (
    "id" BIGSERIAL NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "payload" BYTEA NOT NULL,

    CONSTRAINT "socket_io_attachments_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Gateway_name_key" ON "Gateway"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Board_gatewayId_name_key" ON "Board"("gatewayId", "name");

-- CreateIndex
CREATE INDEX "Agent_status_idx" ON "Agent"("status");

-- CreateIndex
CREATE INDEX "Agent_boardId_idx" ON "Agent"("boardId");

-- CreateIndex
CREATE UNIQUE INDEX "Agent_gatewayId_name_key" ON "Agent"("gatewayId", "name");

-- CreateIndex
CREATE INDEX "WakeAttempt_agentId_sentAt_idx" ON "WakeAttempt"("agentId", "sentAt");

-- CreateIndex
CREATE UNIQUE INDEX "WakeAttempt_agentId_generation_attempt_key" ON "WakeAttempt"("agentId", "generation", "attempt");

-- CreateIndex
CREATE INDEX "LifecycleEvent_agentId_at_idx" ON "LifecycleEvent"("agentId", "at");

-- CreateIndex
CREATE INDEX "LifecycleEvent_gatewayId_at_idx" ON "LifecycleEvent"("gatewayId", "at");

-- CreateIndex
CREATE INDEX "LifecycleEvent_at_idx" ON "LifecycleEvent"("at");

-- CreateIndex
CREATE INDEX "LifecycleEvent_event_at_idx" ON "LifecycleEvent"("event", "at");

-- CreateIndex
CREATE UNIQUE INDEX "Operator_email_key" ON "Operator"("email");

-- CreateIndex
CREATE UNIQUE INDEX "OperatorSession_tokenHash_key" ON "OperatorSession"("tokenHash");

-- CreateIndex
CREATE INDEX "OperatorSession_operatorId_idx" ON "OperatorSession"("operatorId");

-- CreateIndex
CREATE UNIQUE INDEX "OperatorApiToken_tokenHash_key" ON "OperatorApiToken"("tokenHash");

-- AddForeignKey
ALTER TABLE "Board" ADD CONSTRAINT "Board_gatewayId_fkey" FOREIGN KEY ("gatewayId") REFERENCES "Gateway"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Agent" ADD CONSTRAINT "Agent_gatewayId_fkey" FOREIGN KEY ("gatewayId") REFERENCES "Gateway"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Agent" ADD CONSTRAINT "Agent_boardId_fkey" FOREIGN KEY ("boardId") REFERENCES "Board"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WakeAttempt" ADD CONSTRAINT "WakeAttempt_agentId_fkey" FOREIGN KEY ("agentId") REFERENCES "Agent"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OperatorSession" ADD CONSTRAINT "OperatorSession_operatorId_fkey" FOREIGN KEY ("operatorId") REFERENCES "Operator"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OperatorApiToken" ADD CONSTRAINT "OperatorApiToken_operatorId_fkey" FOREIGN KEY ("operatorId") REFERENCES "Operator"("id") ON DELETE CASCADE ON UPDATE CASCADE;
