// Secrets at rest (gateway tokens, the device private key) are encrypted with AES-256-GCM under MC_SECRET_KEY.
// Without MC_SECRET_KEY a key is generated once and kept in .data/secret.key (git-ignored) with a warning: every
// process that shares the database must then share that file, so production deployments set MC_SECRET_KEY.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { config } from "../platform/config";

const PREFIX = "enc:v1:";
let cachedKey: Buffer | undefined;

function keyFromText(text: string): Buffer {
  // Accept 32 bytes as base64/hex, or derive 32 bytes from any passphrase.
  const trimmed = text.trim();
  for (const encoding of ["base64", "hex"] as const) {
    const raw = Buffer.from(trimmed, encoding);
    if (raw.length === 32) return raw;
  }
  return createHash("sha256").update(trimmed).digest();
}

export function secretKey(warn: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): Buffer {
  if (cachedKey) return cachedKey;
  const fromEnv = config().MC_SECRET_KEY;
  if (fromEnv) {
    cachedKey = keyFromText(fromEnv);
    return cachedKey;
  }
  const file = path.resolve(process.cwd(), ".data", "secret.key");
  if (fs.existsSync(file)) {
    cachedKey = keyFromText(fs.readFileSync(file, "utf8"));
    return cachedKey;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const generated = randomBytes(32).toString("base64");
  try {
    fs.writeFileSync(file, generated + "\n", { mode: 0o600, flag: "wx" });
  } catch (err) {
    // Another process (web and worker starting together) generated it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    let text = fs.readFileSync(file, "utf8");
    // It may still be being written: wait (up to ~1 s) for the whole key rather than derive one from a fragment.
    for (let i = 0; i < 20 && text.trim().length < 44; i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      text = fs.readFileSync(file, "utf8");
    }
    if (text.trim().length < 44) throw new Error(`${file} is incomplete; delete it or set MC_SECRET_KEY`, { cause: err });
    cachedKey = keyFromText(text);
    return cachedKey;
  }
  warn(
    `WARNING: MC_SECRET_KEY is not set; generated one in ${file}. Secrets at rest are encrypted with it. ` +
      "Set MC_SECRET_KEY (32 bytes, base64) in production so every process and every host uses the same key.",
  );
  cachedKey = keyFromText(generated);
  return cachedKey;
}

export function encryptSecret(plain: string, key: Buffer = secretKey()): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
}

/** A stored secret that this process's MC_SECRET_KEY cannot open: a configuration problem, never a network one. */
export class SecretUnreadableError extends Error {
  constructor(what = "a stored secret") {
    super(`cannot decrypt ${what} with this process's MC_SECRET_KEY (it was stored under another key): use the same MC_SECRET_KEY in every process, or enter the secret again`);
    this.name = "SecretUnreadableError";
  }
}

export function decryptSecret(stored: string, key: Buffer = secretKey()): string {
  if (!stored.startsWith(PREFIX)) throw new SecretUnreadableError();
  try {
    const raw = Buffer.from(stored.slice(PREFIX.length), "base64url");
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    throw new SecretUnreadableError();
  }
}

/** Stored secret → plain text (null when none is set). Throws SecretUnreadableError naming `what`. */
export function openSecret(stored: string | null, what = "the stored gateway token"): string | null {
  if (!stored) return null;
  try {
    return decryptSecret(stored);
  } catch (err) {
    if (err instanceof SecretUnreadableError) throw new SecretUnreadableError(what);
    throw err;
  }
}

/** Plain token from an operator → the value to store. */
export function sealSecret(plain: string | null | undefined): string | null {
  return plain ? encryptSecret(plain) : null;
}
