import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cardProof,
  issuedTestCard,
  signChallenge,
  softwareCardKeys,
  testActor,
  testAuthority,
  testPerson,
} from "../../../test/support/pki.ts";
import { testStore } from "../../../test/support/test-store.ts";
import { changePersonStatus } from "../../people/people.ts";
import { caSigningAlgorithm, toPem, x509 } from "../../pki/engine.ts";
import { holderName } from "../../pki/profiles.ts";
import { reportCardLocked, withdrawCard } from "./cards.ts";
import { issueSmartcardChallenge } from "./challenges.ts";
import { verifySmartcardAuthentication, verifySmartcardCertificate } from "./verification.ts";

const signIn = { kind: "system" as const, id: "sign-in", source: "CIS2" };

test("a card's signature over a fresh challenge is accepted once, and each fault is refused by name", async (t) => {
  const store = await testStore(t);
  const authority = await testAuthority(store);
  const holder = await testPerson(store);
  const verify = (proof: Parameters<typeof verifySmartcardAuthentication>[2], now?: Date) =>
    verifySmartcardAuthentication(store.db, signIn, proof, now);
  const refusalsRecorded = async () =>
    (
      await store.db
        .selectFrom("audit_events")
        .select("after")
        .where("action", "=", "smartcard.authentication-refused")
        .execute()
    ).map((row) => (row.after as { reason: string }).reason);

  for (const kind of ["ec", "rsa"] as const)
    await t.test(`an ${kind.toUpperCase()} card signs in`, async () => {
      const card = await issuedTestCard(store, authority, holder, { kind });
      const verdict = await verify(await cardProof(store, card));
      assert.deepEqual(verdict, {
        ok: true,
        holder,
        cardSerial: card.cardSerial,
        certificateSerial: verdict.ok ? verdict.certificateSerial : "",
      });
    });

  const card = await issuedTestCard(store, authority, holder);

  await t.test("a replayed challenge", async () => {
    const proof = await cardProof(store, card);
    assert.equal((await verify(proof)).ok, true);
    assert.deepEqual(await verify(proof), {
      ok: false,
      reason: "replayed-challenge",
      message: "The sign-in challenge has been used already. Start again.",
    });
  });

  await t.test("a signature over another challenge", async () => {
    const proof = await cardProof(store, card);
    const other = await issueSmartcardChallenge(store.db);
    const verdict = await verify({ ...proof, challenge: other.challenge });
    assert.equal(verdict.ok ? "accepted" : verdict.reason, "bad-signature");
  });

  await t.test("a signature by another key", async () => {
    const proof = await cardProof(store, card);
    const signature = await signChallenge(card.keys.signing, proof.challenge);
    const verdict = await verify({ ...proof, signature });
    assert.equal(verdict.ok ? "accepted" : verdict.reason, "bad-signature");
  });

  await t.test("a challenge this service never gave, or one too old", async () => {
    const proof = await cardProof(store, card);
    const made = await verify({ ...proof, challenge: "made-up" });
    assert.equal(made.ok ? "accepted" : made.reason, "unknown-challenge");
    const late = await verify(await cardProof(store, card), new Date(Date.now() + 10 * 60_000));
    assert.equal(late.ok ? "accepted" : late.reason, "expired-challenge");
  });

  await t.test("an unreadable certificate", async () => {
    const proof = await cardProof(store, card);
    const verdict = await verify({ ...proof, certificateChain: ["not a certificate"] });
    assert.equal(verdict.ok ? "accepted" : verdict.reason, "malformed");
  });

  await t.test("a certificate from another CA, naming the same person", async () => {
    const keys = await softwareCardKeys();
    const impostor = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "1001",
      name: holderName(holder),
      keys: keys as never,
      signingAlgorithm: caSigningAlgorithm,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
    });
    const { challenge } = await issueSmartcardChallenge(store.db);
    const verdict = await verify({
      certificateChain: [toPem(impostor.rawData)],
      challenge,
      signature: await signChallenge(keys, challenge),
    });
    assert.equal(verdict.ok ? "accepted" : verdict.reason, "unknown-ca");
  });

  await t.test("the card's signing certificate instead of its authentication certificate", async () => {
    const proof = await cardProof(store, card);
    const verdict = await verify({
      ...proof,
      certificateChain: [card.issued.certificates.signing],
      signature: await signChallenge(card.keys.signing, proof.challenge),
    });
    assert.equal(verdict.ok ? "accepted" : verdict.reason, "not-an-authentication-certificate");
  });

  await t.test("someone else's card", async () => {
    const other = await testPerson(store, "Other");
    const verdict = await verify({ ...(await cardProof(store, card)), expectedHolder: other });
    assert.equal(verdict.ok ? "accepted" : verdict.reason, "wrong-holder");
  });

  await t.test("an expired certificate", async () => {
    const old = await issuedTestCard(store, authority, holder, {
      now: new Date(Date.now() - 3 * 86_400_000),
      lifetimeDays: 1,
    });
    const verdict = await verify(await cardProof(store, old));
    assert.equal(verdict.ok ? "accepted" : verdict.reason, "expired");
  });

  await t.test("a locked card", async () => {
    const locked = await issuedTestCard(store, authority, holder);
    await reportCardLocked(store.db, testActor, locked.cardSerial);
    const verdict = await verify(await cardProof(store, locked));
    assert.equal(verdict.ok ? "accepted" : verdict.reason, "card-locked");
  });

  await t.test("a cancelled card: its certificate is revoked", async () => {
    const cancelled = await issuedTestCard(store, authority, holder);
    await withdrawCard(store.db, testActor, { cardSerial: cancelled.cardSerial, status: "cancelled" });
    const verdict = await verify(await cardProof(store, cancelled));
    assert.equal(verdict.ok ? "accepted" : verdict.reason, "revoked");
  });

  await t.test("a card whose status says cancelled though its certificate was not revoked", async () => {
    const stale = await issuedTestCard(store, authority, holder);
    await store.db
      .updateTable("smartcards")
      .set({ status: "cancelled" })
      .where("serial", "=", stale.cardSerial)
      .execute();
    const verdict = await verify(await cardProof(store, stale));
    assert.equal(verdict.ok ? "accepted" : verdict.reason, "card-cancelled");
  });

  await t.test("the mutual-TLS check: certificate only", async () => {
    const verdict = await verifySmartcardCertificate(store.db, signIn, {
      certificateChain: [card.issued.certificates.authentication],
    });
    assert.equal(verdict.ok && verdict.holder, holder);
  });

  await t.test("a holder whose profile was closed", async () => {
    await changePersonStatus(store.db, testActor, holder, "closed", "left the service");
    const verdict = await verify(await cardProof(store, card));
    assert.equal(verdict.ok ? "accepted" : verdict.reason, "holder-not-active");
  });

  await t.test("every refusal was audited with its reason", async () => {
    assert.deepEqual((await refusalsRecorded()).sort(), [
      "bad-signature",
      "bad-signature",
      "card-cancelled",
      "card-locked",
      "expired",
      "expired-challenge",
      "holder-not-active",
      "malformed",
      "not-an-authentication-certificate",
      "replayed-challenge",
      "revoked",
      "unknown-ca",
      "unknown-challenge",
      "wrong-holder",
    ]);
  });
});
