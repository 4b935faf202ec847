import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { signInToCimInChromium } from "../registration/cim-browser.ts";
import { assertAccessible } from "../support/axe.ts";
import { launchChromium } from "../support/chromium.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { leftOut } from "../support/prerequisites.ts";

/** Where CAREID_SCREENSHOTS=1 saves the pages this journey passes, for the docs. */
const screenshots = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));

/**
 * The browser test, in Chromium through the real pages: an RA manager creates a workgroup,
 * defines a position that carries it and assigns that position, so the person's position holds
 * the workgroup; a national RA manager adds a local organisation the trust's RA manager then looks
 * after. Each page is checked for WCAG 2.2 AA on the way.
 */
test("an RA manager creates a workgroup in CIM and assigns it in a position; a national RA manager adds a local organisation", async (t) => {
  if (leftOut(t, "browser")) return;
  const server = await startCis2Server(t);
  const db = server.store.db;
  const { context, page } = await launchChromium(t, { bypassCSP: true });
  page.setDefaultTimeout(15_000);
  const snap = async (name: string) => {
    if (process.env.CAREID_SCREENSHOTS !== "1") return;
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: `${screenshots}${name}.png`, fullPage: true });
  };
  const actAs = async (identifier: string) => {
    await context.clearCookies();
    await signInToCimInChromium(page, server, identifier);
  };
  const oliver = await db
    .selectFrom("people")
    .select("uuid")
    .where("email", "=", "oliver.bennett@nhs.net")
    .executeTakeFirstOrThrow();

  await t.test("the RA manager creates a workgroup, after the form shows what is missing", async () => {
    await actAs("margaret.oconnell@nhs.net");
    await page.getByRole("link", { name: "Workgroups" }).first().click();
    await page
      .getByRole("heading", { name: "Workgroups at Ashcombe and Wexley Hospitals NHS Trust" })
      .waitFor();
    await assertAccessible(page, "the workgroups at RZZ");
    await page.getByRole("button", { name: "Create a workgroup" }).click();
    await page.getByRole("button", { name: "Create workgroup" }).click();
    await page.locator(".nhsuk-error-summary").getByRole("link", { name: "Name is required" }).waitFor();
    await assertAccessible(page, "create a workgroup, with errors");
    await page.getByLabel("Name", { exact: true }).fill("Ward 8 Nursing");
    await page.getByLabel("Description (optional)").fill("Nurses and healthcare assistants on ward 8");
    await page.getByRole("button", { name: "Create workgroup" }).click();
    await page.getByText("The workgroup was created.").waitFor();
    await page.locator("#workgroups").getByRole("link", { name: "Change Ward 8 Nursing" }).waitFor();
    await assertAccessible(page, "the workgroups, one created");
    await snap("cim-workgroups");
  });

  const workgroup = await db
    .selectFrom("workgroups")
    .select("id")
    .where("name", "=", "Ward 8 Nursing")
    .executeTakeFirstOrThrow();

  await t.test("the RA manager defines a position carrying it and assigns it to Oliver Bennett", async () => {
    await page.getByRole("link", { name: "Positions" }).first().click();
    await page.getByLabel("Name", { exact: true }).fill("Ward 8 staff nurse");
    await page.getByLabel("Job role").selectOption("R8001");
    await page.getByLabel("Ward 8 Nursing").check();
    await page.getByRole("button", { name: "Define position" }).click();
    await page.getByText("The position was defined.").waitFor();
    await page.goto(`${server.origin}/cim/profiles/${oliver.uuid}`);
    await page.getByRole("link", { name: "Assign a position" }).click();
    await page.getByLabel("Position").selectOption({ label: "Ward 8 staff nurse at RZZ" });
    await page.getByRole("button", { name: "Assign position" }).click();
    await page.getByText("The position was assigned.").waitFor();
    await page.locator("#positions").getByRole("cell", { name: "Ward 8 staff nurse", exact: true }).waitFor();
  });

  await t.test("Oliver's new position carries the workgroup", async () => {
    const positions = await db
      .selectFrom("positions")
      .select("workgroup_ids")
      .where("uuid", "=", oliver.uuid)
      .where("status", "=", "active")
      .execute();
    assert.ok(
      positions.some((position) => position.workgroup_ids.includes(workgroup.id)),
      "one of Oliver's positions holds Ward 8 Nursing",
    );
  });

  await t.test(
    "a national RA manager adds a local site; the trust's RA manager can then keep its workgroups",
    async () => {
      await actAs("elizabeth.harrington@nhs.net");
      await page.getByRole("link", { name: "Organisations" }).first().click();
      await page.getByLabel("Find an organisation").fill("RZZ");
      await page.getByRole("button", { name: "Search" }).click();
      await page.locator("#organisations").getByRole("link", { name: "Ashcombe General Hospital" }).waitFor();
      await assertAccessible(page, "organisations found");
      await page.getByRole("button", { name: "Add a local organisation" }).click();
      await page.getByLabel("Organisation code", { exact: true }).fill("RZZ03");
      await page.getByLabel("Name", { exact: true }).fill("Ashcombe Urgent Treatment Centre");
      await page.getByLabel("Type").selectOption("RO198");
      await page.getByLabel("Parent organisation code (optional)").fill("RZZ");
      await page.getByLabel("Address line 1").fill("Fenwick Road");
      await page.getByLabel("Town or city").fill("Ashcombe");
      await page.getByLabel("Postcode").fill("AC1 4NH");
      await assertAccessible(page, "add a local organisation");
      await page.getByRole("button", { name: "Add organisation" }).click();
      await page.getByText("The organisation was added.").waitFor();
      await page.getByText("Ashcombe and Wexley Hospitals NHS Trust (RZZ)").waitFor();
      await page.getByRole("button", { name: "Correct the name" }).click();
      await page
        .locator(".nhsuk-error-summary")
        .getByRole("link", { name: /Reason is required/ })
        .waitFor();
      await assertAccessible(page, "an organisation, its name correction with errors");
      await snap("cim-organisation");

      await actAs("margaret.oconnell@nhs.net");
      await page.goto(`${server.origin}/cim/workgroups`);
      await page.getByLabel("Organisation", { exact: true }).selectOption("RZZ03");
      await page.getByRole("button", { name: "Show workgroups" }).click();
      await page.getByText("Ashcombe Urgent Treatment Centre (RZZ03) has no workgroups yet.").waitFor();
      await page.getByRole("button", { name: "Create a workgroup" }).waitFor();
    },
  );
});
