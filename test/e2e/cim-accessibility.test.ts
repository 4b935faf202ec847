import assert from "node:assert/strict";
import { test } from "node:test";
import { signInToCimInChromium } from "../registration/cim-browser.ts";
import { assertAccessible } from "../support/axe.ts";
import { launchChromium } from "../support/chromium.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { phone, widerThanThePage } from "../support/phone.ts";
import { leftOut } from "../support/prerequisites.ts";

test("every Care Identity Management page has no WCAG 2.2 AA violations", async (t) => {
  if (leftOut(t, "browser")) return;
  const server = await startCis2Server(t);
  const { context, page } = await launchChromium(t, { bypassCSP: true });
  page.setDefaultTimeout(15_000);
  const visit = async (path: string, name: string) => {
    await page.goto(`${server.origin}/cim${path}`);
    await assertAccessible(page, name);
  };
  const submit = async (button: string, name: string) => {
    await page.getByRole("button", { name: button }).click();
    await page.waitForLoadState();
    await assertAccessible(page, name);
  };
  const oliver = (
    await server.store.db
      .selectFrom("people")
      .select("uuid")
      .where("email", "=", "oliver.bennett@nhs.net")
      .executeTakeFirstOrThrow()
  ).uuid;

  await signInToCimInChromium(page, server, "margaret.oconnell@nhs.net");
  await assertAccessible(page, "the CIM home page");

  // On a phone the header keeps to the screen: what does not fit goes under its "More" menu,
  // so no white link runs off the blue onto the white page.
  const wide = page.viewportSize();
  await page.setViewportSize(phone);
  for (const [path, name] of [
    ["/", "the CIM home page"],
    [`/profiles/${oliver}`, "a profile"],
  ] as const) {
    await page.goto(`${server.origin}/cim${path}`);
    assert.deepEqual(await widerThanThePage(page, "header *"), [], `${name}'s header fits a phone`);
    await assertAccessible(page, `${name} on a phone`);
    await page.getByRole("button", { name: "Browse More" }).click();
    await page.locator(".nhsuk-header__menu-list").getByRole("link", { name: "Reports" }).waitFor();
    assert.deepEqual(await widerThanThePage(page, "header *"), [], `${name}'s open menu fits a phone`);
    await assertAccessible(page, `${name} on a phone, its menu open`);
    await page.keyboard.press("Escape");
  }
  if (wide) await page.setViewportSize(wide);
  await visit("/profiles", "find a profile");
  await visit("/profiles?name=s", "find a profile, with results");
  await visit("/profiles?uuid=12ab&niNumber=XX", "find a profile, with errors");
  await visit("/profiles?q=Nobody", "find a profile, none found");
  await visit("/profiles/999999999999", "a profile that does not exist");
  await visit("/profiles/new", "create a profile");
  await submit("Create profile", "create a profile, with errors");
  await visit(`/profiles/${oliver}/change`, "change details");
  await page.getByLabel("Family name").fill("");
  await submit("Save changes", "change details, with errors");
  await visit("/positions", "positions");
  await submit("Define position", "positions, with errors");
  await page.getByLabel("Name", { exact: true }).fill("Ward 7 staff nurse");
  await page.getByLabel("Job role").selectOption("R8001");
  await submit("Define position", "positions, one defined");
  await page.getByRole("link", { name: /Ward 7 staff nurse to many people/ }).click();
  await assertAccessible(page, "batch-assign");
  await submit("Assign to everyone listed", "batch-assign, with errors");
  await visit(`/profiles/${oliver}/assign`, "assign a position");
  await page.getByLabel("Position").selectOption({ label: "Ward 7 staff nurse at RZZ" });
  await submit("Assign position", "a profile, after assigning");
  await page
    .locator("#positions")
    .getByRole("link", { name: /^Change/ })
    .first()
    .click();
  await assertAccessible(page, "an assignment");
  await submit("Remove assignment", "an assignment, with errors");
  await visit(`/profiles/${oliver}`, "a profile");
  await submit("Issue an enrolment link", "an enrolment link");
  await visit(`/profiles/${oliver}`, "a profile with an enrolment link");
  await page
    .locator("#authenticators")
    .getByRole("link", { name: /^Remove/ })
    .first()
    .click();
  await assertAccessible(page, "remove an authenticator");
  await visit(`/profiles/${oliver}/close`, "close a profile");
  await submit("Close profile", "close a profile, with errors");
  await visit("/reports", "reports");
  await page.getByLabel("Organisation code").fill("R");
  await submit("Download CSV", "reports, with errors");

  // A sponsor's request, decided by an RA agent.
  await context.clearCookies();
  await signInToCimInChromium(page, server, "grace.mensah@nhs.net");
  await visit(`/profiles/${oliver}/assign`, "request a position");
  await page.getByLabel("Position").selectOption({ label: "Ward 7 staff nurse at RZZ" });
  await submit("Send request", "a profile, after requesting");
  await visit("/requests", "your requests");
  await context.clearCookies();
  await signInToCimInChromium(page, server, "tunde.adebayo@nhs.net");
  await visit("/requests", "open requests");
  await visit("/requests?view=closed", "closed requests");
  await visit("/requests?view=open", "open requests again");
  await page.locator("#requests").getByRole("link").first().click();
  await assertAccessible(page, "a request");
  await submit("Reject", "a request, rejecting without a reason");

  await visit("/sign-out", "sign out");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${server.origin}/cim/signed-out`);
  await assertAccessible(page, "signed out");
  await visit("/callback?code=x&state=y", "a sign-in that did not complete");
  await context.close();
});
