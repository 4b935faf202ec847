import assert from "node:assert/strict";
import { test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { addClient } from "../../src/cis2/clients.ts";
import { clientValidator } from "../../src/cis2/start.ts";
import { x509 } from "../../src/pki/engine.ts";
import { closeProfile } from "../../src/registration/closure.ts";
import { prepareSignature, signedPrescription } from "../../src/signing/signature.ts";
import { serviceTrust } from "../../src/signing/trust.ts";
import { verifyPrescription } from "../../src/signing/verifier.ts";
import { enrolmentUrl, singlePositionPeople } from "../authenticators/enrolment.ts";
import { redirectUri } from "../cis2/journey.ts";
import { Browser } from "../support/browser.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { openssl, pemFolder } from "../support/pki.ts";
import {
  editPrescription,
  jdkVerifiesPrescriptions,
  opensslVerifiesSignedInfo,
  prescriptionAt,
  samplePrescriptions,
} from "../support/prescriptions.ts";
import { softSecurityKey } from "../support/soft-security-key.ts";

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

const clientId = "123456789012.apps.supplier";

test("remote signing: a batch of 250 signed after a security-key presence check, accepted by the verifier, the JDK's XML-DSig and openssl; every bad request refused", async (t) => {
  const key = await softSecurityKey();
  const server = await startCis2Server(t, key.environment);
  const db = server.store.db;
  const [holder] = (await singlePositionPeople(db, 1)) as [string];
  const { token: enrolment } = await issueEnrolmentLink(db, operatorActor(), { uuid: holder });
  const keyPage = enrolmentUrl(server, enrolment, "security-key");
  const registered = await new Browser().post(keyPage, {
    response: key.register(await (await fetch(keyPage)).text(), server.origin),
  });
  assert.match(await registered.text(), /Your security key is registered/);

  const { publicKey, privateKey } = await generateKeyPair("RS512", { extractable: true });
  await addClient(
    db,
    operatorActor(),
    server.cis2.sealer,
    {
      client_id: clientId,
      client_name: "Prescribing app",
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: "RS512",
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: "prescribing", alg: "RS512", use: "sig" }] },
    },
    clientValidator(server.cis2.host),
  );

  // 250 prescriptions, repeat and acute, each its own id, prepared as an application prepares them.
  const prescriptions = Array.from({ length: 250 }, (_, index) =>
    editPrescription(
      prescriptionAt(index % 2 === 0 ? samplePrescriptions.repeat : samplePrescriptions.acute),
      "//hl7:pertinentPrescription/hl7:id[1]",
      (id) => id.setAttribute("root", `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`),
    ),
  );
  const prepared = prescriptions.map((prescription) => prepareSignature(prescription));
  const items = prepared.map((one, index) => ({
    id: `rx-${index}`,
    payload: Buffer.from(one.signedInfo).toString("base64"),
  }));

  const requestJwt = (
    claims: Record<string, unknown>,
    options: { alg?: string; signingKey?: SigningKey; expiresIn?: string | number } = {},
  ) =>
    new SignJWT({ payloads: items, ...claims })
      .setProtectedHeader({ alg: options.alg ?? "RS512", kid: "prescribing" })
      .setIssuer(clientId)
      .setSubject(holder)
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? "5m")
      .sign(options.signingKey ?? privateKey);
  const post = (jwt: string) =>
    fetch(`${server.origin}/signaturerequest`, {
      method: "POST",
      headers: { "content-type": "application/jwt" },
      body: jwt,
    });
  const signatureRows = async () =>
    Number(
      (
        await db
          .selectFrom("signature_requests")
          .select((select) => select.fn.countAll<number>().as("count"))
          .executeTakeFirstOrThrow()
      ).count,
    );

  /** The presence check as the prescriber's browser does it, with their security key. */
  async function presence(redirect: string) {
    const browser = new Browser();
    const page = await (await browser.get(redirect)).text();
    const answer = await browser.post(redirect, { response: key.assert(page, server.origin) });
    return { status: answer.status, html: await answer.text() };
  }

  const jwt = await requestJwt({});
  const created = await post(jwt);
  assert.equal(created.status, 200, await created.clone().text());
  const { token, redirectUri: redirect } = (await created.json()) as { token: string; redirectUri: string };
  assert.equal(redirect, `${server.origin}/signing/${token}`);
  const response = () => fetch(`${server.origin}/signatureresponse/${token}`);
  assert.equal((await response()).status, 202, "pending until the prescriber is present");

  const signedPage = await presence(redirect);
  assert.equal(signedPage.status, 200, signedPage.html);
  assert.match(signedPage.html, /data-signed-count="250"/);

  const collected = await response();
  assert.equal(collected.status, 200);
  const { signatures, certificate } = (await collected.json()) as {
    signatures: Array<{ id: string; signature: string }>;
    certificate: string;
  };
  assert.equal(signatures.length, 250);
  assert.deepEqual(
    signatures.map((signature) => signature.id),
    items.map((item) => item.id),
  );
  const signingCertificate = new x509.X509Certificate(Buffer.from(certificate, "base64"));
  assert.match(signingCertificate.subject, new RegExp(`CN=${holder}`));

  const trust = await serviceTrust(db, false);
  const signed = signatures.map((signature, index) =>
    signedPrescription(
      prescriptions[index] as string,
      prepared[index]?.signedInfo as string,
      Buffer.from(signature.signature, "base64"),
      new Uint8Array(signingCertificate.rawData),
    ),
  );

  await t.test("the verifier accepts every one of the 250", async () => {
    for (const [index, prescription] of signed.entries()) {
      const verdict = await verifyPrescription(prescription, trust);
      assert.ok(
        verdict.valid,
        `rx-${index}: ${JSON.stringify(verdict.checks.filter((check) => !check.passed))}`,
      );
    }
  });

  await t.test(
    "the JDK's XML-DSig (Santuario) verifies every one of the 250 whole, to our root",
    async () => {
      const checked = await jdkVerifiesPrescriptions(t, signed, trust.roots[0]?.rawData as ArrayBuffer, [
        trust.issuers[0]?.rawData as ArrayBuffer,
      ]);
      assert.equal(checked.status, 0, checked.output);
      assert.equal(checked.output.match(/reference digest over FragmentsToBeHashed OK/g)?.length, 250);
      assert.equal(checked.output.match(/signature value over the canonical SignedInfo OK/g)?.length, 250);
      assert.equal(checked.output.match(/certificate chain to .* OK/g)?.length, 250);
    },
  );

  await t.test("openssl verifies a raw signature over the canonical SignedInfo", async () => {
    const output = await opensslVerifiesSignedInfo(
      t,
      signingCertificate.rawData,
      Buffer.from(signatures[7]?.signature ?? "", "base64"),
      prepared[7]?.signedInfo ?? "",
    );
    assert.match(output, /Verified OK/);
    const files = pemFolder(t);
    const certificateFile = files.write("remote.pem", signingCertificate.rawData);
    const text = (await openssl(["x509", "-in", certificateFile, "-noout", "-text"])).output;
    assert.match(text, /Non Repudiation/);
  });

  await t.test("the signatures are collected once: a replayed token is refused", async () => {
    const again = await response();
    assert.equal(again.status, 410);
    assert.match(again.headers.get("content-type") ?? "", /^application\/problem\+json/);
    assert.match(((await again.json()) as { type: string }).type, /already-collected$/);
    assert.equal((await fetch(`${server.origin}/signatureresponse/not-a-token`)).status, 404);
  });

  await t.test("bad requests are refused as problem+json and nothing is kept", async () => {
    const before = await signatureRows();
    const refusals: Array<[string, Promise<string>, number, RegExp]> = [
      ["a replayed request", Promise.resolve(jwt), 409, /replayed-request$/],
      [
        "a wrong algorithm",
        (async () => {
          const { privateKey: rs256 } = await generateKeyPair("RS256");
          return requestJwt({}, { alg: "RS256", signingKey: rs256 });
        })(),
        400,
        /invalid-algorithm$/,
      ],
      ["an expired JWT", requestJwt({}, { expiresIn: Math.floor(Date.now() / 1000) - 5 }), 401, /expired$/],
      ["exp beyond ten minutes", requestJwt({}, { expiresIn: "11m" }), 400, /invalid-request$/],
      [
        "251 payloads",
        requestJwt({ payloads: [...items, { id: "rx-250", payload: items[0]?.payload }] }),
        400,
        /invalid-input$/,
      ],
      [
        "a key the client never registered",
        (async () => requestJwt({}, { signingKey: (await generateKeyPair("RS512")).privateKey }))(),
        401,
        /invalid-signature$/,
      ],
      ["an unknown client", requestJwt({}).then(() => unknownClientJwt()), 401, /unknown-client$/],
    ];
    for (const [name, pending, status, type] of refusals) {
      const answer = await post(await pending);
      assert.equal(answer.status, status, `${name}: ${await answer.clone().text()}`);
      assert.match(answer.headers.get("content-type") ?? "", /^application\/problem\+json/, name);
      assert.match(((await answer.json()) as { type: string }).type, type, name);
    }
    assert.equal(await signatureRows(), before, "no refused request was kept");
  });

  await t.test("a presence check at AAL2 signs nothing", async () => {
    // The same credential recorded as a synced passkey (AAL2): it proves who, not enough to sign.
    await db
      .updateTable("webauthn_credentials")
      .set({ method: "PASSKEY_SYNCED" })
      .where("uuid", "=", holder)
      .execute();
    const answer = await post(await requestJwt({ payloads: items.slice(0, 3) }));
    const { token: aal2Token, redirectUri: aal2Redirect } = (await answer.json()) as {
      token: string;
      redirectUri: string;
    };
    const page = await new Browser().get(aal2Redirect);
    assert.equal(page.status, 403, "no AAL3 authenticator to offer");
    assert.match(await page.text(), /no AAL3 authenticator/);
    const options = await db
      .selectFrom("webauthn_credentials")
      .select("credential_id")
      .where("uuid", "=", holder)
      .execute();
    assert.equal(options.length, 1);
    // Even a ceremony over the AAL2 credential (offered by a page made before the change) is refused.
    await db
      .updateTable("webauthn_credentials")
      .set({ method: "FIDO2" })
      .where("uuid", "=", holder)
      .execute();
    const browser = new Browser();
    const html = await (await browser.get(aal2Redirect)).text();
    await db
      .updateTable("webauthn_credentials")
      .set({ method: "PASSKEY_SYNCED" })
      .where("uuid", "=", holder)
      .execute();
    const refused = await browser.post(aal2Redirect, { response: key.assert(html, server.origin) });
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /needs an AAL3 authenticator/);
    assert.equal(
      (await fetch(`${server.origin}/signatureresponse/${aal2Token}`)).status,
      202,
      "still unsigned",
    );
    await db
      .updateTable("webauthn_credentials")
      .set({ method: "FIDO2" })
      .where("uuid", "=", holder)
      .execute();
  });

  await t.test("signatures said to come from a smartcard are checked before they are kept", async () => {
    const answer = await post(await requestJwt({ payloads: items.slice(0, 2) }));
    const { token: cardToken } = (await answer.json()) as { token: string };
    const returned = (body: unknown) =>
      fetch(`${server.origin}/signing/${cardToken}/card`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const refusals: Array<[string, unknown, RegExp]> = [
      ["not a certificate", { signatures: ["AA==", "AA=="], certificate: "bm90" }, /not a certificate/],
      [
        "the remote key's certificate, not a card's",
        { signatures: signatures.slice(0, 2).map((one) => one.signature), certificate },
        /not a smartcard's signing certificate/,
      ],
    ];
    for (const [name, body, message] of refusals) {
      const refused = await returned(body);
      assert.equal(refused.status, 400, name);
      assert.match(((await refused.json()) as { detail: string }).detail, message, name);
    }
    assert.equal(
      (await fetch(`${server.origin}/signatureresponse/${cardToken}`)).status,
      202,
      "nothing kept",
    );
  });

  await t.test("closing the profile revokes the signing certificate", async () => {
    const closed = await closeProfile(db, operatorActor(), {
      uuid: holder,
      reason: "Left the practice",
      direct: true,
    });
    assert.equal(closed.outcome, "done");
    const verdict = await verifyPrescription(signed[0] as string, trust);
    assert.deepEqual(
      verdict.checks.filter((check) => !check.passed).map((check) => check.check),
      ["certificate-not-revoked"],
    );
    const refused = await post(await requestJwt({ payloads: items.slice(0, 1) }));
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { type: string }).type, /unknown-subject$/);
  });

  async function unknownClientJwt() {
    return new SignJWT({ payloads: items.slice(0, 1) })
      .setProtectedHeader({ alg: "RS512" })
      .setIssuer("999999999999.apps.unknown")
      .setSubject(holder)
      .setExpirationTime("5m")
      .sign(privateKey);
  }
});
