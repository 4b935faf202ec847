import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { operatorActor } from "../../src/audit/actor.ts";
import { createCardOrder } from "../../src/authenticators/smartcard/orders.ts";
import { loadConfig } from "../../src/config.ts";
import { startMessageDelivery } from "../../src/messaging/delivery.ts";
import { singlePositionPeople } from "../authenticators/enrolment.ts";
import { launchChromium } from "../support/chromium.ts";
import { leftOut } from "../support/prerequisites.ts";
import { cardStatusBecomes, startSmartcardWorld } from "../support/smartcard-service.ts";
import { startSmtpServer } from "../support/smtp.ts";
import { openCryptokiCard } from "../support/tokens.ts";

const passcode = "1357";
const newPasscode = "24680";
const email = "self.unlock.holder@nhs.net";

/**
 * Done when (issue 13): openCryptoki's token as the card, `careid agent` as a process, a real
 * SMTP server receiving what the outbox worker sends. A card locked by three wrong passcodes is
 * unlocked by its holder with the emailed code, with no RA, and signs in to the demo relying
 * party with the new passcode.
 */
test("a holder unlocks their locked smartcard with a code sent by email, then signs in with the new passcode", async (t) => {
  if (leftOut(t, "browser", "smartcard")) return;
  const { context, page } = await launchChromium(t);
  const smtp = await startSmtpServer(t);
  const world = await startSmartcardWorld(t, await openCryptokiCard());
  const { server, agent } = world;
  const db = server.store.db;
  const messages = loadConfig({
    CAREID_SMTP_URL: smtp.url,
    CAREID_SMTP_FROM: "Care Identity <no-reply@careid.test>",
  });
  const worker = startMessageDelivery(messages, db, server.cis2.sealer, console, 200);
  t.after(() => worker.stop());
  const [holder = ""] = await singlePositionPeople(db, 1);
  await db.updateTable("people").set({ email }).where("uuid", "=", holder).execute();

  // Issued through the agent on an RA's order, as today.
  const agentPage = await context.newPage();
  const order = await createCardOrder(db, operatorActor(), { kind: "issue", holder });
  await agentPage.goto(`${agent.url}/`);
  await agentPage.getByLabel("Order code from your RA").fill(order.code);
  await agentPage.getByLabel("Choose a passcode").fill(passcode);
  await agentPage.getByLabel("Enter the passcode again").fill(passcode);
  await agentPage.getByRole("button", { name: "Issue this smartcard" }).click();
  await agentPage.getByText(`This smartcard is issued to ${holder}.`).waitFor({ timeout: 30_000 });
  const { serial: cardSerial, sealed_unlock_code } = await db
    .selectFrom("smartcards")
    .select(["serial", "sealed_unlock_code"])
    .where("holder", "=", holder)
    .executeTakeFirstOrThrow();
  const unlockCode = server.cis2.sealer.open(sealed_unlock_code);

  // Three wrong passcodes lock the card, and the agent reports it.
  for (const wrong of ["9999", "9998", "9997"]) await enterPasscode(agentPage, agent.url, wrong);
  await agentPage.getByText("Your smartcard is locked").first().waitFor();
  assert.equal(await cardStatusBecomes(db, cardSerial, "locked"), "locked");

  // The holder unlocks it: the page reads the card through the agent; the code comes by email.
  await page.goto(`${server.origin}/smartcard/unlock`);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("heading", { name: "Enter the code we sent you" }).waitFor({ timeout: 15_000 });
  assert.match(await page.content(), /s\*\*\*@nhs\.net/);
  const code = await receivedCode(smtp.received, email);
  await page.getByLabel("Code").fill(code === "000000" ? "000001" : "000000");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByText("You can try 2 more times").first().waitFor();
  await page.getByLabel("Code").fill(code);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("heading", { name: "Choose a new passcode" }).waitFor();
  await page.getByLabel("New passcode", { exact: true }).fill(newPasscode);
  await page.getByLabel("Enter the new passcode again").fill("24681");
  await page.getByRole("button", { name: "Unlock my smartcard" }).click();
  await page.getByText("The two passcodes are not the same").waitFor();
  await page.getByLabel("Enter the new passcode again").fill(newPasscode);
  await page.getByRole("button", { name: "Unlock my smartcard" }).click();
  await page.getByRole("heading", { name: "Your smartcard is unlocked" }).waitFor({ timeout: 30_000 });
  assert.equal(await cardStatusBecomes(db, cardSerial, "active"), "active");
  assert.ok(!agent.output().includes(unlockCode), "the unlock code is not logged by the agent");
  const audit = JSON.stringify(await db.selectFrom("audit_events").selectAll().execute());
  assert.ok(!audit.includes(unlockCode) && !audit.includes(`"${code}"`), "nor are the codes audited");
  const actions = (
    await db
      .selectFrom("audit_events")
      .select("action")
      .where("subject_id", "=", cardSerial)
      .where("action", "like", "smartcard.self-%")
      .orderBy("seq")
      .execute()
  ).map((row) => row.action);
  assert.deepEqual(actions, [
    "smartcard.self-unlock-code-sent",
    "smartcard.self-unlock-code-wrong",
    "smartcard.self-unlock-code-accepted",
    "smartcard.self-unlock-code-released",
    "smartcard.self-unlocked",
  ]);

  // A page cannot fetch the unlock code itself: a browser's request carries an Origin.
  const fromPage = await page.evaluate(async () => {
    const response = await fetch("/api/smartcards/self-unlock/release", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ticket: "A".repeat(43), cardSerial: "X" }),
    });
    return response.status;
  });
  assert.equal(fromPage, 403);

  // The holder signs in to the demo relying party with the new passcode.
  await enterPasscode(agentPage, agent.url, newPasscode);
  await agentPage.getByText("Your smartcard is ready").waitFor();
  await page.context().clearCookies();
  await page.goto(`${world.pointOfCare.url}/login`);
  await page.getByRole("link", { name: "Sign in with your smartcard" }).click();
  await page.getByRole("button", { name: "Use smartcard" }).click();
  await page.waitForURL(`${world.pointOfCare.url}/`, { timeout: 30_000 });
  await page.getByText("AAL3_SMARTCARD (CIS2_SMARTCARD)").waitFor();
  assert.match(await page.content(), new RegExp(holder));
});

async function enterPasscode(agentPage: Page, agentUrl: string, value: string): Promise<void> {
  await agentPage.goto(`${agentUrl}/`);
  await agentPage.getByLabel("Passcode", { exact: true }).fill(value);
  await Promise.all([
    agentPage.waitForNavigation(),
    agentPage.getByRole("button", { name: "Use this smartcard" }).click(),
  ]);
}

/** The six-digit code in the email the SMTP server received for this address. */
async function receivedCode(received: { to: string[]; text: string }[], to: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const message = received.find((entry) => entry.to.includes(to));
    const code = message && /unlock your NHS smartcard is (\d{6})/.exec(message.text)?.[1];
    if (code) return code;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no unlock code reached ${to}`);
}
