import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  csrFor,
  openssl,
  pemFolder,
  servePki,
  softwareCardKeys,
  testAuthority,
  testPerson,
} from "../../test/support/pki.ts";
import { testStore } from "../../test/support/test-store.ts";
import { inTransaction } from "../store/database.ts";
import { serialKey, x509 } from "./engine.ts";
import { issueCardCertificate } from "./issue.ts";
import { revokeCertificates } from "./revocation.ts";

test("openssl accepts the chain, the CRL and the OCSP answers, before and after revocation", async (t) => {
  const store = await testStore(t);
  const authority = await testAuthority(store);
  const holder = await testPerson(store);
  const keys = await softwareCardKeys("rsa");
  const csr = new x509.Pkcs10CertificateRequest(await csrFor(keys));
  const issue = (profile: "card-authentication" | "card-signing") =>
    inTransaction(store.db, (tx) =>
      issueCardCertificate(tx, authority, {
        profile,
        holder,
        cardSerial: "CARD0001",
        publicKey: csr.publicKey,
        lifetimeDays: 1095,
      }),
    );
  const authentication = await issue("card-authentication");
  const signing = await issue("card-signing");
  const base = await servePki(t, store, authority);
  const files = pemFolder(t);
  const root = files.write("root.pem", await (await fetch(`${base}/pki/root.crt`)).bytes());
  const issuing = files.write("issuing.pem", await (await fetch(`${base}/pki/issuing.crt`)).bytes());
  const card = files.write("card.pem", authentication.rawData);

  await t.test("the chain verifies for client authentication", async () => {
    const verified = await openssl([
      "verify",
      "-CAfile",
      root,
      "-untrusted",
      issuing,
      "-purpose",
      "sslclient",
      card,
    ]);
    assert.equal(verified.status, 0, verified.output);
    assert.match(verified.output, /OK/);
  });

  await t.test("the certificates say who and what they are for", async () => {
    const text = (await openssl(["x509", "-in", card, "-noout", "-text"])).output;
    assert.match(text, new RegExp(`CN\\s*=\\s*${holder}`));
    assert.match(text, new RegExp(`URI:urn:careid:uuid:${holder}`));
    assert.match(text, /TLS Web Client Authentication/);
    assert.match(text, /URI:http:\/\/pki.test\/pki\/issuing.crl/);
    assert.match(text, /OCSP - URI:http:\/\/pki.test\/pki\/ocsp/);
    const signingText = await openssl([
      "x509",
      "-in",
      files.write("signing.pem", signing.rawData),
      "-noout",
      "-text",
    ]);
    assert.match(signingText.output, /Non Repudiation/);
    assert.doesNotMatch(signingText.output, /Client Authentication/);
    const years =
      (authentication.notAfter.getTime() - authentication.notBefore.getTime()) / (365 * 86_400_000);
    assert.ok(years > 2.9 && years < 3.1, `lifetime ${years} years`);
  });

  await t.test("serial numbers come from the sequence, each once", () => {
    assert.notEqual(serialKey(authentication.serialNumber), serialKey(signing.serialNumber));
    assert.equal(BigInt(`0x${signing.serialNumber}`) - BigInt(`0x${authentication.serialNumber}`), 1n);
  });

  const ocsp = (extra: string[] = []) =>
    openssl([
      "ocsp",
      "-issuer",
      issuing,
      "-cert",
      card,
      "-url",
      `${base}/pki/ocsp`,
      "-CAfile",
      root,
      ...extra,
    ]);
  const crlFile = async (name: string) => {
    const response = await fetch(`${base}/pki/issuing.crl`);
    assert.equal(response.headers.get("content-type"), "application/pkix-crl");
    return files.writeRaw(name, await response.bytes());
  };

  await t.test("before revocation: OCSP says good, the CRL lists nothing", async () => {
    const answer = await ocsp();
    assert.equal(answer.status, 0, answer.output);
    assert.match(answer.output, /Response verify OK/);
    assert.match(answer.output, /card.pem: good/);
    const crl = await openssl([
      "crl",
      "-inform",
      "DER",
      "-in",
      await crlFile("before.crl"),
      "-CAfile",
      issuing,
      "-noout",
    ]);
    assert.equal(crl.status, 0, crl.output);
    assert.match(crl.output, /verify OK/);
  });

  await inTransaction(store.db, (tx) =>
    revokeCertificates(tx, [serialKey(authentication.serialNumber)], "keyCompromise"),
  );

  await t.test("after revocation: OCSP says revoked, the CRL lists it", async () => {
    const answer = await ocsp();
    assert.equal(answer.status, 0, answer.output);
    assert.match(answer.output, /Response verify OK/);
    assert.match(answer.output, /card.pem: revoked/);
    assert.match(answer.output, /Reason: keyCompromise/);
    const crlPath = await crlFile("after.crl");
    const crl = await openssl([
      "crl",
      "-inform",
      "DER",
      "-in",
      crlPath,
      "-CAfile",
      issuing,
      "-noout",
      "-text",
    ]);
    assert.equal(crl.status, 0, crl.output);
    assert.match(crl.output, /verify OK/);
    assert.match(crl.output, new RegExp(`Serial Number: 0*${serialKey(authentication.serialNumber)}`, "i"));
    assert.match(crl.output, /Key Compromise/);
    assert.match(crl.output, /X509v3 CRL Number/);
    const crlCheck = await openssl([
      "verify",
      "-crl_check",
      "-CAfile",
      root,
      "-untrusted",
      issuing,
      "-CRLfile",
      files.write("after-crl.pem", readFileSync(crlPath), "X509 CRL"),
      card,
    ]);
    assert.notEqual(crlCheck.status, 0);
    assert.match(crlCheck.output, /certificate revoked/);
  });

  await t.test("the GET form answers the same", async () => {
    const request = files.writeRaw("request.der", new Uint8Array());
    const made = await openssl(["ocsp", "-issuer", issuing, "-cert", card, "-no_nonce", "-reqout", request]);
    assert.equal(made.status, 0, made.output);
    const der = readFileSync(request);
    const response = await fetch(`${base}/pki/ocsp/${encodeURIComponent(der.toString("base64"))}`);
    assert.equal(response.headers.get("content-type"), "application/ocsp-response");
    const answer = files.writeRaw("response.der", await response.bytes());
    const read = await openssl([
      "ocsp",
      "-respin",
      answer,
      "-issuer",
      issuing,
      "-cert",
      card,
      "-CAfile",
      root,
    ]);
    assert.match(read.output, /card.pem: revoked/);
  });

  await t.test("a malformed request gets malformedRequest", async () => {
    const response = await fetch(`${base}/pki/ocsp`, {
      method: "POST",
      headers: { "content-type": "application/ocsp-request" },
      body: new Uint8Array([0x30, 0x03, 0x02, 0x01]),
    });
    const answer = files.writeRaw("malformed.der", await response.bytes());
    const read = await openssl(["ocsp", "-respin", answer, "-resp_text", "-noverify"]);
    assert.match(read.output, /malformedrequest/i);
  });

  await t.test("a request about another CA's certificate gets unauthorized", async () => {
    // The root issued the issuing CA: this responder answers only for the issuing CA.
    const answer = await openssl([
      "ocsp",
      "-issuer",
      root,
      "-cert",
      issuing,
      "-url",
      `${base}/pki/ocsp`,
      "-noverify",
    ]);
    assert.match(answer.output, /unauthorized/i);
  });
});
