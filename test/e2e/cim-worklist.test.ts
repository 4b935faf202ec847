import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { demoPassword } from "../../src/seed/demo-sign-in.ts";
import { enrolApp } from "../authenticators/enrolment.ts";
import { signInToCimInChromium } from "../registration/cim-browser.ts";
import { assertAccessible } from "../support/axe.ts";
import { launchChromium } from "../support/chromium.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { desktop, phone, widerThanThePage } from "../support/phone.ts";
import { leftOut } from "../support/prerequisites.ts";
import { uuidOf } from "../support/ra-directory.ts";

/** Set to a folder (docs/screenshots) to save the main CIM pages as PNGs while the journey runs. */
const screenshots = process.env.CAREID_SCREENSHOTS;

async function shoot(page: Page, name: string): Promise<void> {
  if (!screenshots) return;
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/**
 * The pages as an RA agent, a sponsor and a worker use them, in Chromium and checked by axe: a
 * sponsor requests a position in words that match the act, the RA agent finds it waiting on
 * the home page and approves it in one step, people are found by full name and by a spaced
 * UUID, and every sign-in error says what to enter.
 */
test("CIM worklist, search and sign-in wording, in Chromium", async (t) => {
  if (leftOut(t, "browser")) return;
  const server = await startCis2Server(t);
  const { context, page } = await launchChromium(t, { bypassCSP: true });
  page.setDefaultTimeout(15_000);
  await page.setViewportSize(desktop);
  const oliver = await uuidOf(server.store.db, "Bennett");
  const cim = (path: string) => `${server.origin}/cim${path}`;

  await t.test(
    "a sponsor requests a position: the words match the act; an empty choice says what to do",
    async () => {
      await signInToCimInChromium(page, server, "grace.mensah@nhs.net");
      await page.getByLabel("Find a profile").fill("Oliver Bennett");
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByRole("link", { name: "Dr Oliver Bennett" }).click();
      await page.getByRole("link", { name: "Request a position" }).click();
      await page.getByRole("heading", { name: "Request a position for Dr Oliver Bennett" }).waitFor();
      await page.getByRole("button", { name: "Send request" }).click();
      await page.locator(".nhsuk-error-summary").getByText("Select a position").waitFor();
      assert.doesNotMatch(await page.locator("main").innerText(), /12-digit/);
      await assertAccessible(page, "request a position, with no position chosen");
      await shoot(page, "cim-request-a-position");
      await page.getByLabel("Position").selectOption({ label: "Staff nurse at RZZ" });
      await page.getByRole("button", { name: "Send request" }).click();
      await page.getByText("Your request was sent to the Registration Authority.").waitFor();
      assert.match(
        await page.locator("#pending").innerText(),
        /Assign a position: Staff nurse at Ashcombe and Wexley Hospitals NHS Trust \(RZZ\), asked by Ms Grace Mensah \(\d{12}\)/,
        "the pending request shows on the profile",
      );
    },
  );

  await t.test("the RA agent approves it from the home page in one step", async () => {
    await context.clearCookies();
    await signInToCimInChromium(page, server, "tunde.adebayo@nhs.net");
    await page.getByRole("heading", { name: "Waiting for a decision (1)" }).waitFor();
    const row = await page.locator("#requests tbody tr").first().innerText();
    assert.match(row, /Dr Oliver Bennett \(\d{12}\)/, "names the person");
    assert.match(row, /Staff nurse at Ashcombe and Wexley Hospitals NHS Trust \(RZZ\)/, "names the position");
    assert.match(row, /Ms Grace Mensah \(\d{12}\)/, "names the requester");
    await assertAccessible(page, "the CIM home page with its worklist");
    await shoot(page, "cim-home-worklist");
    await page.setViewportSize(phone);
    assert.deepEqual(await widerThanThePage(page, "header *"), [], "the header fits a phone");
    await shoot(page, "cim-home-phone");
    await page.getByRole("button", { name: "Browse More" }).click();
    await page.locator(".nhsuk-header__menu-list").getByRole("link", { name: "Reports" }).waitFor();
    await shoot(page, "cim-home-phone-menu");
    await page.setViewportSize(desktop);
    await page.locator("#requests").getByRole("link").first().click();
    await page.getByRole("heading", { name: "Assign a position for Dr Oliver Bennett" }).waitFor();
    assert.match(await page.locator("#request").innerText(), /Asked by\s+Ms Grace Mensah/);
    await assertAccessible(page, "a request, ready to decide");
    await shoot(page, "cim-request");
    await page.getByRole("button", { name: "Approve" }).click();
    await page.getByText("The request was approved and carried out.").waitFor();
    await page.locator("#nothing-waiting").waitFor();
    assert.equal(page.url(), cim("/?done=approved"));
    const granted = await server.store.db
      .selectFrom("positions")
      .select("role_profile_id")
      .where("uuid", "=", oliver)
      .where("job_role_code", "=", "R8001")
      .execute();
    assert.equal(granted.length, 1, "approved and carried out");
  });

  await t.test("people are found by full name, either way round, and by a UUID with spaces", async () => {
    for (const typed of [
      "Oliver Bennett",
      "Bennett Oliver",
      oliver.replace(/(\d{4})(\d{4})(\d{4})/, "$1 $2 $3"),
    ]) {
      await page.goto(cim("/profiles"));
      await page.getByLabel("Search", { exact: true }).fill(typed);
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByRole("heading", { name: "1 profile found" }).waitFor();
      await page.getByRole("link", { name: "Dr Oliver Bennett" }).waitFor();
    }
    await assertAccessible(page, "find a profile, one found");
    await shoot(page, "cim-find-a-profile");
    await page.getByLabel("Search", { exact: true }).fill("Nobody Atall");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("heading", { name: "0 profiles found" }).waitFor();
    await page.locator("#none-found").getByText("Check the spelling").waitFor();
    await page.getByLabel("Search", { exact: true }).fill("5550 0000");
    await page.getByRole("button", { name: "Search" }).click();
    await page.locator(".nhsuk-error-summary").getByText("A UUID is 12 digits").waitFor();
    await assertAccessible(page, "find a profile, a short UUID");
  });

  await t.test("a profile reads in names and words", async () => {
    await page.goto(cim(`/profiles/${oliver}`));
    const positions = await page.locator("#positions").innerText();
    assert.match(positions, /Nurse Access Role \(R8001\)/);
    assert.match(positions, /Ashcombe and Wexley Hospitals NHS Trust \(RZZ\)/);
    const history = await page.locator("#history").innerText();
    assert.match(history, /Position assigned/);
    assert.match(
      history,
      /Mr Tunde Adebayo \(\d{12}\) acting as [^\n]+ at Ashcombe and Wexley Hospitals NHS Trust \(RZZ\)/,
    );
    assert.match(
      await page.locator("#details").innerText(),
      /\d{1,2} [A-Z][a-z]+ \d{4}/,
      "date of birth in words",
    );
    await assertAccessible(page, "a profile");
    await shoot(page, "cim-profile");
  });

  await t.test("sign-in errors say what to enter; Not you? Change goes back", async () => {
    await context.clearCookies();
    await page.goto(cim("/"));
    await page.getByRole("button", { name: "Continue" }).click();
    await page.locator(".nhsuk-error-summary").getByText("Enter your UUID or email address").waitFor();
    await assertAccessible(page, "sign in, no identifier");
    await shoot(page, "sign-in-error");
    await page.locator('input[name="identifier"]').fill("tunde.adebayo@nhs.net");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(".nhsuk-error-summary").getByText("Enter your password").waitFor();
    await assertAccessible(page, "sign in, no password");
    await page.getByRole("link", { name: /Not you\? Change/ }).click();
    await page.locator('input[name="identifier"]').waitFor();
    assert.match(
      await page.locator("footer").innerText(),
      /Help[\s\S]*Accessibility statement[\s\S]*Privacy/,
    );
    await page.getByRole("link", { name: "Cancel and return to the service" }).click();
    await page.getByRole("heading", { name: "You cancelled signing in" }).waitFor();
    await assertAccessible(page, "sign-in cancelled");
    await page.getByRole("link", { name: "Return to the service" }).click();
    await page.waitForURL((url) => url.pathname.startsWith("/cim/"));
  });

  await t.test("the authenticator app step names each empty box", async () => {
    const [worker] = await server.store.db
      .selectFrom("people")
      .select("uuid")
      .where("email", "=", "priya.sharma@nhs.net")
      .execute();
    const uuid = worker?.uuid as string;
    await enrolApp(server, uuid);
    await context.clearCookies();
    await page.goto(`${server.origin}/authenticators/mine`);
    await page.locator('input[name="identifier"]').fill(uuid);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("button", { name: "Sign in" }).click();
    const summary = page.locator(".nhsuk-error-summary");
    await summary.getByText("Enter your password").waitFor();
    await summary.getByText("Enter the 6-digit code").waitFor();
    await page.locator('input[name="password"]').fill(demoPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await summary.getByText("Enter the 6-digit code").waitFor();
    assert.equal(await summary.getByText("Enter your password").count(), 0);
    await assertAccessible(page, "the authenticator app step, no code");
  });

  await t.test("a page that is not there says so", async () => {
    await page.goto(`${server.origin}/no-such-page`);
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    assert.doesNotMatch(await page.locator("main").innerText(), /There is nothing at/);
    await assertAccessible(page, "page not found");
  });
  await context.close();
});
