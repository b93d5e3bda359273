/*
  Warnings:

  - You are about to drop the column `disableDevicePairing` on the `Gateway` table. All the data in the column will be lost.

*/
-- AlterTable
ALTER TABLE "Gateway" DROP COLUMN "disableDevicePairing",
ADD COLUMN     "deviceTokenSecret" TEXT,
ADD COLUMN     "pairingRequestId" TEXT,
ADD COLUMN     "protocolVersion" INTEGER;

-- AlterTable
ALTER TABLE "TemplateSyncResult" ADD COLUMN     "tokenRepaired" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "WakeAttempt" ADD COLUMN     "runError" TEXT;
