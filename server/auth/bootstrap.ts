import { isUniqueViolation, type Db } from "../db/prisma";
import type { Config } from "../platform/config";
import type { Logger } from "../platform/logger";
import { generatePassword, hashPassword } from "./passwords";

/**
 * On first start with no operators, create the admin from ADMIN_EMAIL / ADMIN_PASSWORD, or with a generated password
 * printed once to the console (never to the structured log).
 */
export async function ensureFirstAdmin(db: Db, logger: Logger, config: Pick<Config, "ADMIN_EMAIL" | "ADMIN_PASSWORD">): Promise<void> {
  if ((await db.operator.count()) > 0) return;
  const email = (config.ADMIN_EMAIL ?? "admin@mission-control.local").trim().toLowerCase();
  const given = config.ADMIN_PASSWORD;
  const password = given && given.length > 0 ? given : generatePassword();
  try {
    await db.operator.create({ data: { email, role: "admin", name: "Administrator", passwordHash: await hashPassword(password) } });
  } catch (err) {
    // Another process created the first admin at the same moment.
    if (isUniqueViolation(err)) return;
    throw err;
  }
  logger.info({ email }, "created the first admin operator");
  if (!given) {
    process.stdout.write(
      `\n  First admin created. Sign in with\n    email:    ${email}\n    password: ${password}\n  (printed once; set ADMIN_EMAIL/ADMIN_PASSWORD to choose them)\n\n`,
    );
  }
}
