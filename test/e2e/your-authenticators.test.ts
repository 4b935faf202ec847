import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { demoPassword } from "../../src/seed/demo-sign-in.ts";
import { auditActions, enrolApp, nextCode, singlePositionPeople } from "../authenticators/enrolment.ts";
import { assertAccessible } from "../support/axe.ts";
import { addAuthenticator, removeAuthenticator } from "../support/chromium.ts";
import type { Cis2Server } from "../support/cis2-server.ts";
import { leftOut } from "../support/prerequisites.ts";
import { serviceTrustingChromium } from "../support/webauthn-service.ts";

/** Opens "your authenticators" and signs in through CIS2 with the authenticator app. */
async function signInWithApp(page: Page, server: Cis2Server, uuid: string, secret: string) {
  await page.goto(`${server.origin}/authenticators/mine`);
  await page.getByLabel("Care Identity UUID or email address").fill(uuid);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByLabel("Password").fill(demoPassword);
  await page.getByLabel("Code from your authenticator app").fill(nextCode(secret));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Your authenticators" }).waitFor();
}

async function addOnPage(page: Page, link: string, button: string) {
  await page.getByRole("link", { name: link }).click();
  await page.getByRole("button", { name: button }).click();
  await page.waitForLoadState("load");
}

test("signed in through CIS2, a person adds authenticators up to the AAL they signed in with, renames and removes them; every change is audited", async (t) => {
  if (leftOut(t, "browser")) return;
  const { server, context, page } = await serviceTrustingChromium(t, { bypassCSP: true });
  const db = server.store.db;
  const [uuid, stranger] = (await singlePositionPeople(db, 2)) as [string, string];
  const secret = await enrolApp(server, uuid);
  await enrolApp(server, stranger);

  await signInWithApp(page, server, uuid, secret);
  assert.match(await page.locator("main").innerText(), /signed in with Authenticator app \(AAL2\)/);

  // An attested security key would be AAL3: more than this AAL2 sign-in may add.
  const key = await addAuthenticator(context, page);
  await addOnPage(page, "Add a security key", "Register security key");
  await page.getByText("you can add authenticators up to AAL2. This one would be AAL3").first().waitFor();
  await removeAuthenticator(key);
  const [aboveAal] = await auditActions(db, "webauthn.registration-refused");
  assert.equal((aboveAal?.after as { reason?: string } | undefined)?.reason, "above-session-aal");

  // A synced passkey is AAL2: allowed.
  const synced = await addAuthenticator(context, page, { transport: "internal", backupEligible: true });
  await page.goto(`${server.origin}/authenticators/mine`);
  await addOnPage(page, "Add this device", "Register this device");
  await page.getByRole("heading", { name: "Your passkey is registered" }).waitFor();
  await page.getByRole("link", { name: "Back to your authenticators" }).click();
  const passkey = await db
    .selectFrom("webauthn_credentials")
    .selectAll()
    .where("uuid", "=", uuid)
    .executeTakeFirstOrThrow();
  assert.equal(passkey.method, "PASSKEY_SYNCED");

  await page.getByRole("link", { name: "Rename Passkey" }).click();
  await assertAccessible(page, "rename an authenticator");
  await page.getByLabel("Rename Passkey").fill("My phone");
  await page.getByRole("button", { name: "Save name" }).click();
  await page.getByRole("heading", { name: "My phone" }).waitFor();
  assert.match(
    await page.locator('[data-authenticator="app"]').innerText(),
    /Added\s+\d{1,2} [A-Z][a-z]+ \d{4}[\s\S]*Last used\s+\d{1,2} [A-Z][a-z]+ \d{4} at \d/,
    "added and last used in words",
  );
  // Removing asks first, naming what goes; "No, keep it" keeps it.
  await page.getByRole("link", { name: "Remove Authenticator app" }).click();
  await page.getByRole("heading", { name: "Remove Authenticator app?" }).waitFor();
  await assertAccessible(page, "confirm removing an authenticator");
  await page.getByRole("link", { name: "No, keep it" }).click();
  assert.equal(await page.locator("[data-authenticator]").count(), 2, "nothing removed without confirming");
  await page.getByRole("link", { name: "Remove Authenticator app" }).click();
  await page.getByRole("button", { name: "Yes, remove Authenticator app" }).click();
  await page.getByText("Authenticator app was removed. You can no longer sign in with it.").waitFor();
  assert.equal(await page.locator("[data-authenticator]").count(), 1);
  // The last one: the page says what removing it would mean and offers no button.
  await page.getByRole("link", { name: "Remove My phone" }).click();
  await page.getByText("This is your only authenticator").waitFor();
  await assertAccessible(page, "the last authenticator");
  assert.equal(await page.getByRole("button", { name: /remove/i }).count(), 0);
  await page.getByRole("link", { name: "Back to your authenticators" }).click();
  assert.equal(await page.locator("[data-authenticator]").count(), 1, "the last one stays");

  // Someone else's authenticator is not found; a form without its session token is refused.
  await page.goto(
    `${server.origin}/authenticators/mine/rename?id=${encodeURIComponent(passkey.credential_id)}`,
  );
  const csrf = String(await page.locator('input[name="csrf"]').first().inputValue());
  const foreign = await page.request.post(`${server.origin}/authenticators/mine/remove`, {
    form: { id: "app", csrf },
    maxRedirects: 0,
  });
  assert.equal(foreign.status(), 400, "only one's own authenticators can be named");
  assert.match(await foreign.text(), /You have no such authenticator/);
  const strangersApp = await db
    .selectFrom("totp_authenticators")
    .select("uuid")
    .where("uuid", "=", stranger)
    .execute();
  assert.equal(strangersApp.length, 1, "the other person's app is untouched");
  const forged = await page.request.post(`${server.origin}/authenticators/mine/rename`, {
    form: { id: passkey.credential_id, name: "Stolen" },
  });
  assert.equal(forged.status(), 400);
  assert.match(await forged.text(), /out of date/);

  assert.deepEqual(
    (await auditActions(db, "authenticator.renamed")).map((event) => event.after),
    [{ credential: passkey.credential_id, name: "My phone" }],
  );
  assert.deepEqual(
    (await auditActions(db, "authenticator.removed")).map((event) => event.subject_id),
    [uuid],
  );
  const registered = await auditActions(db, "webauthn.registered");
  assert.equal(registered.at(-1)?.subject_id, uuid);
  await removeAuthenticator(synced);

  await page.goto(`${server.origin}/authenticators/mine`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto(`${server.origin}/authenticators/mine`);
  await page.getByLabel("Care Identity UUID or email address").waitFor();
});

test("signed in with an AAL3 security key, a person may add a device-bound passkey at AAL3", async (t) => {
  if (leftOut(t, "browser")) return;
  const { server, context, page } = await serviceTrustingChromium(t);
  const db = server.store.db;
  const [uuid] = (await singlePositionPeople(db, 1)) as [string];
  const { issueEnrolmentLink } = await import("../../src/authenticators/enrolment/links.ts");
  const { operatorActor } = await import("../../src/audit/actor.ts");
  const { enrolmentUrl } = await import("../authenticators/enrolment.ts");
  const key = await addAuthenticator(context, page);
  const { token } = await issueEnrolmentLink(db, operatorActor(), { uuid });
  await page.goto(enrolmentUrl(server, token, "security-key"));
  await page.getByRole("button", { name: "Register security key" }).click();
  await page.getByRole("heading", { name: "Your security key is registered" }).waitFor();

  await page.goto(`${server.origin}/authenticators/mine`);
  await page.getByLabel("Care Identity UUID or email address").fill(uuid);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("button", { name: "Use security key" }).click();
  await page.getByRole("heading", { name: "Your authenticators" }).waitFor();
  assert.match(await page.locator("main").innerText(), /\(AAL3\)/);
  await removeAuthenticator(key);

  const device = await addAuthenticator(context, page, { transport: "internal" });
  await addOnPage(page, "Add this device", "Register this device");
  await page.getByRole("heading", { name: "Your passkey on this device is registered" }).waitFor();
  await removeAuthenticator(device);
  const methods = await db
    .selectFrom("webauthn_credentials")
    .select("method")
    .where("uuid", "=", uuid)
    .orderBy("created_at")
    .execute();
  assert.deepEqual(
    methods.map((row) => row.method),
    ["FIDO2", "PASSKEY"],
  );
});

test("a person with no AAL2 or AAL3 authenticator is told why they cannot manage authenticators", async (t) => {
  if (leftOut(t, "browser")) return;
  const { server, page } = await serviceTrustingChromium(t);
  const [uuid] = (await singlePositionPeople(server.store.db, 1)) as [string];
  await page.goto(`${server.origin}/authenticators/mine`);
  await page.getByLabel("Care Identity UUID or email address").fill(uuid);
  await page.getByRole("button", { name: "Continue" }).click();
  // CIS2 says what to do first, in words; its link back hands the page the OAuth refusal.
  await page.getByRole("heading", { name: "You need a stronger way to sign in to this service" }).waitFor();
  assert.doesNotMatch(await page.locator("main").innerText(), /assurance cannot be met/);
  await page.getByRole("link", { name: "Return to the service" }).click();
  await page.getByRole("heading", { name: "You cannot manage your authenticators now" }).waitFor();
  assert.doesNotMatch(await page.locator("main").innerText(), /assurance cannot be met/);
  assert.match(await page.locator("[data-refusal]").innerText(), /needs an authenticator at AAL2 or AAL3/);
  assert.equal((await auditActions(server.store.db, "cis2.sign-in-refused")).at(-1)?.subject_id, uuid);
});
