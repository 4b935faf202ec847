import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { codeAt } from "../../src/authenticators/totp/codes.ts";
import { demoClientId, demoPassword } from "../../src/seed/demo-sign-in.ts";
import { enrolmentUrl, nextCode, singlePositionPeople } from "../authenticators/enrolment.ts";
import { demoClientConfiguration } from "../cis2/journey.ts";
import { assertAccessible } from "../support/axe.ts";
import { addSecurityKey, launchChromium } from "../support/chromium.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { leftOut } from "../support/prerequisites.ts";

const callback = "http://localhost:3001/callback";
const scope = "openid profile nationalrbacaccess selectedrole";

test("every sign-in and enrolment page has no WCAG 2.2 AA violations", async (t) => {
  if (leftOut(t, "browser")) return;
  const server = await startCis2Server(t, {}, "localhost");
  const configuration = await demoClientConfiguration(server);
  const [appUser, keyUser] = (await singlePositionPeople(server.store.db, 2)) as [string, string];
  let appSecret = "";
  const { context, page } = await launchChromium(t, { bypassCSP: true });
  await addSecurityKey(context, page);
  await page.route(`${callback}**`, (route) =>
    route.fulfill({ status: 200, contentType: "text/plain", body: "back at the relying party" }),
  );

  /** Starts a fresh sign-in (no CIS2 session) and gives the identify page. */
  const beginSignIn = async (acr?: string) => {
    await context.clearCookies();
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: callback,
      scope,
      prompt: "login",
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: "S256",
      state: client.randomState(),
      ...(acr ? { acr_values: acr } : {}),
    });
    await page.goto(url.href);
    await page.locator('input[name="identifier"]').waitFor();
  };
  const identify = async (identifier: string) => {
    await page.locator('input[name="identifier"]').fill(identifier);
    await page.getByRole("button", { name: "Continue" }).click();
  };

  await t.test("home page", async () => {
    await page.goto(`${server.origin}/`);
    await assertAccessible(page, "the home page");
  });

  await t.test("demo users page", async () => {
    await page.goto(`${server.origin}/demo/users`);
    await assertAccessible(page, "the demo users page");
  });

  await t.test("error page (an unregistered redirect_uri)", async () => {
    const url = new URL(String(configuration.serverMetadata().authorization_endpoint));
    url.search = new URLSearchParams({
      client_id: demoClientId,
      redirect_uri: "http://localhost:9/not-registered",
      response_type: "code",
      scope: "openid",
    }).toString();
    const response = await page.goto(url.href);
    assert.equal(response?.status(), 400);
    await assertAccessible(page, "the error page");
  });

  await t.test("identify, password and role selection (two roles)", async () => {
    await beginSignIn();
    await assertAccessible(page, "the identify page");
    await identify("connor.byrne@nhs.net");
    await page.locator('input[name="password"]').waitFor();
    await assertAccessible(page, "the password page");
    await page.locator('input[name="password"]').fill(demoPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('input[name="role"]').first().waitFor();
    assert.equal(await page.locator('input[name="role"]').count(), 2);
    await assertAccessible(page, "the role selection page with two roles");
  });

  await t.test("role selection with seven roles and a search box", async () => {
    await beginSignIn();
    await identify("hamid.karimi@nhs.net");
    await page.locator('input[name="password"]').fill(demoPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('input[name="search"]').waitFor();
    assert.equal(await page.locator('input[name="role"]').count(), 7);
    await assertAccessible(page, "the role selection page with seven roles");
  });

  await t.test("authenticator app enrolment, method choice and the app step", async () => {
    const { token } = await issueEnrolmentLink(server.store.db, operatorActor(), { uuid: appUser });
    await page.goto(enrolmentUrl(server, token));
    await assertAccessible(page, "the enrolment link page");
    await page.goto(enrolmentUrl(server, token, "app"));
    await assertAccessible(page, "the authenticator app enrolment page");
    appSecret = String(await page.locator("[data-secret]").getAttribute("data-secret"));
    await page.locator('input[name="code"]').fill(codeAt(appSecret, new Date()));
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByText("Your authenticator app is set up").first().waitFor();
    await assertAccessible(page, "the authenticator app enrolled page");

    await beginSignIn("AAL2_TOTP AAL1_USERPASS");
    await identify(appUser);
    await page.locator('input[name="method"]').first().waitFor();
    await assertAccessible(page, "the method choice page");
    await page.locator('input[name="method"][value="TOTP"]').check();
    await page.getByRole("button", { name: "Continue" }).click();
    await page.locator('input[name="code"]').waitFor();
    await assertAccessible(page, "the authenticator app step");
  });

  await t.test("security key enrolment and the security key step", async () => {
    const { token } = await issueEnrolmentLink(server.store.db, operatorActor(), { uuid: keyUser });
    await page.goto(enrolmentUrl(server, token, "device"));
    await page.getByRole("button", { name: "Register this device" }).waitFor();
    await assertAccessible(page, "the device enrolment page");
    await page.goto(enrolmentUrl(server, token, "security-key"));
    await page.getByRole("button", { name: "Register security key" }).waitFor();
    await assertAccessible(page, "the security key enrolment page");
    await page.getByRole("button", { name: "Register security key" }).click();
    await page.getByText("Your security key is registered").waitFor({ timeout: 15_000 });
    await assertAccessible(page, "the security key registered page");

    // Without a trusted attestation root the virtual key is an AAL2 passkey here.
    await beginSignIn("AAL2_OR_AAL3_ANY");
    await identify(keyUser);
    await page.getByRole("heading", { name: "Use your security key" }).waitFor();
    await assertAccessible(page, "the security key step");
  });

  await t.test("your authenticators: the list, adding one, a refusal and signing out", async () => {
    await context.clearCookies();
    await page.goto(`${server.origin}/authenticators/mine`);
    await identify(appUser);
    await page.locator('input[name="code"]').fill(nextCode(appSecret));
    await page.locator('input[name="password"]').fill(demoPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Your authenticators" }).waitFor({ timeout: 15_000 });
    await assertAccessible(page, "the your authenticators page");
    await page.getByRole("link", { name: "Remove Authenticator app" }).click();
    await page.getByText("This is your only authenticator").first().waitFor();
    await assertAccessible(page, "the last authenticator, which cannot be removed");
    await page.getByRole("link", { name: "Back to your authenticators" }).click();
    await page.getByRole("link", { name: "Add a security key" }).click();
    await page.getByRole("button", { name: "Register security key" }).waitFor();
    await assertAccessible(page, "the add a security key page");
    await page.goto(`${server.origin}/authenticators/mine`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "You have left your authenticators" }).waitFor();
    await assertAccessible(page, "the signed-out page");
    await page.goto(`${server.origin}/authenticators/mine/callback?code=x&state=y`);
    await page.getByRole("heading", { name: "You cannot manage your authenticators now" }).waitFor();
    await assertAccessible(page, "the refusal page");
  });

  await t.test("the smartcard step, with the agent not running", async () => {
    await beginSignIn("AAL3_SMARTCARD");
    await page.getByRole("link", { name: "Sign in with your smartcard" }).click();
    await page.getByRole("button", { name: "Use smartcard" }).click();
    await page.getByText("The smartcard agent is not running on this computer").waitFor();
    await assertAccessible(page, "the smartcard step");
  });

  await t.test("logout page of a browser already signed out", async () => {
    await page.goto(String(configuration.serverMetadata().end_session_endpoint));
    await page.getByText("This browser has no Care Identity session, so nothing was signed out.").waitFor({
      timeout: 15_000,
    });
    await assertAccessible(page, "the logout page of a browser already signed out");
  });
});
