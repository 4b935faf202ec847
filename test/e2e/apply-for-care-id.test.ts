import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { samplePhoto } from "../../src/apply/image-checks.ts";
import { passportZone } from "../../src/apply/machine-readable-zone.ts";
import { senderFromSettings } from "../../src/messaging/senders.ts";
import { deliverDueMessages } from "../../src/messaging/worker.ts";
import { readCodeLists } from "../../src/rbac/code-lists.ts";
import { definePosition } from "../../src/registration/position-definitions.ts";
import { signInToCimInChromium } from "../registration/cim-browser.ts";
import { assertAccessible } from "../support/axe.ts";
import { launchChromium } from "../support/chromium.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { leftOut } from "../support/prerequisites.ts";
import { startSmtpServer } from "../support/smtp.ts";

const serviceId = "26785a09-ab16-4eb0-8407-a37497a57506";
const secret = "3d844edf-8d35-48ac-975b-e847b4f122b0";
const smsTemplate = "f33517ff-2a88-4f6e-b855-c550268ce08a";

/** GOV.UK Notify's API as far as sending a text goes: it records what it was asked to send. */
async function startNotifyStandIn(t: { after(cleanup: () => void): void }) {
  const texts: { phone_number: string; personalisation: Record<string, string> }[] = [];
  const notify = createServer(async (request, response) => {
    let text = "";
    for await (const chunk of request) text += chunk;
    if (request.url === "/v2/notifications/sms") texts.push(JSON.parse(text));
    response.writeHead(201, { "content-type": "application/json" });
    response.end(JSON.stringify({ id: "740e5834-3a29-46b4-9a6f-16142fde533a" }));
  });
  await new Promise<void>((resolve) => notify.listen(0, "127.0.0.1", resolve));
  t.after(() => notify.close());
  return { url: `http://127.0.0.1:${(notify.address() as AddressInfo).port}`, texts };
}

/**
 * The "Done when", in Chromium at a phone's size with axe on every page: an RA agent
 * invites two applicants; the first proves who they are with a code texted through Notify and
 * photos made here, an ID checker approves, the profile exists at level 3, its UUID is emailed
 * and the inviter assigns a position; the second's passport expired long ago, the MRZ check says
 * so, and the ID checker rejects the application for it.
 */
test("an invited applicant proves who they are online and an ID checker approves; an expired passport is rejected", async (t) => {
  if (leftOut(t, "browser")) return;
  const smtp = await startSmtpServer(t);
  const notify = await startNotifyStandIn(t);
  const server = await startCis2Server(t, {
    CAREID_SMTP_URL: smtp.url,
    CAREID_SMTP_FROM: "Care Identity <no-reply@careid.test>",
    CAREID_NOTIFY_API_KEY: `careid_test-${serviceId}-${secret}`,
    CAREID_NOTIFY_BASE_URL: notify.url,
    CAREID_NOTIFY_TEMPLATES: `apply-mobile-code=${smsTemplate}`,
  });
  const sender = senderFromSettings(server.config.messages);
  t.after(() => sender.close?.());
  const deliver = () => deliverDueMessages(server.store.db, sender, server.cis2.sealer);
  const emailsTo = async (address: string) => {
    await deliver();
    return smtp.received
      .filter((mail) => mail.to.includes(address))
      .map((mail) => mail.text.replace(/=\r?\n/g, ""));
  };
  const { context, page } = await launchChromium(t, { bypassCSP: true });
  await page.setViewportSize({ width: 390, height: 844 });
  page.setDefaultTimeout(20_000);
  const checked = (name: string) => assertAccessible(page, name);
  const cim = (path: string) => `${server.origin}/cim${path}`;
  // RA staff work at a desk; the applicant on a phone.
  const actAs = async (identifier: string) => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await context.clearCookies();
    await signInToCimInChromium(page, server, identifier);
  };

  const amara = {
    given: "Amara",
    family: "Okoye",
    email: "amara.okoye@example.org",
    born: ["15", "3", "1995"],
  };
  const ben = { given: "Ben", family: "Carter", email: "ben.carter@example.org", born: ["2", "11", "1990"] };

  await t.test("the RA agent invites both applicants", async () => {
    await actAs("tunde.adebayo@nhs.net");
    await page.getByRole("link", { name: "Apply for Care ID" }).first().click();
    await checked("CIM Apply for Care ID");
    for (const applicant of [amara, ben]) {
      await page.getByLabel("Given name").fill(applicant.given);
      await page.getByLabel("Family name").fill(applicant.family);
      await page.getByLabel("Email").fill(applicant.email);
      await page.getByRole("button", { name: "Send invitation" }).click();
      await page.getByText("The invitation was emailed to the applicant.").waitFor();
    }
    await checked("CIM invitations listed");
  });

  const linkFor = async (email: string) => {
    const mail = (await emailsTo(email)).find((text) => text.includes("Apply for your Care ID"));
    const link = /http:\/\/[^\s]+\/apply\/[A-Za-z0-9_-]{43}/.exec(mail ?? "")?.[0];
    assert.ok(link, `an invitation email with a link went to ${email}`);
    return link;
  };

  const journey = async (applicant: typeof amara, mobile: string, zone: string, page: Page) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(await linkFor(applicant.email));
    await page.getByRole("heading", { name: "Your details" }).waitFor();
    await checked("applicant details");
    await page.locator("#givenName").fill(applicant.given);
    await page.locator("#familyName").fill(applicant.family);
    await page.locator("#dateOfBirth-day").fill(applicant.born[0] as string);
    await page.locator("#dateOfBirth-month").fill(applicant.born[1] as string);
    await page.locator("#dateOfBirth-year").fill(applicant.born[2] as string);
    await page.locator("#niNumber").fill(applicant.given === "Amara" ? "JC123456C" : "JH654321A");
    await page.locator("#mobile").fill(mobile);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "Check your phone" }).waitFor();
    await checked("applicant mobile code");
    await deliver();
    const text = notify.texts.filter((sms) => sms.phone_number === mobile).at(-1);
    assert.ok(text, "the code was texted through Notify");
    await page
      .getByLabel("Code from the text message")
      .fill("000000" === text.personalisation.code ? "111111" : "000000");
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByText("That code is not right").first().waitFor();
    await checked("applicant wrong code");
    await page.getByLabel("Code from the text message").fill(text.personalisation.code as string);
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("heading", { name: "Add photos of your documents" }).waitFor();
    await checked("applicant documents");

    await page.getByRole("link", { name: "Your photo ID" }).click();
    await checked("applicant photo ID");
    await page.getByLabel("Passport", { exact: true }).check();
    await page.locator("#machineReadableZone").fill(zone);
    await page
      .locator("#photo")
      .setInputFiles({ name: "passport.png", mimeType: "image/png", buffer: samplePhoto({ seed: 7 }) });
    await page.getByRole("button", { name: "Add photo" }).click();
    await page.getByRole("heading", { name: "Add photos of your documents" }).waitFor();

    await page.getByRole("link", { name: "A second document or proof of address" }).click();
    await page.getByLabel("UK photocard driving licence").check();
    const licence = applicant.given === "Amara" ? "OKOYE903155A99AB" : "CARTE911020B99CD";
    await page.locator("#reference").fill(licence);
    await page.locator("#expiresOn-day").fill("1");
    await page.locator("#expiresOn-month").fill("6");
    await page.locator("#expiresOn-year").fill(String(new Date().getFullYear() + 3));
    await page
      .locator("#photo")
      .setInputFiles({ name: "licence.png", mimeType: "image/png", buffer: samplePhoto({ seed: 8 }) });
    await page.getByRole("button", { name: "Add photo" }).click();
    await page.getByRole("heading", { name: "Add photos of your documents" }).waitFor();

    await page.getByRole("link", { name: "A photo of your face" }).click();
    await page.locator("#photo").setInputFiles({
      name: "face.png",
      mimeType: "image/png",
      buffer: samplePhoto({ width: 600, height: 800, seed: 9 }),
    });
    await page.getByRole("button", { name: "Add photo" }).click();
    await page.getByRole("button", { name: "Send application" }).click();
    await page.getByRole("heading", { name: "Application sent" }).waitFor();
    await checked("applicant submitted");
  };

  const future = `${new Date().getFullYear() + 5}-04-30`;
  const longExpired = `${new Date().getFullYear() - 2}-01-31`;

  await t.test("the first applicant completes the journey on their phone", async () => {
    await context.clearCookies();
    const zone = passportZone({
      issuingState: "GBR",
      familyName: amara.family,
      givenNames: amara.given,
      documentNumber: "925076473",
      nationality: "GBR",
      dateOfBirth: "1995-03-15",
      sex: "F",
      expiresOn: future,
    });
    await journey(amara, "07700900123", zone, page);
  });

  await t.test("the second applicant sends a passport that expired two years ago", async () => {
    await context.clearCookies();
    const zone = passportZone({
      issuingState: "GBR",
      familyName: ben.family,
      givenNames: ben.given,
      documentNumber: "533401372",
      nationality: "GBR",
      dateOfBirth: "1990-11-02",
      sex: "M",
      expiresOn: longExpired,
    });
    await journey(ben, "07700900456", zone, page);
  });

  let uuid = "";
  await t.test(
    "an ID checker approves the first: a level 3 profile, its UUID emailed, the inviter told",
    async () => {
      await actAs("hannah.kowalski@nhs.net");
      await page.goto(cim("/apply/review"));
      await checked("CIM review queue");
      await page.getByRole("link", { name: "Amara Okoye" }).click();
      await page.getByRole("button", { name: "Open this application to decide it" }).click();
      await page.getByText("You have this application open until").waitFor();
      await checked("CIM application review");
      assert.equal(await page.locator("#checks-photo-id").getByText("Fail").count(), 0, "every check passed");
      await page.getByRole("button", { name: "Approve and create the profile" }).click();
      await page.getByText("The application was approved").waitFor();
      const person = await server.store.db
        .selectFrom("people")
        .select(["uuid", "identity_assurance_level", "identity_evidence", "registering_ods_code"])
        .where("email", "=", amara.email)
        .executeTakeFirstOrThrow();
      assert.equal(person.identity_assurance_level, 3);
      assert.equal(person.identity_evidence.method, "apply-for-care-id");
      assert.equal(person.registering_ods_code, "RZZ");
      uuid = person.uuid;
      const mails = await emailsTo(amara.email);
      assert.ok(
        mails.some((text) => text.includes(`Your Care ID number (UUID) is ${uuid}`)),
        "the UUID was emailed",
      );
      const told = await emailsTo("tunde.adebayo@nhs.net");
      assert.ok(
        told.some((text) => text.includes(uuid)),
        "the inviter was told",
      );
    },
  );

  await t.test("the inviter assigns the new profile a position", async () => {
    // Positions are defined by an RA manager (an RA agent may not), as in CIM.
    const margaret = await server.store.db
      .selectFrom("people")
      .select("uuid")
      .where("email", "=", "margaret.oconnell@nhs.net")
      .executeTakeFirstOrThrow();
    await definePosition(
      server.store.db,
      { kind: "person", id: margaret.uuid, source: "CIM" },
      await readCodeLists(server.store.db),
      { odsCode: "RZZ", name: "Student nurse", accessProfiles: [{ jobRole: "R8001", activities: [] }] },
    );
    await actAs("tunde.adebayo@nhs.net");
    await page.goto(cim(`/profiles/${uuid}`));
    await page.getByRole("link", { name: "Assign a position" }).click();
    await page.getByLabel("Position").selectOption({ label: "Student nurse at RZZ" });
    await page.getByRole("button", { name: "Assign position" }).click();
    await page.getByText("The position was assigned.").waitFor();
    await page.locator("#positions").getByRole("cell", { name: "Student nurse", exact: true }).waitFor();
  });

  await t.test("the ID checker rejects the second for the passport the MRZ check found expired", async () => {
    await actAs("hannah.kowalski@nhs.net");
    await page.goto(cim("/apply/review"));
    await page.getByRole("link", { name: "Ben Carter" }).click();
    await page.getByRole("button", { name: "Open this application to decide it" }).click();
    const expiry = page.locator("#checks-photo-id tr", { hasText: "expiry" });
    assert.match(await expiry.innerText(), /Fail[\s\S]*more than six months ago/);
    await page.getByLabel("Your passport expired more than six months ago.").check();
    await page.getByRole("button", { name: "Reject" }).click();
    await page.getByText("The application was rejected").waitFor();
    const mails = await emailsTo(ben.email);
    assert.ok(mails.some((text) => text.includes("Your passport expired more than six months ago.")));
    assert.equal(
      (await server.store.db.selectFrom("people").select("uuid").where("email", "=", ben.email).execute())
        .length,
      0,
      "no profile was made",
    );
  });
});
