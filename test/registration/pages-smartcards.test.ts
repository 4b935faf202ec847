import assert from "node:assert/strict";
import { test } from "node:test";
import { openCertificateAuthority } from "../../src/pki/certificate-authority.ts";
import { longDate } from "../../src/web/wording.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { issuedTestCard, testActor } from "../support/pki.ts";
import { uuidOf } from "../support/ra-directory.ts";
import { formToken, pageText, signInToCim } from "./cim-browser.ts";

test("an RA agent sees a person's smartcards, orders a card or an unlock, withdraws a card with a reason and unlocks an authenticator app", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const priya = await uuidOf(db, "Sharma");
  const card = await issuedTestCard(
    server.store,
    await openCertificateAuthority(db, server.cis2.sealer, "http://pki.test", testActor),
    priya,
  );
  const { browser } = await signInToCim(server, "tunde.adebayo@nhs.net");
  const profileUrl = `${server.origin}/cim/profiles/${priya}`;
  const profile = async () => (await browser.get(profileUrl)).text();

  const html = (await profile()).replace(/>\s+/g, ">").replace(/\s+</g, "<");
  const expiry = longDate(card.issued.notAfter);
  assert.match(
    html,
    new RegExp(
      `<td class="nhsuk-table__cell">${card.cardSerial}</td><td class="nhsuk-table__cell">Active</td><td class="nhsuk-table__cell">${expiry}</td>`,
    ),
  );
  assert.match(html, /id="issue-card"/);
  assert.match(html, new RegExp(`id="unlock-${card.cardSerial}"`));
  assert.match(html, new RegExp(`smartcards/${card.cardSerial}/withdraw`));

  const order = async (form: Record<string, string>) =>
    browser.post(`${profileUrl}/smartcards/orders`, { _form: formToken(await profile()), ...form });
  const issued = await order({ kind: "issue" });
  assert.equal(issued.status, 200);
  const code = /id="order-code">([A-Z2-7-]+)</.exec(await pageText(issued))?.[1] ?? "";
  assert.match(code, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/, "the order code is shown once to the RA");
  const unlock = await order({ kind: "unlock", cardSerial: card.cardSerial });
  assert.equal(unlock.status, 200);
  assert.match(await pageText(unlock), new RegExp(`with card ${card.cardSerial} inserted`));
  const orders = await db.selectFrom("smartcard_orders").selectAll().where("holder", "=", priya).execute();
  assert.deepEqual(
    orders.map((row) => row.kind).sort(),
    ["issue", "issue", "unlock"],
    "the test's own issue order too",
  );
  const audit = JSON.stringify(await db.selectFrom("audit_events").selectAll().execute());
  assert.ok(
    !audit.includes(code) && !audit.includes(code.replaceAll("-", "")),
    "the code is not in the audit log",
  );

  const early = await order({ kind: "renew", cardSerial: card.cardSerial });
  assert.equal(early.status, 422);
  assert.match(await pageText(early), /it can be renewed from/);
  const notTheirs = await order({ kind: "unlock", cardSerial: "NOSUCHCARD" });
  assert.equal(notTheirs.status, 404);

  const withdrawUrl = `${profileUrl}/smartcards/${card.cardSerial}/withdraw`;
  const withdraw = async (form: Record<string, string>) =>
    browser.post(withdrawUrl, { _form: formToken(await (await browser.get(withdrawUrl)).text()), ...form });
  const noReason = await withdraw({ status: "lost" });
  assert.equal(noReason.status, 400);
  assert.match(await pageText(noReason), /<a href="#reason">Reason is required to withdraw a card/);
  const noStatus = await withdraw({ reason: "Left on a train" });
  assert.equal(noStatus.status, 400);
  assert.match(await pageText(noStatus), /<a href="#status">/);
  const stillActive = await db
    .selectFrom("smartcards")
    .select("status")
    .where("serial", "=", card.cardSerial)
    .executeTakeFirstOrThrow();
  assert.equal(stillActive.status, "active", "bad input changes nothing");

  const token = formToken(await (await browser.get(withdrawUrl)).text());
  const lost = await browser.post(withdrawUrl, { _form: token, status: "lost", reason: "Left on a train" });
  assert.equal(lost.status, 303);
  assert.equal(lost.headers.get("location"), `/cim/profiles/${priya}?done=card-lost`);
  const again = await browser.post(withdrawUrl, {
    _form: token,
    status: "stolen",
    reason: "Left on a train",
  });
  assert.equal(again.status, 409, "the same form twice acts once");
  const after = await pageText(await browser.get(`${profileUrl}?done=card-lost`));
  assert.match(after, /The card was recorded as lost and its certificates revoked\./);
  assert.match(after, new RegExp(`${card.cardSerial}</td><td class="nhsuk-table__cell">Lost</td>`));
  const revoked = await db.selectFrom("pki_revocations").select("reason").execute();
  assert.equal(revoked.length, 2, "both of the card's certificates are revoked");
  const event = await db
    .selectFrom("audit_events")
    .selectAll()
    .where("action", "=", "smartcard.lost")
    .executeTakeFirstOrThrow();
  assert.equal(event.reason, "Left on a train");

  await db
    .insertInto("totp_authenticators")
    .values({
      uuid: priya,
      sealed_secret: "unused",
      last_used_step: 0,
      failed_attempts: 5,
      locked_until: new Date(Date.now() + 600_000),
    })
    .execute();
  const locked = await profile();
  assert.match(locked, /Locked until \d{1,2} [A-Z][a-z]+ \d{4} at \d/);
  const unlocked = await browser.post(`${profileUrl}/authenticators/authenticator-app/unlock`, {
    _form: formToken(locked),
  });
  assert.equal(unlocked.status, 303);
  const app = await db
    .selectFrom("totp_authenticators")
    .selectAll()
    .where("uuid", "=", priya)
    .executeTakeFirstOrThrow();
  assert.equal(app.locked_until, null);
  assert.doesNotMatch(await profile(), /Locked until|id="unlock-app"/);

  const mei = (
    await db
      .selectFrom("people")
      .select("uuid")
      .where("email", "=", "mei.chen@nhs.net")
      .executeTakeFirstOrThrow()
  ).uuid;
  const outside = await (await browser.get(`${server.origin}/cim/profiles/${mei}`)).text();
  assert.doesNotMatch(outside, /id="issue-card"/, "no card actions outside the agent's organisation");
  const refused = await browser.post(`${server.origin}/cim/profiles/${mei}/smartcards/orders`, {
    _form: formToken(await profile()),
    kind: "issue",
  });
  assert.equal(refused.status, 403);
  assert.equal(
    (await db.selectFrom("smartcard_orders").select("kind").where("holder", "=", mei).execute()).length,
    0,
  );
  const refusal = await db
    .selectFrom("audit_events")
    .select("action")
    .where("action", "=", "smartcard.refused")
    .execute();
  assert.equal(refusal.length, 1, "the refusal is audited once");
});
