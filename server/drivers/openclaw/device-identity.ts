// The Ed25519 device identity Mission Control presents to OpenClaw gateways. One identity per installation, kept in
// the database (single DeviceIdentity row, private key sealed with MC_SECRET_KEY) so that every web and worker
// process signs as the same, once-paired device. Creation is atomic: concurrent first starts agree on one key.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import type { Db } from "../../db/prisma";
import { openSecret, sealSecret } from "../../secrets/crypto";
import { base64url, deviceIdOf, rawEd25519PublicKey } from "./protocol";
import { GatewayCallError } from "../types";

/** The primary key of the one DeviceIdentity row. */
export const DEVICE_IDENTITY_ROW = "default";

export interface DeviceIdentity {
  /** SHA-256 hex of the raw public key (always re-derived, never trusted from storage). */
  deviceId: string;
  /** Raw 32-byte public key, base64url without padding (what the gateway receives). */
  publicKey: string;
  publicKeyPem: string;
  /** Never log, never put in an error message. */
  privateKeyPem: string;
}

export function deviceIdentityFromPem(publicKeyPem: string, privateKeyPem: string): DeviceIdentity {
  const privateKey = createPrivateKey(privateKeyPem);
  // The public key is derived from the private one: a mismatched pair cannot be loaded.
  const publicKey = createPublicKey(privateKey);
  if (publicKey.asymmetricKeyType !== "ed25519") throw new Error("device identity is not an Ed25519 key");
  const raw = rawEd25519PublicKey(publicKey);
  const derivedPem = publicKey.export({ format: "pem", type: "spki" }).toString();
  if (!rawEd25519PublicKey(publicKeyPem).equals(raw)) throw new Error("device identity public key does not match its private key");
  return { deviceId: deviceIdOf(raw), publicKey: base64url(raw), publicKeyPem: derivedPem, privateKeyPem };
}

export function generateDeviceIdentity(): DeviceIdentity {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return deviceIdentityFromPem(
    publicKey.export({ format: "pem", type: "spki" }).toString(),
    privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  );
}

/** Loads the installation's identity, creating it on first use (INSERT … ON CONFLICT DO NOTHING, then re-read). */
export async function loadOrCreateDeviceIdentity(db: Db): Promise<DeviceIdentity> {
  let row = await db.deviceIdentity.findUnique({ where: { id: DEVICE_IDENTITY_ROW } });
  if (!row) {
    const fresh = generateDeviceIdentity();
    const sealed = sealSecret(fresh.privateKeyPem);
    await db.$executeRaw`
      INSERT INTO "DeviceIdentity" (id, "publicKey", "privateKeyEncrypted")
      VALUES (${DEVICE_IDENTITY_ROW}, ${fresh.publicKeyPem}, ${sealed})
      ON CONFLICT (id) DO NOTHING`;
    row = await db.deviceIdentity.findUniqueOrThrow({ where: { id: DEVICE_IDENTITY_ROW } });
  }
  let privateKeyPem: string | null;
  try {
    privateKeyPem = openSecret(row.privateKeyEncrypted);
    if (!privateKeyPem) throw new Error("empty");
    return deviceIdentityFromPem(row.publicKey, privateKeyPem);
  } catch {
    // Never regenerate silently: a new key is a new device that every gateway must pair again.
    throw new GatewayCallError(
      "device identity unreadable: the DeviceIdentity row cannot be decrypted or is invalid. Start every process with the " +
        "MC_SECRET_KEY that created it, or delete the row to create a new identity (it must then be paired on each gateway again)",
      "auth",
    );
  }
}

/** A per-process cached loader for the driver factory; a failed load is retried on the next call. */
export function deviceIdentityLoader(db: Db): () => Promise<DeviceIdentity> {
  let cached: Promise<DeviceIdentity> | undefined;
  return () => {
    cached ??= loadOrCreateDeviceIdentity(db).catch((err) => {
      cached = undefined;
      throw err;
    });
    return cached;
  };
}
