import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { operatorActor } from "../../src/audit/actor.ts";
import { createCardOrder } from "../../src/authenticators/smartcard/orders.ts";
import { signInToCimInChromium } from "../registration/cim-browser.ts";
import { launchChromium } from "../support/chromium.ts";
import { leftOut } from "../support/prerequisites.ts";
import { uuidOf } from "../support/ra-directory.ts";
import { cardStatusBecomes, type SmartcardWorld, startSmartcardWorld } from "../support/smartcard-service.ts";
import { openCryptokiCard } from "../support/tokens.ts";

/**
 * Issue 13, the rest of a card's life, with openCryptoki's token as the card and `careid agent`
 * as a process: a card locked by wrong passcodes reports itself locked with its presence key; an
 * RA's repair order gives it new keys, certificates and passcode with the holder present, and it
 * signs in; an RA's clear order, made on the holder's CIM profile page, wipes it blank and ends
 * its record, and it is issued afresh to another person, who signs in with it. A card whose
 * certificates really expired (CAREID_CARD_CERTIFICATE_SECONDS) is refused at sign-in, repaired
 * by an RA from CIM and signs in again.
 */
/** Tunde Adebayo is an RA agent at RZZ, where both holders work (the demo directory). */
const raAgent = "tunde.adebayo@nhs.net";

test("a locked card is repaired by an RA and signs in; cleared, it is issued to another person who signs in", async (t) => {
  if (leftOut(t, "browser", "smartcard")) return;
  const { context, page } = await launchChromium(t);
  const world = await startSmartcardWorld(t, await openCryptokiCard());
  const { server, agent } = world;
  const db = server.store.db;
  const [holder, nextHolder] = [await uuidOf(db, "Mensah"), await uuidOf(db, "Kowalski")];
  const agentPage = await context.newPage();

  await issueTo(world, agentPage, holder, "1357");
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

  // The RA clears it from the holder's CIM profile; the agent wipes it blank and its record ends.
  await context.clearCookies();
  const clearCode = await orderFromCim(
    page,
    world,
    holder,
    cardSerial,
    "clear",
    "Handed back: she moved to another trust",
  );
  await agentPage.goto(`${agent.url}/`);
  await agentPage.getByLabel("Clear order code from your RA").fill(clearCode);
  await agentPage.getByRole("button", { name: "Clear this smartcard" }).click();
  await agentPage.getByText("This smartcard is cleared").waitFor({ timeout: 30_000 });
  assert.equal(await cardStatusBecomes(db, cardSerial, "cleared"), "cleared");
  await agentPage.goto(`${agent.url}/`);
  await agentPage.getByText(`Smartcard ${cardSerial} is blank`).waitFor();

  // Issued afresh to another person: the issue order releases the unlock code it was cleared with.
  await issueTo(world, agentPage, nextHolder, "97531");
  const reissued = await db
    .selectFrom("smartcards")
    .select(["holder", "status"])
    .where("serial", "=", cardSerial)
    .executeTakeFirstOrThrow();
  assert.deepEqual(reissued, { holder: nextHolder, status: "active" });
  await context.clearCookies();
  await signIn(world, page, agentPage, "97531", nextHolder);
});

test("a card whose certificates expired is refused at sign-in, repaired by an RA from CIM, and signs in", async (t) => {
  if (leftOut(t, "browser", "smartcard")) return;
  const { context, page } = await launchChromium(t);
  const world = await startSmartcardWorld(t, await openCryptokiCard(), {
    CAREID_CARD_CERTIFICATE_SECONDS: String(lifetimeSeconds),
  });
  const { server, agent } = world;
  const db = server.store.db;
  const holder = await uuidOf(db, "Rahman");
  const agentPage = await context.newPage();
  await issueTo(world, agentPage, holder, "1357");
  const card = await db
    .selectFrom("smartcards")
    .innerJoin("pki_certificates", "pki_certificates.card_serial", "smartcards.serial")
    .select(["smartcards.serial", "pki_certificates.not_after"])
    .where("smartcards.holder", "=", holder)
    .executeTakeFirstOrThrow();
  const lifetime = card.not_after.getTime() - Date.now();
  assert.ok(lifetime <= lifetimeSeconds * 1000, `the certificates last ${lifetimeSeconds} seconds`);

  // Past the certificates' notAfter: the card still takes its passcode, but sign-in refuses it.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, lifetime) + 1_000));
  await enterPasscode(agentPage, agent.url, "1357");
  await page.goto(`${world.pointOfCare.url}/login`);
  await page.getByRole("link", { name: "Sign in with your smartcard" }).click();
  await page.getByRole("button", { name: "Use smartcard" }).click();
  await page.getByText("The card's certificate has expired").first().waitFor({ timeout: 30_000 });
  assert.match(await page.locator("h1").innerText(), /Sign in with your smartcard/);

  // The RA sees the expiry on the profile and orders a repair (a renewal after expiry).
  await context.clearCookies();
  const repairCode = await orderFromCim(page, world, holder, card.serial, "repair");
  const ordered = await db
    .selectFrom("audit_events")
    .select(["actor_id", "after"])
    .where("action", "=", "smartcard.order-created")
    .where("subject_id", "=", holder)
    .orderBy("seq", "desc")
    .executeTakeFirstOrThrow();
  assert.equal((ordered.after as { kind: string }).kind, "repair");
  assert.equal(ordered.actor_id, await uuidOf(db, "Adebayo"), "ordered by the RA, in CIM");
  await agentPage.goto(`${agent.url}/`);
  await agentPage.getByLabel("Repair order code from your RA").fill(repairCode);
  await agentPage.getByLabel("The holder chooses a new passcode").fill("8642");
  await agentPage.getByLabel("The holder enters the new passcode again").fill("8642");
  await agentPage.getByRole("button", { name: "Repair this smartcard" }).click();
  await agentPage.getByText("This smartcard is repaired").waitFor({ timeout: 30_000 });
  const repaired = await db
    .selectFrom("audit_events")
    .select("before")
    .where("action", "=", "smartcard.repaired")
    .where("subject_id", "=", card.serial)
    .executeTakeFirstOrThrow();
  assert.deepEqual(repaired.before, { status: "active", expired: true });
  await context.clearCookies();
  await signIn(world, page, agentPage, "8642", holder);
});

/** Long enough to issue the card, short enough to wait for; the repaired card signs in within it. */
const lifetimeSeconds = 25;

/**
 * The RA signs in to CIM, opens the holder's profile, follows "Repair card" or "Clear card" on
 * the card, checks the confirmation names the card and confirms; returns the order code shown.
 */
async function orderFromCim(
  page: Page,
  world: SmartcardWorld,
  holder: string,
  cardSerial: string,
  kind: "repair" | "clear",
  reason?: string,
): Promise<string> {
  await signInToCimInChromium(page, world.server, raAgent);
  await page.goto(`${world.server.origin}/cim/profiles/${holder}`);
  const action = kind === "repair" ? "Repair card" : "Clear card";
  await page.getByRole("link", { name: `${action} ${cardSerial}` }).click();
  await page.getByRole("heading", { level: 1, name: `${action} ${cardSerial}` }).waitFor();
  if (kind === "clear") {
    // A clear needs a reason: without one, the error summary says so and nothing is ordered.
    await page.getByRole("button", { name: "Create clear order" }).click();
    await page.getByRole("link", { name: "Reason is required to clear a card" }).waitFor();
    await page.getByLabel("Reason").fill(reason ?? "");
    await page.getByRole("button", { name: "Create clear order" }).click();
  } else await page.getByRole("button", { name: "Create repair order" }).click();
  await page.getByRole("heading", { name: "What happens next" }).waitFor();
  return (await page.locator("#order-code").innerText()).trim();
}

/** An operator's issue order for the holder, typed into the agent with the card's first passcode. */
async function issueTo(world: SmartcardWorld, agentPage: Page, holder: string, passcode: string) {
  const order = await createCardOrder(world.server.store.db, operatorActor(), { kind: "issue", holder });
  await issue(agentPage, world.agent.url, order.code, passcode);
  await agentPage.getByText(`This smartcard is issued to ${holder}.`).waitFor({ timeout: 30_000 });
}

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
