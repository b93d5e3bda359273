-- CreateEnum
CREATE TYPE "NotificationChannelKind" AS ENUM ('webhook', 'slack');

-- CreateEnum
CREATE TYPE "NotificationTrigger" AS ENUM ('agent_offline', 'gateway_unreachable', 'template_sync_failed', 'no_worker', 'reconcile_lag');

-- CreateEnum
CREATE TYPE "NotificationScope" AS ENUM ('fleet', 'gateway', 'board');

-- CreateEnum
CREATE TYPE "NotificationState" AS ENUM ('firing', 'resolved', 'test');

-- CreateEnum
CREATE TYPE "DeliveryKind" AS ENUM ('firing', 'resolved', 'test');

-- CreateEnum
CREATE TYPE "DeliveryStatus" AS ENUM ('pending', 'delivered', 'failed', 'skipped');

-- CreateTable
CREATE TABLE "OperatorAudit" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT,
    "message" TEXT NOT NULL,
    "agentId" UUID,
    "gatewayId" UUID,
    "boardId" UUID,
    "data" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "OperatorAudit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationChannel" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "NotificationChannelKind" NOT NULL,
    "urlSecret" TEXT NOT NULL,
    "urlHint" TEXT NOT NULL,
    "signingSecretSealed" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "NotificationChannel_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationRule" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "trigger" "NotificationTrigger" NOT NULL,
    "scope" "NotificationScope" NOT NULL DEFAULT 'fleet',
    "gatewayId" UUID,
    "boardId" UUID,
    "thresholdSeconds" INTEGER,
    "forSeconds" INTEGER,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "mutedUntil" TIMESTAMPTZ(3),
    "mutedBy" TEXT,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "NotificationRule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationRuleChannel" (
    "ruleId" UUID NOT NULL,
    "channelId" UUID NOT NULL,

    CONSTRAINT "NotificationRuleChannel_pkey" PRIMARY KEY ("ruleId","channelId")
);

-- CreateTable
CREATE TABLE "Notification" (
    "id" UUID NOT NULL,
    "ruleId" UUID,
    "ruleName" TEXT NOT NULL,
    "trigger" "NotificationTrigger",
    "groupKey" TEXT NOT NULL,
    "openKey" TEXT,
    "state" "NotificationState" NOT NULL,
    "title" TEXT NOT NULL,
    "summary" TEXT NOT NULL,
    "gatewayId" UUID,
    "boardId" UUID,
    "agentId" UUID,
    "affectedAgents" INTEGER NOT NULL DEFAULT 0,
    "details" JSONB NOT NULL DEFAULT '{}',
    "openedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolvedAt" TIMESTAMPTZ(3),
    "acknowledgedAt" TIMESTAMPTZ(3),
    "acknowledgedBy" TEXT,

    CONSTRAINT "Notification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationAgent" (
    "notificationId" UUID NOT NULL,
    "agentId" UUID NOT NULL,
    "error" TEXT,
    "addedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "recoveredAt" TIMESTAMPTZ(3),

    CONSTRAINT "NotificationAgent_pkey" PRIMARY KEY ("notificationId","agentId")
);

-- CreateTable
CREATE TABLE "NotificationDelivery" (
    "id" UUID NOT NULL,
    "notificationId" UUID NOT NULL,
    "channelId" UUID,
    "channelName" TEXT NOT NULL,
    "kind" "DeliveryKind" NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "responseStatus" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sendAfter" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMPTZ(3),

    CONSTRAINT "NotificationDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "OperatorAudit_at_idx" ON "OperatorAudit"("at");

-- CreateIndex
CREATE INDEX "OperatorAudit_actor_at_idx" ON "OperatorAudit"("actor", "at");

-- CreateIndex
CREATE INDEX "OperatorAudit_gatewayId_at_idx" ON "OperatorAudit"("gatewayId", "at");

-- CreateIndex
CREATE INDEX "OperatorAudit_agentId_at_idx" ON "OperatorAudit"("agentId", "at");

-- CreateIndex
CREATE UNIQUE INDEX "NotificationChannel_name_key" ON "NotificationChannel"("name");

-- CreateIndex
CREATE UNIQUE INDEX "NotificationRule_name_key" ON "NotificationRule"("name");

-- CreateIndex
CREATE INDEX "NotificationRuleChannel_channelId_idx" ON "NotificationRuleChannel"("channelId");

-- CreateIndex
CREATE UNIQUE INDEX "Notification_openKey_key" ON "Notification"("openKey");

-- CreateIndex
CREATE INDEX "Notification_openedAt_idx" ON "Notification"("openedAt");

-- CreateIndex
CREATE INDEX "Notification_state_openedAt_idx" ON "Notification"("state", "openedAt");

-- CreateIndex
CREATE INDEX "NotificationAgent_agentId_idx" ON "NotificationAgent"("agentId");

-- CreateIndex
CREATE INDEX "NotificationDelivery_notificationId_idx" ON "NotificationDelivery"("notificationId");

-- CreateIndex
CREATE INDEX "NotificationDelivery_channelId_createdAt_idx" ON "NotificationDelivery"("channelId", "createdAt");

-- CreateIndex
CREATE INDEX "TemplateSyncRun_startedAt_idx" ON "TemplateSyncRun"("startedAt");

-- CreateIndex
CREATE INDEX "WakeAttempt_sentAt_idx" ON "WakeAttempt"("sentAt");

-- AddForeignKey
ALTER TABLE "NotificationRule" ADD CONSTRAINT "NotificationRule_gatewayId_fkey" FOREIGN KEY ("gatewayId") REFERENCES "Gateway"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NotificationRule" ADD CONSTRAINT "NotificationRule_boardId_fkey" FOREIGN KEY ("boardId") REFERENCES "Board"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NotificationRuleChannel" ADD CONSTRAINT "NotificationRuleChannel_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "NotificationRule"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NotificationRuleChannel" ADD CONSTRAINT "NotificationRuleChannel_channelId_fkey" FOREIGN KEY ("channelId") REFERENCES "NotificationChannel"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Notification" ADD CONSTRAINT "Notification_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "NotificationRule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NotificationAgent" ADD CONSTRAINT "NotificationAgent_notificationId_fkey" FOREIGN KEY ("notificationId") REFERENCES "Notification"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NotificationDelivery" ADD CONSTRAINT "NotificationDelivery_notificationId_fkey" FOREIGN KEY ("notificationId") REFERENCES "Notification"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NotificationDelivery" ADD CONSTRAINT "NotificationDelivery_channelId_fkey" FOREIGN KEY ("channelId") REFERENCES "NotificationChannel"("id") ON DELETE SET NULL ON UPDATE CASCADE;
