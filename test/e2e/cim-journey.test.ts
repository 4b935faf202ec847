import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { demoPassword } from "../../src/seed/demo-sign-in.ts";
import { signInToCimInChromium } from "../registration/cim-browser.ts";
import { launchChromium } from "../support/chromium.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { startDemoRelyingParty } from "../support/point-of-care.ts";
import { leftOut } from "../support/prerequisites.ts";

const clientId = "123456789013.apps.supplier";
const clientSecret = "point-of-care-journey-secret-0123456789abcdef";

/**
 * The journey the issue asks for, in Chromium through every real page: a sponsor requests a
 * position for a person, an RA agent approves it, the person signs in to the demo relying party
 * and sees it among their roles; then the RA closes the profile and the next sign-in is refused.
 */
test("a sponsor's request, approved by an RA agent, reaches the person's CIS2 roles; closing the profile stops their sign-in", async (t) => {
  if (leftOut(t, "browser")) return;
  const server = await startCis2Server(t);
  const pointOfCare = await startDemoRelyingParty(t, server, {
    clientId,
    clientSecret,
    acr: "AAL1_USERPASS",
  });
  const { context, page } = await launchChromium(t);
  page.setDefaultTimeout(15_000);
  const oliver = await server.store.db
    .selectFrom("people")
    .select("uuid")
    .where("email", "=", "oliver.bennett@nhs.net")
    .executeTakeFirstOrThrow();
  const cim = (path: string) => `${server.origin}/cim${path}`;
  const actAs = async (identifier: string) => {
    await context.clearCookies();
    await signInToCimInChromium(page, server, identifier);
  };

  await t.test("the RA manager defines a position at RZZ", async () => {
    await actAs("margaret.oconnell@nhs.net");
    await page.getByRole("link", { name: "Positions" }).first().click();
    await page.getByLabel("Name", { exact: true }).fill("Ward 7 staff nurse");
    await page.getByLabel("Job role").selectOption("R8001");
    await page.getByRole("button", { name: "Define position" }).click();
    await page.getByText("The position was defined.").waitFor();
  });

  await t.test("the sponsor requests it for Oliver Bennett", async () => {
    await actAs("grace.mensah@nhs.net");
    await page.getByRole("link", { name: "Find a profile" }).first().click();
    await page.getByLabel("Search", { exact: true }).fill("bennett");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: /Oliver Bennett/ }).click();
    await page.getByRole("link", { name: "Request a position" }).click();
    await page.getByLabel("Position").selectOption({ label: "Ward 7 staff nurse at RZZ" });
    await page.getByLabel("Reason (optional)").fill("Joins ward 7 on Monday");
    await page.getByRole("button", { name: "Send request" }).click();
    await page.getByText("Your request was sent to the Registration Authority.").waitFor();
    assert.equal(
      await page.locator("#positions").getByText("Ward 7 staff nurse").count(),
      0,
      "not granted yet",
    );
  });

  await t.test("the RA agent opens the request and approves it", async () => {
    await actAs("tunde.adebayo@nhs.net");
    await page.goto(cim("/requests"));
    await page.locator("#requests").getByRole("link").first().click();
    await page.getByRole("button", { name: "Approve" }).click();
    await page.getByText("The request was approved and carried out.").waitFor();
    await page.goto(cim(`/profiles/${oliver.uuid}`));
    await page.locator("#positions").getByRole("cell", { name: "Ward 7 staff nurse", exact: true }).waitFor();
  });

  const granted = await server.store.db
    .selectFrom("positions")
    .select("role_profile_id")
    .where("uuid", "=", oliver.uuid)
    .where("job_role_code", "=", "R8001")
    .executeTakeFirstOrThrow();

  await t.test("Oliver signs in to the point-of-care app and holds the new position", async () => {
    await context.clearCookies();
    await signInToPointOfCare(page, pointOfCare.url, "oliver.bennett@nhs.net");
    // Two positions now: CIS2 asks which one to work in; both come from nhsid_nrbac_roles.
    await page.locator(`input[name="role"][value="${granted.role_profile_id}"]`).check();
    await page.getByRole("button", { name: "Continue" }).click();
    await page.locator("#selected-role").waitFor();
    assert.match(await page.locator("#selected-role").innerText(), new RegExp(granted.role_profile_id));
    assert.match(await page.locator("#selected-role").innerText(), /Nurse Access Role/);
  });

  await t.test("the RA agent closes Oliver's profile", async () => {
    await actAs("tunde.adebayo@nhs.net");
    await page.goto(cim(`/profiles/${oliver.uuid}`));
    await page.getByRole("link", { name: "Close this profile" }).click();
    await page.getByLabel("Reason").fill("Left the trust");
    await page.getByRole("button", { name: "Close profile" }).click();
    await page.getByText("The profile was closed").waitFor();
  });

  await t.test("Oliver's next sign-in is refused", async () => {
    await context.clearCookies();
    await page.goto(`${pointOfCare.url}/login`);
    await page.locator('input[name="identifier"]').fill("oliver.bennett@nhs.net");
    await page.getByRole("button", { name: "Continue" }).click();
    // A closed identity is answered as an unknown one (nobody learns who has left): the password
    // page, then a refusal, since closing the profile removed the password too.
    await page.locator('input[name="password"]').fill(demoPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("The password is not correct").first().waitFor();
    assert.ok(page.url().startsWith(server.origin), "the browser never went back to the app signed in");
  });
  await context.close();
});

async function signInToPointOfCare(page: Page, appUrl: string, identifier: string): Promise<void> {
  await page.goto(`${appUrl}/login`);
  await page.locator('input[name="identifier"]').fill(identifier);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.locator('input[name="password"]').fill(demoPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator('input[name="role"]').first().waitFor();
}
