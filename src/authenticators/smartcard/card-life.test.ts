import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { test } from "node:test";
import {
  csrFor,
  issuedTestCard,
  signChallenge,
  softwareCardKeys,
  testAuthority,
  testSealer,
} from "../../../test/support/pki.ts";
import { inCim, raDirectory } from "../../../test/support/ra-directory.ts";
import { type DomainError, ForbiddenError, InvalidInputError } from "../../errors.ts";
import { issueCard, withdrawCard } from "./cards.ts";
import { issueSmartcardChallenge } from "./challenges.ts";
import { clearCard } from "./clear.ts";
import { reportLockWithProof } from "./lock-report.ts";
import { releaseForOrder } from "./order-release.ts";
import { createCardOrder } from "./orders.ts";
import { showCard } from "./records.ts";
import { releaseForReissue } from "./reissue.ts";
import { repairCard } from "./repair.ts";
import { verifySmartcardAuthentication } from "./verification.ts";

const fourYearsAgo = new Date(Date.now() - 4 * 365 * 86_400_000);
const agent = { kind: "system" as const, id: "smartcard-agent", source: "AGENT" };
const refusedWith = (code: string, message?: RegExp) => (error: DomainError) => {
  assert.equal(error.code, code, error.message);
  if (message) assert.match(error.message, message);
  return true;
};

function presenceKeys() {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    presenceKey: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
    sign: (challenge: string) => sign("sha256", Buffer.from(challenge), privateKey).toString("base64url"),
  };
}

test("repair and renewal after expiry, clearing for reuse, and proven lock reports", async (t) => {
  const { store, actors, places } = await raDirectory(t);
  const db = store.db;
  const authority = await testAuthority(store);
  const settings = { authority, sealer: testSealer, lifetimeDays: 1095 };
  const holder = places.inside.person;
  const actions = async (serial: string) =>
    (
      await db
        .selectFrom("audit_events")
        .select("action")
        .where("subject_id", "=", serial)
        .orderBy("seq")
        .execute()
    ).map((row) => row.action);
  const newKeys = async () => ({
    authentication: await softwareCardKeys(),
    signing: await softwareCardKeys(),
  });

  await t.test(
    "an expired card is repaired by an RA agent: same serial and holder, new certificates",
    async () => {
      const old = await issuedTestCard(store, authority, holder, {
        cardSerial: "LIFE-R1",
        now: fourYearsAgo,
      });
      assert.equal((await showCard(db, "LIFE-R1")).status, "expired");
      await assert.rejects(
        createCardOrder(db, inCim(actors.RAA), { kind: "renew", cardSerial: "LIFE-R1" }),
        refusedWith("card-expired", /needs a repair/),
      );
      const order = await createCardOrder(db, inCim(actors.RAA), { kind: "repair", cardSerial: "LIFE-R1" });
      const before = await db
        .selectFrom("smartcards")
        .selectAll()
        .where("serial", "=", "LIFE-R1")
        .executeTakeFirstOrThrow();
      const released = await releaseForOrder(db, testSealer, "repair", {
        orderCode: order.code,
        cardSerial: "LIFE-R1",
      });
      assert.equal(
        released.unlockCode,
        old.issued.unlockCode,
        "the escrowed unlock code, to reset the passcode",
      );
      // Released again (a card pulled out mid-way), the order still stands.
      await releaseForOrder(db, testSealer, "repair", { orderCode: order.code, cardSerial: "LIFE-R1" });
      const keys = await newKeys();
      const presence = presenceKeys();
      const repaired = await repairCard(db, settings, {
        orderCode: order.code,
        cardSerial: "LIFE-R1",
        authenticationCsr: await csrFor(keys.authentication),
        signingCsr: await csrFor(keys.signing),
        presenceKey: presence.presenceKey,
      });
      assert.equal(repaired.holder, holder);
      assert.equal(repaired.cardSerial, "LIFE-R1");
      const record = await showCard(db, "LIFE-R1");
      assert.equal(record.status, "active");
      assert.equal(record.issuedAt, before.issued_at.toISOString(), "the card keeps its history");
      assert.equal(record.certificates.length, 4);
      assert.equal(
        record.certificates.filter((certificate) => certificate.revoked?.includes("superseded")).length,
        2,
      );
      const after = await db
        .selectFrom("smartcards")
        .selectAll()
        .where("serial", "=", "LIFE-R1")
        .executeTakeFirstOrThrow();
      assert.equal(after.sealed_unlock_code, before.sealed_unlock_code);
      // The new authentication key signs in.
      const { challenge } = await issueSmartcardChallenge(db);

      const proof = await verifySmartcardAuthentication(db, agent, {
        certificateChain: [repaired.certificates.authentication],
        challenge,
        signature: await signChallenge(keys.authentication, challenge),
      });
      assert.equal(proof.ok, true);
      assert.deepEqual((await actions("LIFE-R1")).slice(-3), [
        "smartcard.repair-unlock-code-released",
        "smartcard.repair-unlock-code-released",
        "smartcard.repaired",
      ]);
      const audit = JSON.stringify(await db.selectFrom("audit_events").selectAll().execute());
      assert.ok(!audit.includes(old.issued.unlockCode), "no unlock code in the audit");

      // The order is spent: a second repair is refused and audited.
      await assert.rejects(
        repairCard(db, settings, {
          orderCode: order.code,
          cardSerial: "LIFE-R1",
          authenticationCsr: await csrFor(keys.authentication),
          signingCsr: await csrFor(keys.signing),
        }),
        refusedWith("order-refused", /used already/),
      );
      await assert.rejects(
        releaseForOrder(db, testSealer, "repair", { orderCode: order.code, cardSerial: "LIFE-R1" }),
        refusedWith("order-refused"),
      );
      assert.equal((await actions("LIFE-R1")).at(-1), "smartcard.order-refused");
    },
  );

  await t.test(
    "repair refusals: no authority, outside organisation, cancelled card, wrong card, too many releases",
    async () => {
      await issuedTestCard(store, authority, holder, { cardSerial: "LIFE-R2" });
      for (const role of ["LSA", "SPONSOR"] as const)
        await assert.rejects(
          createCardOrder(db, inCim(actors[role]), { kind: "repair", cardSerial: "LIFE-R2" }),
          ForbiddenError,
        );
      await issuedTestCard(store, authority, places.outside.person, { cardSerial: "LIFE-R3" });
      await assert.rejects(
        createCardOrder(db, inCim(actors.RAA), { kind: "repair", cardSerial: "LIFE-R3" }),
        ForbiddenError,
      );
      assert.ok((await actions("LIFE-R2")).includes("smartcard.refused"));
      // An order for one card does not repair another.
      const order = await createCardOrder(db, inCim(actors.RAA), { kind: "repair", cardSerial: "LIFE-R2" });
      await assert.rejects(
        releaseForOrder(db, testSealer, "repair", { orderCode: order.code, cardSerial: "LIFE-R3" }),
        refusedWith("order-refused", /for card LIFE-R2/),
      );
      await assert.rejects(
        releaseForOrder(db, testSealer, "repair", { orderCode: "not a code", cardSerial: "LIFE-R2" }),
        InvalidInputError,
      );
      await assert.rejects(
        repairCard(db, settings, {
          orderCode: order.code,
          cardSerial: "LIFE-R2",
          authenticationCsr: "garbage",
          signingCsr: "garbage",
        }),
        InvalidInputError,
      );
      const keys = await newKeys();
      await assert.rejects(
        repairCard(db, settings, {
          orderCode: order.code,
          cardSerial: "LIFE-R2",
          authenticationCsr: await csrFor(keys.authentication),
          signingCsr: await csrFor(keys.signing),
          presenceKey: "bm90IGEga2V5",
        }),
        (error: InvalidInputError) =>
          error instanceof InvalidInputError && /presenceKey/.test(JSON.stringify(error)),
      );
      for (let release = 0; release < 3; release++)
        await releaseForOrder(db, testSealer, "repair", { orderCode: order.code, cardSerial: "LIFE-R2" });
      await assert.rejects(
        releaseForOrder(db, testSealer, "repair", { orderCode: order.code, cardSerial: "LIFE-R2" }),
        refusedWith("order-refused", /too often/),
      );
      // Cancelled after the order was made: the order cannot repair it.
      await withdrawCard(db, inCim(actors.RAA), {
        cardSerial: "LIFE-R2",
        status: "cancelled",
        reason: "left",
      });
      await assert.rejects(
        repairCard(db, settings, {
          orderCode: order.code,
          cardSerial: "LIFE-R2",
          authenticationCsr: await csrFor(keys.authentication),
          signingCsr: await csrFor(keys.signing),
        }),
        refusedWith("card-not-usable", /cancelled/),
      );
      await assert.rejects(
        createCardOrder(db, inCim(actors.RAA), { kind: "repair", cardSerial: "LIFE-R2" }),
        refusedWith("card-not-usable", /cancelled/),
      );
    },
  );

  await t.test(
    "a cleared card is wiped of its record and certificates, then issued to someone else",
    async () => {
      const old = await issuedTestCard(store, authority, holder, { cardSerial: "LIFE-C1" });
      await assert.rejects(
        createCardOrder(db, inCim(actors.LSA), { kind: "clear", cardSerial: "LIFE-C1" }),
        ForbiddenError,
      );
      const order = await createCardOrder(db, inCim(actors.RAA), { kind: "clear", cardSerial: "LIFE-C1" });
      const released = await releaseForOrder(db, testSealer, "clear", {
        orderCode: order.code,
        cardSerial: "LIFE-C1",
      });
      assert.equal(released.unlockCode, old.issued.unlockCode);
      const cleared = await clearCard(db, { orderCode: order.code, cardSerial: "LIFE-C1" });
      assert.equal(cleared.status, "cleared");
      assert.equal(cleared.revoked.length, 2);
      const revocations = await db
        .selectFrom("pki_revocations")
        .select("reason")
        .where("serial", "in", cleared.revoked)
        .execute();
      assert.deepEqual(
        revocations.map((row) => row.reason),
        ["cessationOfOperation", "cessationOfOperation"],
      );
      await assert.rejects(
        clearCard(db, { orderCode: order.code, cardSerial: "LIFE-C1" }),
        refusedWith("order-refused"),
      );
      await assert.rejects(
        createCardOrder(db, inCim(actors.RAA), { kind: "repair", cardSerial: "LIFE-C1" }),
        refusedWith("card-not-usable", /cleared/),
      );
      // Issued afresh, with the same serial, to another person.
      const other = places.child.person;
      const issue = await createCardOrder(db, inCim(actors.RAA), { kind: "issue", holder: other });
      // The wiped token kept the escrowed unlock code: the issue order releases it to the agent.
      assert.deepEqual(
        await releaseForReissue(db, testSealer, { orderCode: issue.code, cardSerial: "LIFE-C1" }),
        { cardSerial: "LIFE-C1", cleared: true, unlockCode: old.issued.unlockCode },
      );
      // A new card keeps its manufacturer's code: nothing is released and the order is not spent.
      assert.deepEqual(
        await releaseForReissue(db, testSealer, { orderCode: issue.code, cardSerial: "LIFE-NEW" }),
        { cardSerial: "LIFE-NEW", cleared: false },
      );
      // Only a cleared card's code comes out: an active card's stays escrowed.
      await issuedTestCard(store, authority, holder, { cardSerial: "LIFE-C4" });
      assert.deepEqual(
        await releaseForReissue(db, testSealer, { orderCode: issue.code, cardSerial: "LIFE-C4" }),
        { cardSerial: "LIFE-C4", cleared: false },
      );
      // The clear order is no issue order.
      await assert.rejects(
        releaseForReissue(db, testSealer, { orderCode: order.code, cardSerial: "LIFE-C1" }),
        refusedWith("order-refused", /not a valid issue order/),
      );
      for (const _ of [2, 3])
        await releaseForReissue(db, testSealer, { orderCode: issue.code, cardSerial: "LIFE-C1" });
      await assert.rejects(
        releaseForReissue(db, testSealer, { orderCode: issue.code, cardSerial: "LIFE-C1" }),
        refusedWith("order-refused", /too often/),
      );
      const reissued = await issueCard(db, settings, {
        orderCode: issue.code,
        cardSerial: "LIFE-C1",
        authenticationCsr: await csrFor(await softwareCardKeys()),
        signingCsr: await csrFor(await softwareCardKeys()),
      });
      assert.equal(reissued.holder, other);
      assert.notEqual(reissued.unlockCode, old.issued.unlockCode);
      const record = await showCard(db, "LIFE-C1");
      assert.equal(record.holder, other);
      assert.equal(record.status, "active");
      assert.deepEqual(
        (await actions("LIFE-C1")).filter((action) => action.includes("clear")),
        ["smartcard.clear-unlock-code-released", "smartcard.cleared"],
      );
      assert.deepEqual(
        (await actions("LIFE-C1")).filter((action) => action.includes("reissue")),
        Array(3).fill("smartcard.reissue-unlock-code-released"),
      );
    },
  );

  await t.test("a cancelled card may be cleared; a stolen one may not", async () => {
    await issuedTestCard(store, authority, holder, { cardSerial: "LIFE-C2" });
    await withdrawCard(db, inCim(actors.RAA), {
      cardSerial: "LIFE-C2",
      status: "cancelled",
      reason: "returned",
    });
    const order = await createCardOrder(db, inCim(actors.RAA), { kind: "clear", cardSerial: "LIFE-C2" });
    assert.deepEqual((await clearCard(db, { orderCode: order.code, cardSerial: "LIFE-C2" })).revoked, []);
    await issuedTestCard(store, authority, holder, { cardSerial: "LIFE-C3" });
    await withdrawCard(db, inCim(actors.RAA), {
      cardSerial: "LIFE-C3",
      status: "stolen",
      reason: "bag taken",
    });
    await assert.rejects(
      createCardOrder(db, inCim(actors.RAA), { kind: "clear", cardSerial: "LIFE-C3" }),
      refusedWith("card-not-usable", /stolen/),
    );
  });

  await t.test("a lock report needs the card's own signature, by its presence key", async () => {
    const presence = presenceKeys();
    const issue = await createCardOrder(db, inCim(actors.RAA), { kind: "issue", holder });
    await issueCard(db, settings, {
      orderCode: issue.code,
      cardSerial: "LIFE-L1",
      authenticationCsr: await csrFor(await softwareCardKeys()),
      signingCsr: await csrFor(await softwareCardKeys()),
      presenceKey: presence.presenceKey,
    });
    const report = async (signWith: (challenge: string) => string, cardSerial = "LIFE-L1") => {
      const { challenge } = await issueSmartcardChallenge(db);
      return reportLockWithProof(db, agent, { cardSerial, challenge, signature: signWith(challenge) });
    };
    // Someone who knows only the serial (and signs with a key of their own) is refused.
    await assert.rejects(
      report(presenceKeys().sign),
      refusedWith("lock-report-refused", /must be in the reader/),
    );
    assert.equal((await showCard(db, "LIFE-L1")).status, "active");
    assert.equal((await actions("LIFE-L1")).at(-1), "smartcard.lock-report-refused");
    // A card issued without a presence key cannot report itself.
    await issuedTestCard(store, authority, holder, { cardSerial: "LIFE-L2" });
    await assert.rejects(
      report(presence.sign, "LIFE-L2"),
      refusedWith("lock-report-refused", /no presence key/),
    );
    // A replayed challenge is refused.
    const { challenge } = await issueSmartcardChallenge(db);
    const signature = presence.sign(challenge);
    assert.equal(
      (await reportLockWithProof(db, agent, { cardSerial: "LIFE-L1", challenge, signature })).status,
      "locked",
    );
    await assert.rejects(
      reportLockWithProof(db, agent, { cardSerial: "LIFE-L1", challenge, signature }),
      refusedWith("lock-report-refused", /replayed/),
    );
    await assert.rejects(
      reportLockWithProof(db, agent, { cardSerial: "LIFE-L1", challenge: "short", signature }),
      InvalidInputError,
    );
    await assert.rejects(
      reportLockWithProof(db, agent, { cardSerial: "no such card!", challenge, signature }),
      InvalidInputError,
    );
    assert.equal((await showCard(db, "LIFE-L1")).status, "locked");
    assert.ok((await actions("LIFE-L1")).includes("smartcard.locked"));
  });
});
