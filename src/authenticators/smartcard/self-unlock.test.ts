import assert from "node:assert/strict";
import { test } from "node:test";
import {
  issuedTestCard,
  testActor,
  testAuthority,
  testPerson,
  testSealer,
} from "../../../test/support/pki.ts";
import { testStore } from "../../../test/support/test-store.ts";
import type { SealedContent } from "../../messaging/outbox.ts";
import type { Store } from "../../store/database.ts";
import { reportCardLocked, withdrawCard } from "./cards.ts";
import {
  checkSelfUnlockCode,
  completeSelfUnlock,
  releaseSelfUnlockCode,
  type SelfUnlockReason,
  SelfUnlockRefusal,
  startSelfUnlock,
} from "./self-unlock.ts";

const settings = { sealer: testSealer, emailDomains: ["nhs.net"], smsAvailable: true };
const page = { kind: "system" as const, id: "self-service-unlock", source: "SELF_SERVICE" };
const agent = { kind: "system" as const, id: "self-service-unlock", source: "AGENT" };

async function lockedCard(
  store: Store,
  contact: { email?: string | null; mobile?: string | null },
  options = {},
) {
  const authority = await testAuthority(store);
  const holder = await testPerson(store);
  await store.db
    .updateTable("people")
    .set({ email: contact.email ?? null, mobile: contact.mobile ?? null })
    .where("uuid", "=", holder)
    .execute();
  const card = await issuedTestCard(store, authority, holder, options);
  await reportCardLocked(store.db, agent, card.issued.cardSerial);
  return { holder, cardSerial: card.issued.cardSerial, unlockCode: card.issued.unlockCode };
}

/** The code as the holder received it: read from the outbox message, opened with the master key. */
async function sentCode(store: Store, messageId: string): Promise<{ to: string; code: string }> {
  const row = await store.db
    .selectFrom("message_outbox")
    .select("sealed_content")
    .where("id", "=", messageId)
    .executeTakeFirstOrThrow();
  const content = JSON.parse(testSealer.open(row.sealed_content)) as SealedContent;
  return { to: content.to, code: String(content.personalisation.code) };
}

function refusedFor(reason: SelfUnlockReason) {
  return (error: unknown) => {
    assert.ok(error instanceof SelfUnlockRefusal, String(error));
    assert.equal(error.reason, reason, error.message);
    return true;
  };
}

test("the holder unlocks their locked card: code by email, three tries, the unlock code to the agent once done", async (t) => {
  const store = await testStore(t);
  const { cardSerial, unlockCode } = await lockedCard(store, {
    email: "Sam.Smith@NHS.net",
    mobile: "07700900123",
  });
  const started = await startSelfUnlock(store.db, settings, page, { cardSerial });
  assert.equal(started.channel, "email");
  assert.equal(started.maskedRecipient, "S***@NHS.net");
  const { to, code } = await sentCode(store, started.messageId);
  assert.equal(to, "Sam.Smith@NHS.net");
  assert.match(code, /^\d{6}$/);
  const wrong = code === "000000" ? "000001" : "000000";
  await assert.rejects(
    checkSelfUnlockCode(store.db, page, { token: started.token, code: wrong }),
    (error) => {
      assert.ok(error instanceof SelfUnlockRefusal && error.reason === "code-wrong");
      assert.match(error.message, /2 more times/);
      return true;
    },
  );
  const { ticket } = await checkSelfUnlockCode(store.db, page, { token: started.token, code: ` ${code} ` });
  await assert.rejects(
    checkSelfUnlockCode(store.db, page, { token: started.token, code }),
    refusedFor("code-used"),
    "a code works once",
  );
  await assert.rejects(
    completeSelfUnlock(store.db, agent, { ticket, cardSerial }),
    refusedFor("ticket-refused"),
    "nothing is complete before the code is released",
  );
  await assert.rejects(
    releaseSelfUnlockCode(store.db, testSealer, agent, { ticket, cardSerial: "ANOTHER1" }),
    refusedFor("other-card"),
  );
  assert.deepEqual(await releaseSelfUnlockCode(store.db, testSealer, agent, { ticket, cardSerial }), {
    unlockCode,
  });
  // The card was pulled before the agent reset it: it is still locked, and the ticket works again.
  const status = async () =>
    (
      await store.db
        .selectFrom("smartcards")
        .select("status")
        .where("serial", "=", cardSerial)
        .executeTakeFirstOrThrow()
    ).status;
  assert.equal(await status(), "locked");
  assert.deepEqual(await releaseSelfUnlockCode(store.db, testSealer, agent, { ticket, cardSerial }), {
    unlockCode,
  });
  assert.deepEqual(await completeSelfUnlock(store.db, agent, { ticket, cardSerial }), {
    cardSerial,
    status: "active",
  });
  assert.equal(await status(), "active");
  await assert.rejects(
    releaseSelfUnlockCode(store.db, testSealer, agent, { ticket, cardSerial }),
    refusedFor("ticket-refused"),
    "a spent ticket releases nothing",
  );
  const events = await store.db
    .selectFrom("audit_events")
    .select(["action", "after"])
    .where("action", "like", "smartcard.self-%")
    .orderBy("seq")
    .execute();
  assert.deepEqual(
    events.map((event) => event.action),
    [
      "smartcard.self-unlock-code-sent",
      "smartcard.self-unlock-code-wrong",
      "smartcard.self-unlock-code-accepted",
      "smartcard.self-unlock-refused",
      "smartcard.self-unlock-refused",
      "smartcard.self-unlock-refused",
      "smartcard.self-unlock-code-released",
      "smartcard.self-unlock-code-released",
      "smartcard.self-unlocked",
      "smartcard.self-unlock-refused",
    ],
  );
  const everything = JSON.stringify(await store.db.selectFrom("audit_events").selectAll().execute());
  assert.ok(!everything.includes(code) && !everything.includes(unlockCode), "no code in the audit log");
  const stored = JSON.stringify(await store.db.selectFrom("smartcard_self_unlocks").selectAll().execute());
  assert.ok(
    !stored.includes(code) && !stored.includes(started.token) && !stored.includes(ticket),
    "only digests kept",
  );
});

test("a code expires after 15 minutes, is refused after three wrong tries, and does not fit another card's attempt", async (t) => {
  const store = await testStore(t);
  const first = await lockedCard(store, { email: "a.one@nhs.net" });
  const second = await lockedCard(store, { email: "b.two@nhs.net" });
  const now = new Date();
  const started = await startSelfUnlock(store.db, settings, page, { cardSerial: first.cardSerial }, now);
  const { code } = await sentCode(store, started.messageId);
  const later = new Date(now.getTime() + 15 * 60_000 + 1000);
  await assert.rejects(
    checkSelfUnlockCode(store.db, page, { token: started.token, code }, later),
    refusedFor("code-expired"),
  );
  const other = await startSelfUnlock(store.db, settings, page, { cardSerial: second.cardSerial });
  const firstAgain = await startSelfUnlock(store.db, settings, page, { cardSerial: first.cardSerial });
  const { code: firstCode } = await sentCode(store, firstAgain.messageId);
  const { code: otherCode } = await sentCode(store, other.messageId);
  if (otherCode !== firstCode)
    await assert.rejects(
      checkSelfUnlockCode(store.db, page, { token: other.token, code: firstCode }),
      refusedFor("code-wrong"),
      "one card's code does not open another's attempt",
    );
  for (const attempt of ["abc", "12345"])
    await assert.rejects(checkSelfUnlockCode(store.db, page, { token: firstAgain.token, code: attempt }));
  await assert.rejects(
    checkSelfUnlockCode(store.db, page, { token: firstAgain.token, code: "1234567" }),
    refusedFor("tries-used"),
  );
  await assert.rejects(
    checkSelfUnlockCode(store.db, page, { token: firstAgain.token, code: firstCode }),
    refusedFor("tries-used"),
    "even the right code, after three wrong ones",
  );
  await assert.rejects(
    checkSelfUnlockCode(store.db, page, { token: "made-up", code: firstCode }),
    refusedFor("attempt-unknown"),
  );
});

test("refused with its reason: unknown card, no contact, withdrawn card, closed profile, expired certificates, too many codes", async (t) => {
  const store = await testStore(t);
  await assert.rejects(
    startSelfUnlock(store.db, settings, page, { cardSerial: "NOSUCH01" }),
    refusedFor("unknown-card"),
  );
  const elsewhere = await lockedCard(store, { email: "someone@gmail.com" });
  await assert.rejects(
    startSelfUnlock(store.db, settings, page, { cardSerial: elsewhere.cardSerial }),
    refusedFor("no-contact"),
    "an email outside the allow list is not used",
  );
  const mobileOnly = await lockedCard(store, { mobile: "07700900456" });
  const texted = await startSelfUnlock(store.db, settings, page, { cardSerial: mobileOnly.cardSerial });
  assert.equal(texted.channel, "sms");
  assert.equal(texted.maskedRecipient, "*******0456");
  await assert.rejects(
    startSelfUnlock(store.db, { ...settings, smsAvailable: false }, page, {
      cardSerial: mobileOnly.cardSerial,
    }),
    refusedFor("no-contact"),
    "no text without a way to send one",
  );
  const lost = await lockedCard(store, { email: "l.ost@nhs.net" });
  await withdrawCard(store.db, testActor, { cardSerial: lost.cardSerial, status: "lost" });
  await assert.rejects(
    startSelfUnlock(store.db, settings, page, { cardSerial: lost.cardSerial }),
    refusedFor("card-withdrawn"),
  );
  const closed = await lockedCard(store, { email: "c.losed@nhs.net" });
  await store.db.updateTable("people").set({ status: "closed" }).where("uuid", "=", closed.holder).execute();
  await assert.rejects(
    startSelfUnlock(store.db, settings, page, { cardSerial: closed.cardSerial }),
    refusedFor("profile-closed"),
  );
  const expired = await lockedCard(
    store,
    { email: "e.xpired@nhs.net" },
    { now: new Date(Date.now() - 3 * 86_400_000), lifetimeDays: 1 },
  );
  await assert.rejects(
    startSelfUnlock(store.db, settings, page, { cardSerial: expired.cardSerial }),
    refusedFor("card-expired"),
  );
  const busy = await lockedCard(store, { email: "b.usy@nhs.net" });
  for (let attempt = 0; attempt < 5; attempt++)
    await startSelfUnlock(store.db, settings, page, { cardSerial: busy.cardSerial });
  await assert.rejects(
    startSelfUnlock(store.db, settings, page, { cardSerial: busy.cardSerial }),
    refusedFor("too-many-requests"),
  );
  const refusals = await store.db
    .selectFrom("audit_events")
    .select("after")
    .where("action", "=", "smartcard.self-unlock-refused")
    .orderBy("seq")
    .execute();
  assert.deepEqual(
    refusals.map((event) => (event.after as { reason: string }).reason),
    [
      "unknown-card",
      "no-contact",
      "no-contact",
      "card-withdrawn",
      "profile-closed",
      "card-expired",
      "too-many-requests",
    ],
  );
});
