import assert from "node:assert/strict";
import { createSign, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { operatorActor } from "../../src/audit/actor.ts";
import { withAuditKey } from "../../src/audit/chain-key.ts";
import { createPerson } from "../../src/people/people.ts";
import { openCertificateAuthority } from "../../src/pki/certificate-authority.ts";
import { crlPublisher } from "../../src/pki/crl.ts";
import { x509 } from "../../src/pki/engine.ts";
import { issueCardCertificate } from "../../src/pki/issue.ts";
import { sealerFor } from "../../src/secrets/sealed.ts";
import { prepareSignature, signedPrescription } from "../../src/signing/signature.ts";
import { inTransaction, openStore } from "../../src/store/database.ts";
import { migrate } from "../../src/store/migrate.ts";
import { freePort } from "../support/cis2-server.ts";
import { runProgram } from "../support/pki.ts";
import { editPrescription, prescriptionAt, samplePrescriptions } from "../support/prescriptions.ts";

const main = new URL("../../src/main.ts", import.meta.url).pathname;
const masterKey = Buffer.alloc(32, 0x3c);

test("careid signing verify: one line per check, exit 0 when all pass, 1 naming the failure, 2 without a file", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "careid-signing-cli-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  // The CA's publication as a relying party finds it: OCSP down, the CRL (made by our CA) served.
  let crl: Uint8Array = new Uint8Array();
  const publication = createServer((request, response) => {
    if (request.url === "/pki/issuing.crl")
      response.writeHead(200, { "content-type": "application/pkix-crl" }).end(Buffer.from(crl));
    else response.writeHead(503).end();
  });
  const port = await freePort();
  await new Promise<void>((resolve) => publication.listen(port, "127.0.0.1", resolve));
  t.after(() => publication.close());

  const store = withAuditKey(await openStore({ dataDir, purpose: "test" }), masterKey);
  await migrate(store);
  const authority = await openCertificateAuthority(
    store.db,
    sealerFor(masterKey),
    `http://127.0.0.1:${port}`,
    operatorActor(),
  );
  const person = await createPerson(store.db, operatorActor(), {
    givenName: "Amelia",
    familyName: "Hartley",
  });
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const certificate = await inTransaction(store.db, (tx) =>
    issueCardCertificate(tx, authority, {
      profile: "card-signing",
      holder: person.uuid,
      cardSerial: "CLI-SIGN-1",
      publicKey: new x509.PublicKey(new Uint8Array(keys.publicKey.export({ type: "spki", format: "der" }))),
      lifetimeDays: 30,
    }),
  );
  crl = await crlPublisher(store.db, authority)();
  await store.close();

  const prescription = prescriptionAt(samplePrescriptions.repeat);
  const { signedInfo } = prepareSignature(prescription);
  const signed = signedPrescription(
    prescription,
    signedInfo,
    createSign("sha256").update(signedInfo).sign(keys.privateKey),
    new Uint8Array(certificate.rawData),
  );
  const good = join(dataDir, "good.xml");
  writeFileSync(good, signed);
  const tampered = join(dataDir, "tampered.xml");
  writeFileSync(
    tampered,
    editPrescription(signed, "//hl7:recordTarget//hl7:family", (family) => {
      family.textContent = "Someone Else";
    }),
  );
  const careid = (args: string[]) =>
    runProgram(process.execPath, [main, ...args], {
      DATABASE_URL: "",
      LOG_LEVEL: "warn",
      CAREID_DATA_DIR: dataDir,
      CAREID_MASTER_KEY: masterKey.toString("hex"),
    });

  const accepted = await careid(["signing", "verify", "--file", good]);
  assert.equal(accepted.status, 0, accepted.output);
  assert.equal(accepted.output.match(/^pass {2}/gm)?.length, 9, accepted.output);
  assert.match(accepted.output, /certificate-not-revoked\s+not revoked \(CRL\)/);
  assert.match(accepted.output, new RegExp(`Valid: signed by CN=${person.uuid}`));

  const refused = await careid(["signing", "verify", "--file", tampered]);
  assert.equal(refused.status, 1, refused.output);
  assert.match(refused.output, /^FAIL {2}digest-matches\s+the DigestValue does not match/m);
  assert.match(refused.output, /Invalid: the signature is refused/);

  const missing = await careid(["signing", "verify"]);
  assert.equal(missing.status, 2);
  assert.match(missing.output, /--file: is required/);
});
