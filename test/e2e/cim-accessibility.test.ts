import { test } from "node:test";
import { signInToCimInChromium } from "../registration/cim-browser.ts";
import { assertAccessible } from "../support/axe.ts";
import { launchChromium } from "../support/chromium.ts";
import { startCis2Server } from "../support/cis2-server.ts";

test("every Care Identity Management page has no WCAG 2.2 AA violations", async (t) => {
  const server = await startCis2Server(t);
  const { page } = await launchChromium(t, { bypassCSP: true });
  const visit = async (path: string, name: string) => {
    await page.goto(`${server.origin}/cim${path}`);
    await assertAccessible(page, name);
  };

  await signInToCimInChromium(page, server, "margaret.oconnell@nhs.net");
  await assertAccessible(page, "the CIM home page");
  await visit("/profiles", "find a profile");
  await visit("/profiles?name=s", "find a profile, with results");
  await visit("/profiles?uuid=12ab&niNumber=XX", "find a profile, with errors");
  await visit("/profiles/555000000016", "a profile");
  await visit("/profiles/999999999999", "a profile that does not exist");
  await visit("/sign-out", "sign out");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${server.origin}/cim/signed-out`);
  await assertAccessible(page, "signed out");
  await visit("/callback?code=x&state=y", "a sign-in that did not complete");
});
