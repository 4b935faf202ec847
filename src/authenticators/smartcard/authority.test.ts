import assert from "node:assert/strict";
import { test } from "node:test";
import {
  csrFor,
  issuedTestCard,
  softwareCardKeys,
  testAuthority,
  testSealer,
} from "../../../test/support/pki.ts";
import { inCim, raDirectory } from "../../../test/support/ra-directory.ts";
import { ForbiddenError } from "../../errors.ts";
import { closeProfile } from "../../registration/closure.ts";
import { issueCard, releaseUnlockCode, withdrawCard } from "./cards.ts";
import { createCardOrder } from "./orders.ts";

test("RA authority over the holder's organisation decides who may order, unlock and cancel cards", async (t) => {
  const { store, actors, places } = await raDirectory(t);
  const authority = await testAuthority(store);
  const settings = { authority, sealer: testSealer, lifetimeDays: 1095 };
  const refusals = async () =>
    (
      await store.db
        .selectFrom("audit_events")
        .select(["actor_id", "after"])
        .where("action", "=", "smartcard.refused")
        .orderBy("seq")
        .execute()
    ).map((row) => `${row.actor_id} ${(row.after as { attempted: string }).attempted}`);

  await t.test(
    "an RA agent issues to someone in their organisation; the card's record names them",
    async () => {
      const order = await createCardOrder(store.db, inCim(actors.RAA), {
        kind: "issue",
        holder: places.inside.person,
      });
      await issueCard(store.db, settings, {
        orderCode: order.code,
        cardSerial: "RA0001",
        authenticationCsr: await csrFor(await softwareCardKeys()),
        signingCsr: await csrFor(await softwareCardKeys()),
      });
      const issued = await store.db
        .selectFrom("audit_events")
        .select(["actor_kind", "actor_id", "actor_role_id", "source"])
        .where("action", "=", "smartcard.issued")
        .executeTakeFirstOrThrow();
      assert.equal(issued.actor_kind, "person");
      assert.equal(issued.actor_id, actors.RAA);
      assert.equal(issued.source, "AGENT");
      assert.ok(issued.actor_role_id, "the position the RA acted in");
    },
  );

  await t.test("and to someone at a child organisation", async () => {
    const order = await createCardOrder(store.db, inCim(actors.RAA), {
      kind: "issue",
      holder: places.child.person,
    });
    assert.equal(order.holder, places.child.person);
  });

  await t.test("but not to someone at an organisation outside their own: refused and audited", async () => {
    await assert.rejects(
      createCardOrder(store.db, inCim(actors.RAA), { kind: "issue", holder: places.outside.person }),
      ForbiddenError,
    );
    assert.deepEqual(await refusals(), [`${actors.RAA} issue-order`]);
  });

  const card = await issuedTestCard(store, authority, places.inside.person, { cardSerial: "RA0002" });

  await t.test("a local smartcard administrator or a sponsor may unlock, but not issue", async () => {
    for (const role of ["LSA", "SPONSOR"] as const) {
      const order = await createCardOrder(store.db, inCim(actors[role]), {
        kind: "unlock",
        cardSerial: "RA0002",
      });
      const released = await releaseUnlockCode(store.db, testSealer, {
        orderCode: order.code,
        cardSerial: "RA0002",
      });
      assert.equal(released.unlockCode, card.issued.unlockCode);
    }
    await assert.rejects(
      createCardOrder(store.db, inCim(actors.LSA), { kind: "issue", holder: places.inside.person }),
      ForbiddenError,
    );
  });

  await t.test("an ID checker may not unlock; a person with no RA role may not cancel", async () => {
    await assert.rejects(
      createCardOrder(store.db, inCim(actors.ID_CHECKER), { kind: "unlock", cardSerial: "RA0002" }),
      ForbiddenError,
    );
    await assert.rejects(
      withdrawCard(store.db, inCim(places.outside.person), { cardSerial: "RA0002", status: "cancelled" }),
      ForbiddenError,
    );
    const card = await store.db
      .selectFrom("smartcards")
      .select("status")
      .where("serial", "=", "RA0002")
      .executeTakeFirstOrThrow();
    assert.equal(card.status, "active");
    assert.deepEqual((await refusals()).slice(-3), [
      `${actors.LSA} issue-order`,
      `${actors.ID_CHECKER} unlock-order`,
      `${places.outside.person} cancelled`,
    ]);
  });

  await t.test("an RA manager cancels it", async () => {
    const result = await withdrawCard(store.db, inCim(actors.RAM), {
      cardSerial: "RA0002",
      status: "cancelled",
      reason: "left",
    });
    assert.equal(result.revoked.length, 2);
  });
});

test("closing a leaver's profile cancels their cards and revokes the certificates in the same change", async (t) => {
  const { store, actors, places } = await raDirectory(t);
  const authority = await testAuthority(store);
  await issuedTestCard(store, authority, places.inside.person, { cardSerial: "LEAVER1" });
  await closeProfile(store.db, inCim(actors.RAA), { uuid: places.inside.person, reason: "Left the trust" });
  const card = await store.db
    .selectFrom("smartcards")
    .select("status")
    .where("serial", "=", "LEAVER1")
    .executeTakeFirstOrThrow();
  assert.equal(card.status, "cancelled");
  const live = await store.db
    .selectFrom("pki_certificates")
    .leftJoin("pki_revocations", "pki_revocations.serial", "pki_certificates.serial")
    .select("pki_certificates.serial")
    .where("card_serial", "=", "LEAVER1")
    .where("pki_revocations.serial", "is", null)
    .execute();
  assert.deepEqual(live, [], "no certificate of the card is left unrevoked");
  const closed = await store.db
    .selectFrom("audit_events")
    .select("after")
    .where("action", "=", "profile.closed")
    .executeTakeFirstOrThrow();
  const cancelled = (closed.after as { smartcardsCancelled: Array<{ cardSerial: string }> })
    .smartcardsCancelled;
  assert.deepEqual(
    cancelled.map((card) => card.cardSerial),
    ["LEAVER1"],
  );
});
