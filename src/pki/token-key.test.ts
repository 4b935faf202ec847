import assert from "node:assert/strict";
import { test } from "node:test";
import {
  csrFor,
  openssl,
  pemFolder,
  servePki,
  softwareCardKeys,
  testActor,
  testPerson,
  testSealer,
} from "../../test/support/pki.ts";
import { leftOut, softHsmModule } from "../../test/support/prerequisites.ts";
import { testStore } from "../../test/support/test-store.ts";
import { pkcs11Tool, softHsmServiceToken } from "../../test/support/tokens.ts";
import { inTransaction } from "../store/database.ts";
import { openCertificateAuthority } from "./certificate-authority.ts";
import { serialKey, x509 } from "./engine.ts";
import { issueCardCertificate } from "./issue.ts";
import { revokeCertificates } from "./revocation.ts";

test("an issuing CA key held in a PKCS#11 token signs certificates, the CRL and OCSP", async (t) => {
  if (leftOut(t, "smartcard")) return;
  const { settings: token, environment } = softHsmServiceToken(t, "careid-ca", "246810");
  const store = await testStore(t);
  const authority = await openCertificateAuthority(store.db, testSealer, "http://pki.test", testActor, token);

  const row = await store.db
    .selectFrom("pki_authorities")
    .selectAll()
    .where("name", "=", "issuing")
    .executeTakeFirstOrThrow();
  assert.equal(row.sealed_private_key, "pkcs11:careid-issuing-ca");
  const objects = pkcs11Tool(softHsmModule, environment, ["--login", "--pin", "246810", "--list-objects"]);
  assert.match(
    objects,
    /Private Key Object; EC[\s\S]*label:\s+careid-issuing-ca[\s\S]*Access:\s+sensitive, always sensitive, never extractable/,
  );

  const holder = await testPerson(store);
  const csr = new x509.Pkcs10CertificateRequest(await csrFor(await softwareCardKeys()));
  const card = await inTransaction(store.db, (tx) =>
    issueCardCertificate(tx, authority, {
      profile: "card-authentication",
      holder,
      cardSerial: "HSM0001",
      publicKey: csr.publicKey,
      lifetimeDays: 730,
    }),
  );
  const files = pemFolder(t);
  const root = files.write("root.pem", authority.root.rawData);
  const issuing = files.write("issuing.pem", authority.issuing.rawData);
  const cardFile = files.write("card.pem", card.rawData);
  const verified = await openssl(["verify", "-CAfile", root, "-untrusted", issuing, cardFile]);
  assert.equal(verified.status, 0, verified.output);

  // A second start finds the key in the token again, and signs with it.
  const reopened = await openCertificateAuthority(store.db, testSealer, "http://pki.test", testActor, token);
  const base = await servePki(t, store, reopened);
  await inTransaction(store.db, (tx) =>
    revokeCertificates(tx, [serialKey(card.serialNumber)], "keyCompromise"),
  );
  const answer = await openssl([
    "ocsp",
    "-issuer",
    issuing,
    "-cert",
    cardFile,
    "-url",
    `${base}/pki/ocsp`,
    "-CAfile",
    root,
  ]);
  assert.match(answer.output, /Response verify OK/);
  assert.match(answer.output, /card.pem: revoked/);
  const crl = files.writeRaw("issuing.crl", await (await fetch(`${base}/pki/issuing.crl`)).bytes());
  const crlChecked = await openssl(["crl", "-inform", "DER", "-in", crl, "-CAfile", issuing, "-noout"]);
  assert.match(crlChecked.output, /verify OK/);

  await assert.rejects(
    openCertificateAuthority(store.db, testSealer, "http://pki.test", testActor),
    /held in a PKCS#11 token: set CAREID_CA_PKCS11_MODULE/,
  );
  await assert.rejects(
    openCertificateAuthority(store.db, testSealer, "http://pki.test", testActor, {
      ...token,
      tokenLabel: "no-such",
    }),
    /No PKCS#11 token labelled "no-such"/,
  );
});
