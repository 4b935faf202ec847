import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { test } from "node:test";
import { startCis2Server } from "../../../test/support/cis2-server.ts";
import {
  csrFor,
  openssl,
  pemFolder,
  signChallenge,
  softwareCardKeys,
  testActor,
  testPerson,
} from "../../../test/support/pki.ts";
import { withdrawCard } from "./cards.ts";
import { createCardOrder } from "./orders.ts";

test("the agent's API: issue, report a lock, unlock once; a cancelled card shows revoked in OCSP and the CRL", async (t) => {
  const { store, origin } = await startCis2Server(t);
  const holder = await testPerson(store);
  const post = (path: string, body: unknown) =>
    fetch(`${origin}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
  const keys = { authentication: await softwareCardKeys("rsa"), signing: await softwareCardKeys("rsa") };
  const issueOrder = await createCardOrder(store.db, testActor, { kind: "issue", holder });
  const issueRequest = {
    orderCode: issueOrder.code,
    cardSerial: "HTTP0001",
    cardType: "softhsm",
    authenticationCsr: await csrFor(keys.authentication),
    signingCsr: await csrFor(keys.signing),
  };
  let issued: { unlockCode: string; certificates: { authentication: string }; chain: string[] };

  await t.test("issue: 201 with the certificates, the chain and the unlock code, never cached", async () => {
    const response = await post("/api/smartcards/issue", issueRequest);
    assert.equal(response.status, 201);
    assert.equal(response.headers.get("cache-control"), "no-store");
    issued = (await response.json()) as typeof issued;
    assert.match(issued.unlockCode, /^\d{8}$/);
    assert.equal(issued.chain.length, 2);
  });

  await t.test("bad input: problem+json naming the field; a spent order: refused", async () => {
    const bad = await post("/api/smartcards/issue", {
      ...issueRequest,
      orderCode: "AAAA-AAAA-AAAA-AAAA",
      signingCsr: "x",
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get("content-type"), "application/problem+json; charset=utf-8");
    assert.equal(((await bad.json()) as { errors: { field: string }[] }).errors[0]?.field, "signingCsr");
    const spent = await post("/api/smartcards/issue", { ...issueRequest, cardSerial: "HTTP0002" });
    assert.equal(spent.status, 422);
    assert.match(((await spent.json()) as { detail: string }).detail, /used already/);
    const notJson = await post("/api/smartcards/unlock", "text");
    assert.equal(notJson.status, 400);
  });

  await t.test(
    "a challenge from the service, signed by the card, is what renewal and sign-in check",
    async () => {
      const response = await post("/api/smartcards/challenges", {});
      assert.equal(response.status, 201);
      const { challenge } = (await response.json()) as { challenge: string };
      assert.match(challenge, /^[A-Za-z0-9_-]{43}$/);
      assert.ok((await signChallenge(keys.authentication, challenge)).length > 0);
    },
  );

  await t.test("the agent reports a lock; an unlock order releases the code once", async () => {
    const wrongStatus = await post("/api/smartcards/cards/HTTP0001/status", { status: "active" });
    assert.equal(wrongStatus.status, 400);
    // Knowing the serial is not enough: the card's presence key must sign a fresh challenge.
    const unproven = await post("/api/smartcards/cards/HTTP0001/status", { status: "locked" });
    assert.equal(unproven.status, 400);
    const presence = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await store.db
      .updateTable("smartcards")
      .set({ presence_key: presence.publicKey.export({ type: "spki", format: "der" }) })
      .where("serial", "=", "HTTP0001")
      .execute();
    const proof = async (key = presence.privateKey) => {
      const { challenge } = (await (await post("/api/smartcards/challenges", {})).json()) as {
        challenge: string;
      };
      return { challenge, signature: sign("sha256", Buffer.from(challenge), key).toString("base64url") };
    };
    const forged = await post("/api/smartcards/cards/HTTP0001/status", {
      status: "locked",
      proof: await proof(generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey),
    });
    assert.equal(forged.status, 422);
    const locked = await post("/api/smartcards/cards/HTTP0001/status", {
      status: "locked",
      proof: await proof(),
    });
    assert.deepEqual(await locked.json(), { cardSerial: "HTTP0001", status: "locked" });
    const unknown = await post("/api/smartcards/cards/NOSUCHCARD/status", {
      status: "locked",
      proof: await proof(),
    });
    assert.equal(unknown.status, 404);
    const order = await createCardOrder(store.db, testActor, { kind: "unlock", cardSerial: "HTTP0001" });
    const unlocked = await post("/api/smartcards/unlock", { orderCode: order.code, cardSerial: "HTTP0001" });
    assert.equal(unlocked.status, 200);
    assert.deepEqual(await unlocked.json(), {
      cardSerial: "HTTP0001",
      unlockCode: issued.unlockCode,
      status: "active",
    });
    const again = await post("/api/smartcards/unlock", { orderCode: order.code, cardSerial: "HTTP0001" });
    assert.equal(again.status, 422);
  });

  await t.test("cancelled: OCSP and the CRL at the URLs in the certificate say revoked", async () => {
    await withdrawCard(store.db, testActor, { cardSerial: "HTTP0001", status: "cancelled", reason: "left" });
    const card = (await (await fetch(`${origin}/api/smartcards/cards/HTTP0001`)).json()) as {
      status: string;
      certificates: { revoked: string | null }[];
    };
    assert.equal(card.status, "cancelled");
    assert.ok(card.certificates.every((certificate) => certificate.revoked));
    const files = pemFolder(t);
    const cert = files.writeRaw("card.pem", issued.certificates.authentication);
    const issuing = files.writeRaw("issuing.pem", issued.chain[0] ?? "");
    const root = files.writeRaw("root.pem", issued.chain[1] ?? "");
    const ocspUrl = (await openssl(["x509", "-in", cert, "-noout", "-ocsp_uri"])).output.trim();
    assert.equal(ocspUrl, `${origin}/pki/ocsp`);
    const answer = await openssl([
      "ocsp",
      "-issuer",
      issuing,
      "-cert",
      cert,
      "-url",
      ocspUrl,
      "-CAfile",
      root,
    ]);
    assert.match(answer.output, /card.pem: revoked/);
    assert.match(answer.output, /cessationOfOperation/);
    const crl = files.writeRaw("issuing.crl", await (await fetch(`${origin}/pki/issuing.crl`)).bytes());
    const listed = await openssl([
      "crl",
      "-inform",
      "DER",
      "-in",
      crl,
      "-CAfile",
      issuing,
      "-noout",
      "-text",
    ]);
    assert.match(listed.output, /verify OK/);
    assert.match(listed.output, /Cessation Of Operation/);
  });
});
