// The key check value: a constant encrypted with MC_SECRET_KEY and stored in the database. A process whose key
// cannot open it refuses to start, with a message saying so, instead of running with a key that cannot read the
// stored gateway tokens (every gateway call would then fail, and look like a network problem).
import type { Db } from "../db/prisma";
import { decryptSecret, encryptSecret, secretKey } from "./crypto";

const CHECK_ID = "mc-secret-key";
const CHECK_PLAIN = "mission-control key check v1";

export class SecretKeyMismatchError extends Error {
  constructor(detail: string) {
    super(
      `MC_SECRET_KEY cannot decrypt the secrets stored in this database (${detail}). Every process that shares ` +
        "DATABASE_URL must use the same MC_SECRET_KEY: set it to the key the other processes use (or copy their " +
        ".data/secret.key). Refusing to start.",
    );
    this.name = "SecretKeyMismatchError";
  }
}

function opens(stored: string, key: Buffer): boolean {
  try {
    decryptSecret(stored, key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Verifies that this process's key opens the database's check value; on a database without one, stores it — after
 * making sure the key opens a secret already stored there, if any (databases from before the check existed).
 */
export async function verifySecretKey(db: Db, key: Buffer = secretKey()): Promise<void> {
  let check = await db.secretKeyCheck.findUnique({ where: { id: CHECK_ID } });
  if (!check) {
    const sample =
      (await db.gateway.findFirst({ where: { tokenSecret: { not: null } }, select: { tokenSecret: true } }))?.tokenSecret ??
      (await db.deviceIdentity.findFirst({ select: { privateKeyEncrypted: true } }))?.privateKeyEncrypted ??
      null;
    if (sample && !opens(sample, key)) throw new SecretKeyMismatchError("a stored gateway secret does not open with it");
    await db.secretKeyCheck.createMany({ data: [{ id: CHECK_ID, value: encryptSecret(CHECK_PLAIN, key) }], skipDuplicates: true });
    // Another process may have stored its own at the same moment: whichever won is the one to match.
    check = await db.secretKeyCheck.findUniqueOrThrow({ where: { id: CHECK_ID } });
  }
  if (!opens(check.value, key)) throw new SecretKeyMismatchError("the key check value stored by the first process does not open with it");
}
