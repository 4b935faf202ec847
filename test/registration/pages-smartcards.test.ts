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

test("an RA agent repairs or clears a card from the profile: a confirmation naming the card, a reason where clearing needs one, and the order with what happens next", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const priya = await uuidOf(db, "Sharma");
  const authority = await openCertificateAuthority(db, server.cis2.sealer, "http://pki.test", testActor);
  const card = await issuedTestCard(server.store, authority, priya);
  const { browser } = await signInToCim(server, "tunde.adebayo@nhs.net");
  const profileUrl = `${server.origin}/cim/profiles/${priya}`;
  const profile = await pageText(await browser.get(profileUrl));
  for (const kind of ["repair", "clear"])
    assert.match(profile, new RegExp(`href="/cim/profiles/${priya}/smartcards/${card.cardSerial}/${kind}"`));

  const repairUrl = `${profileUrl}/smartcards/${card.cardSerial}/repair`;
  const repairPage = await pageText(await browser.get(repairUrl));
  assert.match(repairPage, new RegExp(`<h1[^>]*>Repair card ${card.cardSerial}</h1>`));
  assert.match(repairPage, /Priya Sharma/);
  assert.match(repairPage, /current certificates are revoked as superseded/);
  const repaired = await browser.post(repairUrl, { _form: formToken(repairPage) });
  assert.equal(repaired.status, 200, "a repair needs no reason");
  const repairedText = await pageText(repaired);
  assert.match(repairedText, /What happens next/);
  assert.match(repairedText, /Repair this smartcard/);
  const repairCode = /id="order-code">([A-Z2-7-]+)</.exec(repairedText)?.[1] ?? "";
  assert.match(repairCode, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);

  const clearUrl = `${profileUrl}/smartcards/${card.cardSerial}/clear`;
  const clearPage = await pageText(await browser.get(clearUrl));
  assert.match(clearPage, /record of the card ends/);
  const noReason = await browser.post(clearUrl, { _form: formToken(clearPage) });
  assert.equal(noReason.status, 400);
  const problem = await pageText(noReason);
  assert.match(problem, /There is a problem/);
  assert.match(problem, /<a href="#reason">Reason is required to clear a card/);
  const cleared = await browser.post(clearUrl, {
    _form: formToken(await pageText(await browser.get(clearUrl))),
    reason: "Handed back when she left the practice",
  });
  assert.equal(cleared.status, 200);
  assert.match(await pageText(cleared), /Clear this smartcard/);
  const orders = await db
    .selectFrom("smartcard_orders")
    .select(["kind", "card_serial"])
    .where("card_serial", "=", card.cardSerial)
    .orderBy("kind")
    .execute();
  assert.deepEqual(
    orders.map((row) => row.kind),
    ["clear", "repair"],
    "one order each: the form without a reason changed nothing",
  );
  const events = await db
    .selectFrom("audit_events")
    .select(["action", "reason"])
    .where("action", "=", "smartcard.order-created")
    .where("subject_id", "=", priya)
    .orderBy("seq")
    .execute();
  assert.deepEqual(events.slice(-2), [
    { action: "smartcard.order-created", reason: null },
    { action: "smartcard.order-created", reason: "Handed back when she left the practice" },
  ]);

  // Outside the agent's organisations: no links, no confirmation page, no order.
  const mei = await uuidOf(db, "Chen");
  const meiCard = await issuedTestCard(server.store, authority, mei);
  const outside = await pageText(await browser.get(`${server.origin}/cim/profiles/${mei}`));
  assert.doesNotMatch(outside, /Repair card|Clear card/);
  const refusedPage = await browser.get(
    `${server.origin}/cim/profiles/${mei}/smartcards/${meiCard.cardSerial}/clear`,
  );
  assert.equal(refusedPage.status, 403);
  const refused = await browser.post(
    `${server.origin}/cim/profiles/${mei}/smartcards/${meiCard.cardSerial}/clear`,
    {
      _form: formToken(profile),
      reason: "Not mine to clear",
    },
  );
  assert.equal(refused.status, 403);
  assert.equal(
    (await db.selectFrom("smartcard_orders").select("kind").where("holder", "=", mei).execute()).length,
    1,
    "only the test's own issue order",
  );
});
