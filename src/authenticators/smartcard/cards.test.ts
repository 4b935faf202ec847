import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cardLifetimeDays,
  cardProof,
  csrFor,
  issuedTestCard,
  softwareCardKeys,
  testActor,
  testAuthority,
  testPerson,
  testSealer,
} from "../../../test/support/pki.ts";
import { testStore } from "../../../test/support/test-store.ts";
import { type DomainError, InvalidInputError } from "../../errors.ts";
import { issueCard, releaseUnlockCode, renewCard, reportCardLocked, withdrawCard } from "./cards.ts";
import { createCardOrder } from "./orders.ts";
import { showCard } from "./records.ts";
import { verifySmartcardAuthentication } from "./verification.ts";

const agent = { kind: "system" as const, id: "smartcard-agent", source: "AGENT" };

test("a card's life: issued on an order, locked, unlocked once, renewed, reported lost", async (t) => {
  const store = await testStore(t);
  const authority = await testAuthority(store);
  const settings = { authority, sealer: testSealer, lifetimeDays: cardLifetimeDays };
  const holder = await testPerson(store);
  const card = await issuedTestCard(store, authority, holder, { cardSerial: "LIFE0001" });
  const auditActions = async () =>
    (await store.db.selectFrom("audit_events").select("action").orderBy("seq").execute()).map(
      (row) => row.action,
    );

  await t.test("issue: two certificates for the holder, and an unlock code escrowed sealed", async () => {
    assert.equal(card.issued.holder, holder);
    assert.equal(card.issued.status, "active");
    assert.match(card.issued.unlockCode, /^\d{8}$/);
    assert.equal(card.issued.chain.length, 2);
    const row = await store.db
      .selectFrom("smartcards")
      .selectAll()
      .where("serial", "=", "LIFE0001")
      .executeTakeFirstOrThrow();
    assert.doesNotMatch(row.sealed_unlock_code, new RegExp(card.issued.unlockCode));
    assert.equal(testSealer.open(row.sealed_unlock_code), card.issued.unlockCode);
    const events = await store.db.selectFrom("audit_events").select(["action", "after"]).execute();
    assert.ok(events.some((event) => event.action === "smartcard.issued"));
    assert.doesNotMatch(JSON.stringify(events), new RegExp(card.issued.unlockCode));
  });

  await t.test("an order is spent by its first use", async () => {
    const order = await createCardOrder(store.db, testActor, { kind: "issue", holder });
    const request = async (cardSerial: string) => ({
      orderCode: order.code,
      cardSerial,
      authenticationCsr: await csrFor(await softwareCardKeys()),
      signingCsr: await csrFor(await softwareCardKeys()),
    });
    await issueCard(store.db, settings, await request("LIFE0002"));
    await assert.rejects(issueCard(store.db, settings, await request("LIFE0003")), (error: DomainError) => {
      assert.equal(error.code, "order-refused");
      assert.match(error.message, /used already/);
      return true;
    });
    assert.ok((await auditActions()).includes("smartcard.order-refused"));
  });

  await t.test("bad requests change nothing and leave the order unspent", async () => {
    const order = await createCardOrder(store.db, testActor, { kind: "issue", holder });
    const keys = await softwareCardKeys();
    const good = await csrFor(keys);
    const attempts: [Record<string, unknown>, string][] = [
      [{ authenticationCsr: "garbage", signingCsr: good }, "authenticationCsr"],
      [{ authenticationCsr: good, signingCsr: good }, "signingCsr"],
      [
        {
          authenticationCsr: good,
          signingCsr: await csrFor(await softwareCardKeys()),
          cardSerial: "bad serial!",
        },
        "cardSerial",
      ],
      [
        { authenticationCsr: tampered(good), signingCsr: await csrFor(await softwareCardKeys()) },
        "authenticationCsr",
      ],
    ];
    for (const [fields, field] of attempts)
      await assert.rejects(
        issueCard(store.db, settings, { orderCode: order.code, cardSerial: "LIFE0004", ...fields } as never),
        (error: InvalidInputError) =>
          error instanceof InvalidInputError && error.problems[0]?.field === field,
      );
    await assert.rejects(
      issueCard(store.db, settings, {
        orderCode: order.code,
        cardSerial: "LIFE0001",
        authenticationCsr: good,
        signingCsr: await csrFor(await softwareCardKeys()),
      }),
      /already issued/,
    );
    const row = await store.db
      .selectFrom("smartcard_orders")
      .select("used_at")
      .where("kind", "=", "issue")
      .orderBy("created_at", "desc")
      .executeTakeFirstOrThrow();
    assert.equal(row.used_at, null);
  });

  await t.test("a person with no RA role cannot authorise an order", async () => {
    const person = { kind: "person" as const, id: holder, source: "CIM" };
    await assert.rejects(
      createCardOrder(store.db, person, { kind: "issue", holder }),
      (error: DomainError) => error.code === "forbidden",
    );
    const refused = await store.db
      .selectFrom("audit_events")
      .select(["actor_id", "after"])
      .where("action", "=", "smartcard.refused")
      .executeTakeFirstOrThrow();
    assert.equal(refused.actor_id, holder);
    assert.equal((refused.after as { attempted: string }).attempted, "issue-order");
  });

  await t.test("locked by the agent's report; an unlock order releases the unlock code once", async () => {
    assert.equal((await reportCardLocked(store.db, agent, "LIFE0001")).status, "locked");
    const order = await createCardOrder(store.db, testActor, { kind: "unlock", cardSerial: "LIFE0001" });
    const wrongCard = releaseUnlockCode(store.db, testSealer, {
      orderCode: order.code,
      cardSerial: "LIFE0002",
    });
    await assert.rejects(wrongCard, /for card LIFE0001/);
    const released = await releaseUnlockCode(store.db, testSealer, {
      orderCode: order.code,
      cardSerial: "LIFE0001",
    });
    assert.deepEqual(released, {
      cardSerial: "LIFE0001",
      unlockCode: card.issued.unlockCode,
      status: "active",
    });
    await assert.rejects(
      releaseUnlockCode(store.db, testSealer, { orderCode: order.code, cardSerial: "LIFE0001" }),
      /used already/,
    );
    const actions = await auditActions();
    assert.ok(actions.includes("smartcard.locked") && actions.includes("smartcard.unlock-code-released"));
  });

  let renewed: Awaited<ReturnType<typeof renewCard>>;
  const renewedKey = await softwareCardKeys();
  await t.test("renewal: new certificates for new keys, the old ones superseded", async () => {
    const order = await createCardOrder(store.db, testActor, { kind: "renew", cardSerial: "LIFE0001" });
    renewed = await renewCard(store.db, settings, {
      orderCode: order.code,
      cardSerial: "LIFE0001",
      proof: await cardProof(store, card),
      authenticationCsr: await csrFor(renewedKey),
      signingCsr: await csrFor(await softwareCardKeys()),
    });
    const old = await verifySmartcardAuthentication(store.db, agent, await cardProof(store, card));
    assert.equal(old.ok ? "accepted" : old.reason, "revoked");
    const fresh = await verifySmartcardAuthentication(
      store.db,
      agent,
      await cardProof(store, { keys: { authentication: renewedKey }, issued: renewed }),
    );
    assert.equal(fresh.ok, true);
  });

  await t.test("reported lost: every live certificate revoked at once, for key compromise", async () => {
    const result = await withdrawCard(store.db, testActor, {
      cardSerial: "LIFE0001",
      status: "lost",
      reason: "left on a train",
    });
    assert.equal(result.revoked.length, 2);
    const shown = await showCard(store.db, "LIFE0001");
    assert.equal(shown.status, "lost");
    for (const serial of result.revoked)
      assert.match(
        shown.certificates.find((certificate) => certificate.serial === serial)?.revoked ?? "",
        /keyCompromise/,
      );
    await assert.rejects(
      withdrawCard(store.db, testActor, { cardSerial: "LIFE0001", status: "stolen" }),
      /already lost/,
    );
    const unlock = createCardOrder(store.db, testActor, { kind: "unlock", cardSerial: "LIFE0001" });
    await assert.rejects(unlock, /is lost/);
  });

  await t.test("the holder may report their own card stolen, but not cancel it", async () => {
    const own = { kind: "person" as const, id: holder, source: "CIM" };
    await assert.rejects(
      withdrawCard(store.db, own, { cardSerial: "LIFE0002", status: "cancelled" }),
      (error: DomainError) => error.code === "forbidden",
    );
    assert.equal(
      (await withdrawCard(store.db, own, { cardSerial: "LIFE0002", status: "stolen" })).status,
      "stolen",
    );
  });
});

/** The same request with one byte of its signed part changed. */
function tampered(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  der[40] = (der[40] ?? 0) ^ 1;
  return der.toString("base64");
}
