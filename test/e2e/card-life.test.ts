import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { operatorActor } from "../../src/audit/actor.ts";
import { createCardOrder } from "../../src/authenticators/smartcard/orders.ts";
import { singlePositionPeople } from "../authenticators/enrolment.ts";
import { launchChromium } from "../support/chromium.ts";
import { leftOut } from "../support/prerequisites.ts";
import { cardStatusBecomes, type SmartcardWorld, startSmartcardWorld } from "../support/smartcard-service.ts";
import { openCryptokiCard } from "../support/tokens.ts";

/**
 * Issue 13, the rest of a card's life, with openCryptoki's token as the card and `careid agent`
 * as a process: a card locked by wrong passcodes reports itself locked with its presence key; an
 * RA's repair order gives it new keys, certificates and passcode with the holder present, and it
 * signs in; an RA's clear order wipes it blank and ends its record, and it is issued afresh to
 * another person, who signs in with it.
 */
test("a locked card is repaired by an RA and signs in; cleared, it is issued to another person who signs in", async (t) => {
  if (leftOut(t, "browser", "smartcard")) return;
  const { context, page } = await launchChromium(t);
  const world = await startSmartcardWorld(t, await openCryptokiCard());
  const { server, agent } = world;
  const db = server.store.db;
  const [holder = "", nextHolder = ""] = await singlePositionPeople(db, 2);
  const agentPage = await context.newPage();

  await issue(
    agentPage,
    agent.url,
    (await createCardOrder(db, operatorActor(), { kind: "issue", holder })).code,
    "1357",
  );
  await agentPage.getByText(`This smartcard is issued to ${holder}.`).waitFor({ timeout: 30_000 });
  const { serial: cardSerial } = await db
    .selectFrom("smartcards")
    .select("serial")
    .where("holder", "=", holder)
    .executeTakeFirstOrThrow();

  // Locked by three wrong passcodes: the agent's report is proven by the card's presence key.
  for (const wrong of ["9999", "9998", "9997"]) await enterPasscode(agentPage, agent.url, wrong);
  assert.equal(await cardStatusBecomes(db, cardSerial, "locked"), "locked");
  const lockedBy = await db
    .selectFrom("audit_events")
    .select("action")
    .where("subject_id", "=", cardSerial)
    .where("action", "in", ["smartcard.locked", "smartcard.lock-report-refused"])
    .execute();
  assert.deepEqual(
    lockedBy.map((row) => row.action),
    ["smartcard.locked"],
  );
  const firstCertificates = await db
    .selectFrom("pki_certificates")
    .select("serial")
    .where("card_serial", "=", cardSerial)
    .execute();

  // The RA repairs it with the holder present: new passcode, new keys and certificates.
  const repair = await createCardOrder(db, operatorActor(), { kind: "repair", cardSerial });
  await agentPage.goto(`${agent.url}/`);
  await agentPage.getByLabel("Repair order code from your RA").fill(repair.code);
  await agentPage.getByLabel("The holder chooses a new passcode").fill("24680");
  await agentPage.getByLabel("The holder enters the new passcode again").fill("24681");
  await agentPage.getByRole("button", { name: "Repair this smartcard" }).click();
  await agentPage.getByText("The two passcodes are not the same").waitFor();
  await agentPage.goto(`${agent.url}/`);
  await agentPage.getByLabel("Repair order code from your RA").fill(repair.code);
  await agentPage.getByLabel("The holder chooses a new passcode").fill("24680");
  await agentPage.getByLabel("The holder enters the new passcode again").fill("24680");
  await agentPage.getByRole("button", { name: "Repair this smartcard" }).click();
  await agentPage.getByText("This smartcard is repaired").waitFor({ timeout: 30_000 });
  assert.equal(await cardStatusBecomes(db, cardSerial, "active"), "active");
  const revoked = await db
    .selectFrom("pki_revocations")
    .select("reason")
    .where(
      "serial",
      "in",
      firstCertificates.map((row) => row.serial),
    )
    .execute();
  assert.deepEqual(
    revoked.map((row) => row.reason),
    ["superseded", "superseded"],
  );
  await signIn(world, page, agentPage, "24680", holder);

  // The RA clears it; it is blank again and its record ended.
  const clear = await createCardOrder(db, operatorActor(), { kind: "clear", cardSerial });
  await agentPage.goto(`${agent.url}/`);
  await agentPage.getByLabel("Clear order code from your RA").fill(clear.code);
  await agentPage.getByRole("button", { name: "Clear this smartcard" }).click();
  await agentPage.getByText("This smartcard is cleared").waitFor({ timeout: 30_000 });
  assert.equal(await cardStatusBecomes(db, cardSerial, "cleared"), "cleared");
  await agentPage.goto(`${agent.url}/`);
  await agentPage.getByText(`Smartcard ${cardSerial} is blank`).waitFor();

  // Issued afresh to another person: the issue order releases the unlock code it was cleared with.
  await issue(
    agentPage,
    agent.url,
    (await createCardOrder(db, operatorActor(), { kind: "issue", holder: nextHolder })).code,
    "97531",
  );
  await agentPage.getByText(`This smartcard is issued to ${nextHolder}.`).waitFor({ timeout: 30_000 });
  const reissued = await db
    .selectFrom("smartcards")
    .select(["holder", "status"])
    .where("serial", "=", cardSerial)
    .executeTakeFirstOrThrow();
  assert.deepEqual(reissued, { holder: nextHolder, status: "active" });
  await context.clearCookies();
  await signIn(world, page, agentPage, "97531", nextHolder);
});

async function issue(agentPage: Page, agentUrl: string, code: string, passcode: string): Promise<void> {
  await agentPage.goto(`${agentUrl}/`);
  await agentPage.getByLabel("Order code from your RA").fill(code);
  await agentPage.getByLabel("Choose a passcode").fill(passcode);
  await agentPage.getByLabel("Enter the passcode again").fill(passcode);
  await agentPage.getByRole("button", { name: "Issue this smartcard" }).click();
}

async function enterPasscode(agentPage: Page, agentUrl: string, value: string): Promise<void> {
  await agentPage.goto(`${agentUrl}/`);
  await agentPage.getByLabel("Passcode", { exact: true }).fill(value);
  await Promise.all([
    agentPage.waitForNavigation(),
    agentPage.getByRole("button", { name: "Use this smartcard" }).click(),
  ]);
}

async function signIn(world: SmartcardWorld, page: Page, agentPage: Page, passcode: string, uuid: string) {
  await enterPasscode(agentPage, world.agent.url, passcode);
  await agentPage.getByText("Your smartcard is ready").waitFor();
  await page.goto(`${world.pointOfCare.url}/login`);
  await page.getByRole("link", { name: "Sign in with your smartcard" }).click();
  await page.getByRole("button", { name: "Use smartcard" }).click();
  await page.waitForURL(`${world.pointOfCare.url}/`, { timeout: 30_000 });
  await page.getByText("AAL3_SMARTCARD (CIS2_SMARTCARD)").waitFor();
  assert.match(await page.content(), new RegExp(uuid));
}
