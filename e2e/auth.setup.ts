// Signs the e2e admin in once through the login page and saves the session (cookies) for the specs that only need a
// signed-in admin (playwright.config.ts: the "setup" project, and `storageState` of the "chromium" project). Specs
// that test signing in itself, or sign in to another server, start from an empty state and sign in themselves.
import { test as setup } from "@playwright/test";
import { ADMIN_STATE, signIn } from "./helpers";

setup("sign in as the e2e admin", async ({ page }) => {
  await signIn(page);
  await page.context().storageState({ path: ADMIN_STATE });
});
