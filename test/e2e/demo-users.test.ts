import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { operatorActor } from "../../src/audit/actor.ts";
import { codeAt } from "../../src/authenticators/totp/codes.ts";
import { readDemoApps, seedDemoApps } from "../../src/seed/demo-authenticators.ts";
import { demoPassword } from "../../src/seed/demo-sign-in.ts";
import { nextCode } from "../authenticators/enrolment.ts";
import { signInToCimInChromium } from "../registration/cim-browser.ts";
import { assertAccessible } from "../support/axe.ts";
import { addAuthenticator, launchChromium } from "../support/chromium.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { desktop, phone, widerThanThePage } from "../support/phone.ts";
import { startDemoRelyingParty } from "../support/point-of-care.ts";
import { leftOut } from "../support/prerequisites.ts";
import { uuidOf } from "../support/ra-directory.ts";

/** Set to a folder (docs/screenshots) to save the pages as PNGs while the journey runs. */
const screenshots = process.env.CAREID_SCREENSHOTS;

async function shoot(page: Page, name: string, fullPage = true): Promise<void> {
  if (!screenshots) return;
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage });
}

/** Signs in to the demo relying party as `identifier` and waits for the CIS2 step it lands on. */
async function startRelyingPartySignIn(page: Page, appUrl: string, identifier: string): Promise<void> {
  await page.goto(`${appUrl}/`);
  await page.getByRole("button", { name: "Sign in with your Care Identity" }).click();
  await page.getByLabel("Care Identity UUID or email address").fill(identifier);
  await page.getByRole("button", { name: "Continue" }).click();
}

/**
 * The demo as a newcomer meets it, in Chromium and checked by axe, at one host name (localhost,
 * which WebAuthn needs): /demo/users says who is an RA, a sponsor and what each holds; a demo
 * person's authenticator app, seeded through an enrolment link, signs in to the demo relying
 * party with a code made from the published secret; a security key registered from the page's
 * enrolment link signs in too; and an RA's enrolment link page fits, copies, and says when it
 * expires and what it sets up.
 */
test("demo users, their authenticators and the enrolment link pages, in Chromium", async (t) => {
  if (leftOut(t, "browser")) return;
  const server = await startCis2Server(t, {}, "localhost");
  await seedDemoApps(server.store.db, operatorActor(), server.cis2.sealer);
  const { context, page } = await launchChromium(t, { bypassCSP: true });
  page.setDefaultTimeout(20_000);
  await page.setViewportSize(desktop);
  const pointOfCare = await startDemoRelyingParty(t, server, {
    clientId: "888888888888.apps.national",
    clientSecret: "a-secret-for-the-demo-users-journey",
    acr: "AAL2_OR_AAL3_ANY",
  });
  const [kwame] = readDemoApps();
  assert.ok(kwame);

  await t.test("/demo/users says who is an RA, a sponsor, and what each holds", async () => {
    await page.goto(`${server.origin}/demo/users`);
    const row = async (familyName: string) =>
      page.locator(`#people tr[data-uuid="${await uuidOf(server.store.db, familyName)}"]`).innerText();
    assert.match(await row("Adebayo"), /RA agent[^\n]* at Ashcombe and Wexley Hospitals NHS Trust \(RZZ\)/);
    assert.match(await row("Mensah"), /Sponsor at Ashcombe and Wexley Hospitals NHS Trust \(RZZ\)/);
    assert.match(await row("Harrington"), /RA manager for every organisation/);
    assert.match(await row("Bennett"), /None/);
    assert.match(await row("Boateng"), /Authenticator app/);
    const card = page.locator(`[data-app-holder="${await uuidOf(server.store.db, "Boateng")}"]`);
    assert.equal(await card.locator("[data-secret]").getAttribute("data-secret"), kwame.secret);
    assert.match(await card.innerText(), new RegExp(`oathtool --totp -b ${kwame.secret}`));
    assert.match(
      String(await card.getByRole("link").getAttribute("href")),
      new RegExp(`^otpauth://totp/.*secret=${kwame.secret}`),
    );
    await card
      .getByRole("img", { name: /QR code of the authenticator app secret for Mr Kwame Boateng/ })
      .waitFor();
    await assertAccessible(page, "the demo users page");
    // The whole list is long: the top of the page, and the authenticators a newcomer can use.
    await shoot(page, "demo-users", false);
    const top = (await page.locator("#app-holders").boundingBox())?.y ?? 0;
    if (screenshots)
      await page.screenshot({
        path: join(screenshots, "demo-users-authenticators.png"),
        fullPage: true,
        clip: { x: 0, y: top - 24, width: 1024, height: 1400 },
      });
  });

  await t.test("a page opened at 127.0.0.1 goes to localhost, the one host name", async () => {
    const elsewhere = server.origin.replace("localhost", "127.0.0.1");
    const answer = await fetch(`${elsewhere}/cim/`, { headers: { accept: "text/html" }, redirect: "manual" });
    assert.equal(answer.status, 308);
    assert.equal(answer.headers.get("location"), `${server.origin}/cim/`);
    const api = await fetch(`${elsewhere}/api/organisations`, { redirect: "manual" });
    assert.equal(api.status, 200, "APIs answer at any name");
  });

  await t.test("the seeded authenticator app signs in to the demo relying party", async () => {
    await startRelyingPartySignIn(page, pointOfCare.url, kwame.email);
    await page.getByLabel("Password").fill(demoPassword);
    // The current step's code was spent confirming the app when the demo was loaded.
    await page.getByLabel("Code from your authenticator app").fill(nextCode(kwame.secret));
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Kwame Boateng" }).waitFor();
    assert.match(await page.locator("main").innerText(), /AAL2_OR_AAL3_ANY \(TOTP\)/);
  });

  await t.test(
    "a security key registered from the demo users page signs in to the relying party",
    async () => {
      await context.clearCookies();
      await page.goto(`${server.origin}/demo/users`);
      await page.getByRole("button", { name: "Get an enrolment link" }).click();
      await page.locator(".nhsuk-error-summary").getByText("Select the person").waitFor();
      await assertAccessible(page, "the demo users page, no person chosen");
      const fletcher = await uuidOf(server.store.db, "Fletcher");
      await page.getByLabel("Person").selectOption(fletcher);
      await page.getByRole("button", { name: "Get an enrolment link" }).click();
      await page.getByRole("heading", { name: "Set up a way to sign in" }).waitFor();
      await addAuthenticator(context, page);
      await page.getByRole("link", { name: "Security key" }).click();
      await page.getByRole("button", { name: "Register security key" }).click();
      await page.getByRole("heading", { name: /is registered$/ }).waitFor();
      assert.match(await page.locator("#next-steps").innerText(), new RegExp(fletcher));
      await assertAccessible(page, "a security key registered");
      const issued = await server.store.db
        .selectFrom("audit_events")
        .select(["actor_id", "subject_id"])
        .where("action", "=", "enrolment-link.issued")
        .where("subject_id", "=", fletcher)
        .execute();
      assert.deepEqual(issued, [{ actor_id: "demo-users-page", subject_id: fletcher }], "audited");
      await startRelyingPartySignIn(page, pointOfCare.url, "tom.fletcher@nhs.net");
      await page.getByRole("button", { name: "Use security key" }).click();
      await page.getByRole("heading", { name: "Tom Fletcher" }).waitFor();
      // Chromium's virtual key is unattested: the service counts it as a passkey (AAL2), as it would any.
      assert.match(await page.locator("main").innerText(), /\((FIDO2|PASSKEY|PASSKEY_SYNCED)\)/);
      await page.goto(`${server.origin}/demo/users`);
      assert.match(
        await page.locator(`#people tr[data-uuid="${fletcher}"]`).innerText(),
        /Security key|Passkey/,
      );
    },
  );

  await t.test(
    "an RA's enrolment link fits the page, copies, and says when it expires and what it sets up",
    async () => {
      await context.clearCookies();
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.origin });
      const oliver = await uuidOf(server.store.db, "Bennett");
      await signInToCimInChromium(page, server, "tunde.adebayo@nhs.net");
      await page.goto(`${server.origin}/cim/profiles/${oliver}`);
      await page.getByRole("button", { name: "Issue an enrolment link" }).click();
      await page.getByRole("heading", { name: "Enrolment link issued" }).waitFor();
      await assertAccessible(page, "an enrolment link issued");
      await shoot(page, "cim-enrolment-link");
      await page.setViewportSize(phone);
      const link = await page.getByLabel("Enrolment link").inputValue();
      assert.match(link, new RegExp(`^${server.origin}/authenticators/enrol/[\\w-]{43}$`));
      assert.deepEqual(
        await widerThanThePage(page, "body *"),
        [],
        "nothing on the page, its header neither, is wider than a phone's screen",
      );
      await assertAccessible(page, "an enrolment link issued, on a phone");
      await page.getByRole("button", { name: "Copy link" }).click();
      await page.getByText("Link copied").waitFor();
      assert.equal(
        await page.evaluate(() =>
          (
            globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
          ).navigator.clipboard.readText(),
        ),
        link,
      );
      assert.match(
        await page.locator("#link-expiry").innerText(),
        /until \d{1,2} [A-Z][a-z]+ \d{4} at \d{1,2}(:\d{2})?[ap]m \(in 3 days\)/,
      );
      const methods = await page.locator("#link-methods").innerText();
      for (const method of ["Security key", "This device", "Authenticator app"])
        assert.match(methods, new RegExp(method));
      await shoot(page, "cim-enrolment-link-phone");
      await page.setViewportSize(desktop);
      await page.goto(link);
      assert.match(
        await page.locator("main").innerText(),
        /until \d{1,2} [A-Z][a-z]+ \d{4} at .*\(in 3 days\)/,
      );
      await assertAccessible(page, "the enrolment link's own page");
      await shoot(page, "enrolment-choose");
      await page.getByRole("link", { name: "Authenticator app" }).click();
      const secret = String(
        await page.locator("[data-secret]").first().getAttribute("data-secret"),
      ).replaceAll(" ", "");
      await page.getByLabel("Code from your authenticator app").fill(codeAt(secret, new Date()));
      await page.getByRole("button", { name: "Confirm" }).click();
      await page.getByRole("heading", { name: "Your authenticator app is set up" }).waitFor();
      const next = await page.locator("#next-steps").innerText();
      assert.match(next, new RegExp(oliver));
      assert.match(next, /choose Authenticator app, then enter your password and the code your app shows/);
      await assertAccessible(page, "the authenticator app set up");
      await shoot(page, "enrolment-done");
    },
  );
});
