import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import type { Page } from "playwright-core";
import { type Actor, operatorActor } from "../../src/audit/actor.ts";
import { withdrawCard } from "../../src/authenticators/smartcard/cards.ts";
import { createCardOrder } from "../../src/authenticators/smartcard/orders.ts";
import { ForbiddenError } from "../../src/errors.ts";
import { decide } from "../../src/ra-policy/policy.ts";
import type { Db } from "../../src/store/database.ts";
import { singlePositionPeople } from "../authenticators/enrolment.ts";
import { postAgentForm } from "../support/agent.ts";
import { launchChromium } from "../support/chromium.ts";
import { openssl, pemFolder } from "../support/pki.ts";
import { leftOut } from "../support/prerequisites.ts";
import {
  cardStatusBecomes,
  curlWithCard,
  type SmartcardWorld,
  startSmartcardWorld,
} from "../support/smartcard-service.ts";
import { openCryptokiCard } from "../support/tokens.ts";

const passcode = "1357";
const newPasscode = "24680";

/**
 * The smartcard's whole life through real parts: openCryptoki's software token as the card (it
 * counts wrong passcodes and locks), `careid agent` as a process, Chromium driving the service's
 * and the agent's pages, the demo point-of-care app as relying party, curl with OpenSSL's PKCS#11
 * engine for mutual TLS, and openssl asking the CRL and OCSP about the cancelled card.
 */
test("a card is issued through the agent, signs in by agent and by mutual TLS, locks, is unlocked by an RA, is cancelled and refused", async (t) => {
  if (leftOut(t, "browser", "smartcard")) return;
  // Browsers first: hooks run in the order they were added, and the servers' closing would wait
  // for the browsers' open connections.
  const { context, page } = await launchChromium(t);
  const second = await launchChromium(t);
  const card = await openCryptokiCard();
  const world = await startSmartcardWorld(t, card);
  const { server, agent } = world;
  const db = server.store.db;
  const { holder, registrationAuthority, colleague } = await holderAndTheirRa(db);
  const agentPage = await context.newPage();

  // Issue: an RA's order code and the holder's chosen passcode go into the agent's own page.
  const issueOrder = await createCardOrder(db, operatorActor(), { kind: "issue", holder });
  await agentPage.goto(`${agent.url}/`);
  await agentPage.getByText("is blank: it can be issued").waitFor();
  await agentPage.getByLabel("Order code from your RA").fill(issueOrder.code);
  await agentPage.getByLabel("Choose a passcode").fill(passcode);
  await agentPage.getByLabel("Enter the passcode again").fill(passcode);
  await agentPage.getByRole("button", { name: "Issue this smartcard" }).click();
  await agentPage.getByText(`This smartcard is issued to ${holder}.`).waitFor({ timeout: 30_000 });
  const cardSerial = (
    await db.selectFrom("smartcards").select("serial").where("holder", "=", holder).executeTakeFirstOrThrow()
  ).serial;
  assert.equal(await cardStatusBecomes(db, cardSerial, "active"), "active");
  const unlockCode = server.cis2.sealer.open(
    (
      await db
        .selectFrom("smartcards")
        .select("sealed_unlock_code")
        .where("serial", "=", cardSerial)
        .executeTakeFirstOrThrow()
    ).sealed_unlock_code,
  );
  assert.doesNotMatch(
    agent.output(),
    new RegExp(`${passcode}|${unlockCode}`),
    "no passcode or unlock code is logged",
  );

  // Sign in through the agent: the page asks for the passcode in the agent, then signs.
  await page.goto(`${world.pointOfCare.url}/login`);
  await page.getByRole("link", { name: "Sign in with your smartcard" }).click();
  await page.getByRole("button", { name: "Use smartcard" }).click();
  await page.getByText("Enter your smartcard passcode in the smartcard agent").waitFor();
  await enterPasscode(agentPage, passcode);
  await agentPage.getByText("Your smartcard is ready").waitFor();
  await page.getByRole("button", { name: "Use smartcard" }).click();
  await page.waitForURL(`${world.pointOfCare.url}/`, { timeout: 30_000 });
  await page.getByText("AAL3_SMARTCARD (CIS2_SMARTCARD)").waitFor();
  assert.match(await page.content(), new RegExp(holder));
  assert.deepEqual(await signInMethods(db, holder), ["CIS2_SMARTCARD"]);

  // Sign in by mutual TLS, in a second browser: curl presents the card's key from the token.
  await openSmartcardPage(second.page, world);
  const tlsLink = second.page.getByRole("link", { name: "Use a network-connected smartcard reader" });
  const tls = await curlWithCard(card, {
    url: String(await tlsLink.getAttribute("href")),
    passcode,
    caFile: world.tlsCertificate,
  });
  assert.equal(tls.status, 303, tls.output);
  await second.page.goto(tls.location);
  await second.page.waitForURL(`${world.pointOfCare.url}/`, { timeout: 30_000 });
  await second.page.getByText("AAL3_SMARTCARD (N3_SMARTCARD)").waitFor();
  assert.deepEqual(await signInMethods(db, holder), ["CIS2_SMARTCARD", "N3_SMARTCARD"]);

  // A page of another origin cannot use the card: the agent refuses and reports it.
  const stranger = await strangerOrigin(t);
  await page.goto(stranger);
  const since = agent.events.length;
  const reached = await page.evaluate(async (agentUrl) => {
    try {
      await fetch(`${agentUrl}/api/sign`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ challenge: "A".repeat(43) }),
      });
      return "answered";
    } catch {
      return "refused";
    }
  }, agent.url);
  assert.equal(reached, "refused");
  assert.equal((await agent.waitFor("origin-refused", since)).origin, stranger.replace(/\/$/, ""));

  // Lock: the holder signs out of the card; three wrong passcodes lock it, and the agent says so.
  await agentPage.goto(`${agent.url}/`);
  await agentPage.getByRole("button", { name: "Sign out of this smartcard" }).click();
  await enterPasscode(agentPage, "9999");
  await agentPage.getByText("The passcode is not correct").waitFor();
  await enterPasscode(agentPage, "9998");
  await agentPage.getByText("One more wrong passcode will lock your smartcard").waitFor();
  await enterPasscode(agentPage, "9997");
  await agentPage.getByText("Your smartcard is locked").first().waitFor();
  assert.equal(await cardStatusBecomes(db, cardSerial, "locked"), "locked", "the agent reported the lock");
  await openSmartcardPage(page, world);
  await page.getByRole("button", { name: "Use smartcard" }).click();
  await page.getByText("Your smartcard is locked").waitFor();

  // Unlock with an RA's authority (a colleague without it is refused); the agent uses the
  // escrowed unlock code once.
  await assert.rejects(
    createCardOrder(db, personActor(colleague), { kind: "unlock", cardSerial }),
    (error) => error instanceof ForbiddenError,
  );
  const unlockOrder = await createCardOrder(db, personActor(registrationAuthority), {
    kind: "unlock",
    cardSerial,
  });
  await agentPage.goto(`${agent.url}/`);
  await agentPage.getByLabel("Unlock order code").fill(unlockOrder.code);
  await agentPage.getByLabel("Choose a new passcode").fill(newPasscode);
  await agentPage.getByLabel("Enter the new passcode again").fill(newPasscode);
  await agentPage.getByRole("button", { name: "Unlock this smartcard" }).click();
  await agentPage.getByText("Your smartcard is unlocked").waitFor({ timeout: 30_000 });
  assert.ok(!agent.output().includes(unlockCode), "the released unlock code is not logged");
  assert.ok(!(await agentPage.content()).includes(unlockCode), "nor shown");
  assert.equal(await cardStatusBecomes(db, cardSerial, "active"), "active");
  const reused = await (
    await postAgentForm(agent.url, "/unlock", {
      orderCode: unlockOrder.code,
      passcode: newPasscode,
      confirmation: newPasscode,
    })
  ).text();
  assert.match(reused, /role="alert"/, "an unlock order is used once");
  await agentPage.goto(`${agent.url}/`);
  await enterPasscode(agentPage, newPasscode);
  await agentPage.getByText("Your smartcard is ready").waitFor();

  // Cancel: the sign-in is refused, and the CRL and OCSP report the revocation.
  await withdrawCard(db, operatorActor(), { cardSerial, status: "cancelled", reason: "left" });
  await openSmartcardPage(page, world);
  await page.getByRole("button", { name: "Use smartcard" }).click();
  await page
    .locator("#main-field")
    .getByText(/has been (revoked|cancelled)/)
    .waitFor();
  const certificate = await db
    .selectFrom("pki_certificates")
    .select(["serial", "certificate"])
    .where("card_serial", "=", cardSerial)
    .where("profile", "=", "card-authentication")
    .executeTakeFirstOrThrow();
  const files = pemFolder(t);
  const fetched = async (path: string) =>
    new Uint8Array(await (await fetch(`${server.origin}${path}`)).arrayBuffer());
  const root = files.write("root.pem", await fetched("/pki/root.crt"));
  const issuing = files.write("issuing.pem", await fetched("/pki/issuing.crt"));
  const cardFile = files.write("card.pem", certificate.certificate);
  const ocsp = await openssl([
    "ocsp",
    "-issuer",
    issuing,
    "-cert",
    cardFile,
    "-url",
    `${server.origin}/pki/ocsp`,
    "-CAfile",
    root,
  ]);
  assert.match(ocsp.output, /: revoked/, ocsp.output);
  const crl = await openssl([
    "crl",
    "-inform",
    "DER",
    "-in",
    files.writeRaw("issuing.crl", await fetched("/pki/issuing.crl")),
    "-CAfile",
    issuing,
    "-noout",
    "-text",
  ]);
  assert.match(crl.output, /verify OK/, crl.output);
  assert.match(crl.output, new RegExp(`Serial Number: 0*${certificate.serial}`, "i"), crl.output);
});

async function enterPasscode(agentPage: Page, value: string): Promise<void> {
  await agentPage.getByLabel("Passcode", { exact: true }).fill(value);
  await agentPage.getByRole("button", { name: "Use this smartcard" }).click();
}

/** Starts a fresh sign-in at the relying party and opens CIS2's smartcard page. */
async function openSmartcardPage(page: Page, world: SmartcardWorld): Promise<void> {
  await page.context().clearCookies();
  await page.goto(`${world.pointOfCare.url}/login`);
  await page.getByRole("link", { name: "Sign in with your smartcard" }).click();
}

function personActor(uuid: string): Actor {
  return { kind: "person", id: uuid, source: "CIM" };
}

/** A demo person with one position, a demo RA the RA policy lets unlock their card, and someone it does not. */
async function holderAndTheirRa(db: Db) {
  const authorities = await db
    .selectFrom("positions")
    .select("uuid")
    .distinct()
    .where("status", "=", "active")
    .where((eb) => eb.or([eb("job_role_code", "like", "%R5080"), eb("job_role_code", "like", "%R5090")]))
    .execute();
  const people = await singlePositionPeople(db, 10);
  const may = async (actor: string, holder: string) =>
    actor !== holder && (await decide(db, actor, "smartcard.unlock", { uuid: holder })).allowed;
  for (const holder of people)
    for (const { uuid } of authorities) {
      if (!(await may(uuid, holder))) continue;
      for (const colleague of people)
        if (colleague !== holder && !(await may(colleague, holder)))
          return { holder, registrationAuthority: uuid, colleague };
    }
  throw new Error("the demo directory has no RA over a single-position person");
}

async function signInMethods(db: Db, uuid: string): Promise<string[]> {
  const events = await db
    .selectFrom("audit_events")
    .select("after")
    .where("action", "=", "cis2.authenticated")
    .where("subject_id", "=", uuid)
    .orderBy("seq")
    .execute();
  return events.map((event) => String((event.after as { method?: string }).method));
}

/** A page on an origin the agent does not serve. */
async function strangerOrigin(t: TestContext): Promise<string> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>Elsewhere</title>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}
