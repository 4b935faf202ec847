import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { checkPassword } from "../../src/authenticators/password/passwords.ts";
import { codeAt } from "../../src/authenticators/totp/codes.ts";
import { loadConfig } from "../../src/config.ts";
import { startMessageDelivery } from "../../src/messaging/delivery.ts";
import { issueAuthenticatorLink } from "../../src/registration/authenticators.ts";
import { auditActions, nextCode, singlePositionPeople } from "../authenticators/enrolment.ts";
import { startUpstream } from "../federation/upstream.ts";
import { assertAccessible } from "../support/axe.ts";
import { launchChromium } from "../support/chromium.ts";
import { type Cis2Server, startCis2Server } from "../support/cis2-server.ts";
import { startDemoRelyingParty } from "../support/point-of-care.ts";
import { leftOut } from "../support/prerequisites.ts";
import { inCim, uuidOf } from "../support/ra-directory.ts";
import { startSmtpServer } from "../support/smtp.ts";

const clientSecret = "point-of-care-federation-secret-0123456789abcdef";

/** The demo relying party asking for `acr`, as its own client. */
async function relyingParty(
  t: { after(cleanup: () => Promise<void>): void },
  server: Cis2Server,
  acr: string,
) {
  const clientId = `${acr === "AAL3_ANY" ? "123456789021" : "123456789020"}.apps.supplier`;
  return (await startDemoRelyingParty(t, server, { clientId, clientSecret, acr })).url;
}

/** Starts a sign-in at the relying party and identifies as `uuid` on CIS2's first page. */
async function identify(page: Page, appUrl: string, uuid: string) {
  await page.context().clearCookies();
  await page.goto(`${appUrl}/login`);
  await page.getByLabel("Care Identity UUID or email address").fill(uuid);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForLoadState("load");
}

/** Chooses the first role where CIS2 asks (scope selectedrole), then waits for the relying party. */
async function signedInAt(page: Page, appUrl: string) {
  const role = page.locator('input[name="role"]').first();
  await Promise.race([role.waitFor(), page.waitForURL(`${appUrl}/`)]);
  if (!page.url().startsWith(appUrl)) {
    await role.check();
    await page.getByRole("button", { name: "Continue" }).click();
  }
  await page.waitForURL(`${appUrl}/`);
  return page.locator("main").innerText();
}

async function shot(page: Page, name: string) {
  if (process.env.SCREENSHOTS)
    await page.screenshot({ path: `${process.env.SCREENSHOTS}/${name}.png`, fullPage: true });
}

/**
 * Done when (issue 17), in Chromium through every real page: an RA's link links an upstream
 * (Entra-shaped, its own process) account; NHS.net Connect signs in to the demo relying party at
 * AAL2 and is refused where AAL3 is required; a new person enrols the app with their own password
 * from an emailed link and signs in; a forgotten password is reset with the emailed code, starting
 * from the "Forgotten your password?" link on the app's sign-in page.
 */
test("NHS.net Connect and the authenticator app for real users, in Chromium", async (t) => {
  if (leftOut(t, "browser")) return;
  const server = await startCis2Server(t);
  const db = server.store.db;
  await startUpstream(t, server);
  const smtp = await startSmtpServer(t);
  const messages = loadConfig({
    CAREID_SMTP_URL: smtp.url,
    CAREID_SMTP_FROM: "Care Identity <no-reply@careid.test>",
  });
  const worker = startMessageDelivery(messages, db, server.cis2.sealer, console, 200);
  t.after(() => worker.stop());
  const aal2 = await relyingParty(t, server, "AAL2_OR_AAL3_ANY");
  const aal3 = await relyingParty(t, server, "AAL3_ANY");
  const { page } = await launchChromium(t, { bypassCSP: true });
  page.setDefaultTimeout(15_000);
  const raAgent = await uuidOf(db, "Adebayo");
  const [alice, newcomer] = (await singlePositionPeople(db, 3)).filter((uuid) => uuid !== raAgent) as [
    string,
    string,
  ];
  // Real users: no demo password or app.
  await db.deleteFrom("passwords").where("uuid", "in", [alice, newcomer]).execute();
  await db.deleteFrom("totp_authenticators").where("uuid", "in", [alice, newcomer]).execute();
  const email = "new.starter@nhs.net";
  await db.updateTable("people").set({ email }).where("uuid", "=", newcomer).execute();

  await t.test(
    "an RA's link links an NHS.net Connect account; it signs in at AAL2 and is refused at AAL3",
    async () => {
      const { token } = await issueEnrolmentLink(db, operatorActor(), { uuid: alice });
      await page.goto(`${server.origin}/authenticators/enrol/${token}`);
      await shot(page, "a1-enrolment-link");
      await page.getByRole("link", { name: "NHS.net Connect" }).click();
      await page.getByRole("heading", { name: "Sign in to your account" }).waitFor();
      await page.getByLabel("Email address").fill("alice.smith@nhs.net");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Your NHS.net Connect account is linked" }).waitFor();
      await shot(page, "a2-linked");
      await assertAccessible(page, "the account is linked");
      assert.equal((await auditActions(db, "federation.linked")).at(-1)?.subject_id, alice);

      await identify(page, aal2, alice);
      await shot(page, "a3-methods");
      if (!page.url().includes("/interaction/")) {
        await assertAccessible(page, "the sign-in methods");
        await page.getByRole("link", { name: "NHS.net Connect" }).first().click();
      }
      await page.getByLabel("Email address").fill("alice.smith@nhs.net");
      await page.getByRole("button", { name: "Sign in" }).click();
      const signedIn = await signedInAt(page, aal2);
      await shot(page, "a4-signed-in");
      assert.match(signedIn, new RegExp(alice));
      assert.match(signedIn, /AAL2_OR_AAL3_ANY \(NHSMAIL\)/);

      // Where AAL3 is required NHS.net Connect is not enough: the relying party hears access_denied.
      await identify(page, aal3, alice);
      await page
        .getByRole("heading", { name: "You need a stronger way to sign in to this service" })
        .waitFor();
      await shot(page, "a5-aal3");
      await assertAccessible(page, "a stronger authenticator needed");
      await page.getByRole("link", { name: "Return to the service" }).click();
      await page.getByText("access_denied").first().waitFor();
      assert.match(await page.locator("main").innerText(), /Sign-in did not complete/);
    },
  );

  await t.test(
    "a new person enrols the authenticator app with their own password from an emailed link, and signs in",
    async () => {
      await issueAuthenticatorLink(db, inCim(raAgent), {
        uuid: newcomer,
        email: { sealer: server.cis2.sealer, linkBase: `${server.origin}/authenticators/enrol` },
      });
      const text = await received(
        smtp.received,
        email,
        /(http:\/\/\S+\/authenticators\/enrol\/[A-Za-z0-9_-]+)/,
      );
      await page.context().clearCookies();
      await page.goto(text);
      await page.getByRole("link", { name: "Authenticator app" }).click();
      const secret = String(await page.locator("[data-secret]").getAttribute("data-secret"));
      await page.getByLabel("Password", { exact: true }).fill("password123");
      await page.getByLabel("Enter the password again").fill("password123");
      await page.getByLabel("Code from your authenticator app").fill(codeAt(secret, new Date()));
      await page.getByRole("button", { name: "Confirm" }).click();
      await page.getByText("too common").first().waitFor();
      await shot(page, "b1-common-password");
      await assertAccessible(page, "a refused password");
      const chosen = "a long walk by the river";
      await page.getByLabel("Password", { exact: true }).fill(chosen);
      await page.getByLabel("Enter the password again").fill(chosen);
      await page.getByLabel("Code from your authenticator app").fill(codeAt(secret, new Date()));
      await page.getByRole("button", { name: "Confirm" }).click();
      await page.getByRole("heading", { name: "Your authenticator app is set up" }).waitFor();
      assert.equal(await checkPassword(db, newcomer, chosen), true);

      await identify(page, aal2, newcomer);
      await shot(page, "b2-password");
      await page.getByLabel("Password", { exact: true }).fill(chosen);
      await page.getByLabel("Code from your authenticator app").fill(nextCode(secret));
      await page.getByRole("button", { name: "Sign in" }).click();
      const signedIn = await signedInAt(page, aal2);
      assert.match(signedIn, new RegExp(newcomer));
      assert.match(signedIn, /AAL2_OR_AAL3_ANY \(TOTP\)/);
      secrets.set(newcomer, secret);
    },
  );

  await t.test("a forgotten password is reset from the sign-in page with emailed and app codes", async () => {
    const secret = secrets.get(newcomer);
    assert.ok(secret, "the app enrolled above");
    await identify(page, aal2, newcomer);
    await page.getByLabel("Code from your authenticator app").waitFor();
    await page.getByRole("link", { name: "Forgotten your password?" }).click();
    await page.getByRole("heading", { name: "Reset your password" }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/authenticators/password-reset");
    await shot(page, "c1-ask");
    await assertAccessible(page, "forgotten password");
    await page.getByLabel("Care Identity UUID or email address").fill(email);
    await page.getByRole("button", { name: "Send me a code" }).click();
    await page.getByLabel("Code from the email").waitFor();
    const code = await received(smtp.received, email, /authenticator app is (\d{6})/);
    // The sign-in above spent the next step's app code: wait until a later one is current.
    await waitForFreshStep();
    const renewed = "a different walk by the sea";
    const changePassword = async (emailCode: string) => {
      await page.getByLabel("Code from the email").fill(emailCode);
      await page.getByLabel("Code from your authenticator app").fill(nextCode(secret));
      await page.getByLabel("New password").fill(renewed);
      await page.getByLabel("Enter the password again").fill(renewed);
      await page.getByRole("button", { name: "Change my password" }).click();
    };
    await changePassword(code === "000000" ? "111111" : "000000");
    await page.getByText("is not correct").first().waitFor();
    await shot(page, "c2-wrong-code");
    await assertAccessible(page, "a wrong reset code");
    await changePassword(code);
    await page.getByText("Your password has been changed").first().waitFor();
    await shot(page, "c3-changed");
    assert.equal(await checkPassword(db, newcomer, renewed), true);
    assert.deepEqual(
      (await auditActions(db, "password.reset")).map((event) => event.subject_id),
      [newcomer],
    );
  });
});

const secrets = new Map<string, string>();

/** Waits until the app's next time step is one no sign-in has spent yet (at most one step). */
async function waitForFreshStep() {
  const spent = Math.floor(Date.now() / 30_000) + 1;
  while (Math.floor((Date.now() + 30_000) / 30_000) <= spent)
    await new Promise((resolve) => setTimeout(resolve, 500));
}

/** The first match of `pattern` in an email the SMTP server received for this address. */
async function received(messages: { to: string[]; text: string }[], to: string, pattern: RegExp) {
  for (let attempt = 0; attempt < 100; attempt++) {
    for (const message of messages.filter((entry) => entry.to.includes(to))) {
      const found = pattern.exec(message.text.replaceAll(/=\r?\n/g, "").replaceAll("=3D", "="))?.[1];
      if (found) return found;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing matching ${pattern} reached ${to}`);
}
