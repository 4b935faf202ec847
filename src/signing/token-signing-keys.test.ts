import assert from "node:assert/strict";
import { verify } from "node:crypto";
import { test } from "node:test";
import {
  openssl,
  pemFolder,
  servePki,
  testActor,
  testAuthority,
  testPerson,
  testSealer,
} from "../../test/support/pki.ts";
import { leftOut, softHsmModule } from "../../test/support/prerequisites.ts";
import {
  jdkVerifiesPrescriptions,
  prescriptionAt,
  samplePrescriptions,
} from "../../test/support/prescriptions.ts";
import { testStore } from "../../test/support/test-store.ts";
import { pkcs11Tool, softHsmServiceToken } from "../../test/support/tokens.ts";
import { loadConfig } from "../config.ts";
import { openCertificateAuthority } from "../pki/certificate-authority.ts";
import { onlineCertificateStatus } from "../pki/certificate-status.ts";
import { x509 } from "../pki/engine.ts";
import { inTransaction } from "../store/database.ts";
import { remoteSigningKeyOf, revokeRemoteSigningKeysOf } from "./remote-keys.ts";
import { prepareSignature, signedPrescription } from "./signature.ts";
import { openSigningToken } from "./token-signing-keys.ts";
import { verifyPrescription } from "./verifier.ts";

test("remote signing keys held in a PKCS#11 token (SoftHSM2): made there, never extractable, their prescriptions accepted by the verifier, the JDK and openssl", async (t) => {
  if (leftOut(t, "smartcard")) return;
  const pin = "135790";
  const hsm = softHsmServiceToken(t, "careid-signing", pin);
  // Chosen by configuration: the three settings together, or none.
  const settings = {
    CAREID_SIGNING_PKCS11_MODULE: softHsmModule,
    CAREID_SIGNING_PKCS11_TOKEN: "careid-signing",
    CAREID_SIGNING_PKCS11_PIN: pin,
  };
  const configured = loadConfig(settings).signingToken;
  assert.deepEqual(configured, hsm.settings);
  assert.throws(
    () => loadConfig({ CAREID_SIGNING_PKCS11_MODULE: softHsmModule }),
    /CAREID_SIGNING_PKCS11_MODULE, CAREID_SIGNING_PKCS11_TOKEN and CAREID_SIGNING_PKCS11_PIN must be set together/,
  );
  const token = openSigningToken(configured as NonNullable<typeof configured>);
  t.after(() => token.close());

  const store = await testStore(t);
  const base = await servePki(t, store, await testAuthority(store));
  const authority = await openCertificateAuthority(store.db, testSealer, base, testActor);
  const trust = {
    roots: [authority.root],
    issuers: [authority.issuing],
    certificateStatus: onlineCertificateStatus(),
  };
  const inToken = { authority, sealer: testSealer, lifetimeDays: 30, token };
  const sealed = { authority, sealer: testSealer, lifetimeDays: 30 };
  const holder = await testPerson(store, "Hartley");
  const key = await remoteSigningKeyOf(store.db, testActor, inToken, holder);

  const row = await store.db
    .selectFrom("remote_signing_keys")
    .select(["sealed_private_key", "token_key_label"])
    .where("holder", "=", holder)
    .executeTakeFirstOrThrow();
  assert.equal(row.sealed_private_key, null, "nothing of the key in the database");
  assert.match(row.token_key_label ?? "", /^careid-signing-[0-9a-f]{24}$/);
  const objects = pkcs11Tool(softHsmModule, hsm.environment, ["--login", "--pin", pin, "--list-objects"]);
  assert.match(
    objects,
    new RegExp(
      `Private Key Object; RSA\\s+label:\\s+${row.token_key_label}\\s+Usage:\\s+sign\\s+Access:\\s+sensitive, always sensitive, never extractable`,
    ),
  );

  /** The sample prescriptions signed by `signingKey` through the token, as the service signs them. */
  function signWith(signingKey: typeof key): string[] {
    const prescriptions = [samplePrescriptions.repeat, samplePrescriptions.acute].map((xml) =>
      prescriptionAt(xml),
    );
    const prepared = prescriptions.map((xml) => prepareSignature(xml));
    const values = signingKey.sign(prepared.map((each) => Buffer.from(each.signedInfo, "utf8")));
    return prescriptions.map((xml, index) =>
      signedPrescription(
        xml,
        prepared[index]?.signedInfo as string,
        values[index] as Buffer,
        signingKey.certificate,
      ),
    );
  }

  await t.test(
    "prescriptions signed in the token pass the nine checks, the JDK's XML-DSig and openssl",
    async () => {
      const signed = signWith(key);
      for (const prescription of signed) {
        const verdict = await verifyPrescription(prescription, trust);
        assert.ok(verdict.valid, JSON.stringify(verdict.checks.filter((check) => !check.passed)));
      }
      const independent = await jdkVerifiesPrescriptions(t, signed, authority.root.rawData, [
        authority.issuing.rawData,
      ]);
      assert.equal(independent.status, 0, independent.output);
      const files = pemFolder(t);
      const certificateFile = files.write("remote.pem", key.certificate);
      const signedInfo = Buffer.from(prepareSignature(samplePrescriptions.acute).signedInfo, "utf8");
      const verified = await openssl([
        "dgst",
        "-sha256",
        "-verify",
        files.writeRaw(
          "key.pem",
          (await openssl(["x509", "-in", certificateFile, "-noout", "-pubkey"])).output,
        ),
        "-signature",
        files.writeRaw("signature.bin", key.sign([signedInfo])[0] as Buffer),
        files.writeRaw("signed-info.xml", signedInfo),
      ]);
      assert.match(verified.output, /Verified OK/);
    },
  );

  await t.test("the next request finds the same key in the token", async () => {
    const again = await remoteSigningKeyOf(store.db, testActor, inToken, holder);
    assert.equal(again.serial, key.serial);
    const payload = Buffer.from("<SignedInfo/>");
    const publicKey = new x509.X509Certificate(again.certificate).publicKey.rawData;
    assert.ok(
      verify(
        "sha256",
        payload,
        { key: Buffer.from(publicKey), format: "der", type: "spki" },
        again.sign([payload])[0] as Buffer,
      ),
    );
  });

  await t.test(
    "a token-held key without the token configured is refused by name, signing nothing",
    async () => {
      await assert.rejects(
        remoteSigningKeyOf(store.db, testActor, sealed, holder),
        /held in a PKCS#11 token: set CAREID_SIGNING_PKCS11_MODULE/,
      );
    },
  );

  await t.test("a key made for a profile that cannot have one is destroyed again in the token", async () => {
    const privateKeys = () =>
      pkcs11Tool(softHsmModule, hsm.environment, ["--login", "--pin", pin, "--list-objects"]).match(
        /Private Key Object/g,
      )?.length;
    const before = privateKeys();
    await assert.rejects(
      remoteSigningKeyOf(store.db, testActor, inToken, "999999999999"),
      /profile 999999999999 is not active/,
    );
    assert.equal(privateKeys(), before);
  });

  await t.test("a key sealed before the token was configured stays in use until replaced", async () => {
    const earlier = await testPerson(store, "Osei");
    const before = await remoteSigningKeyOf(store.db, testActor, sealed, earlier);
    const after = await remoteSigningKeyOf(store.db, testActor, inToken, earlier);
    assert.equal(after.serial, before.serial);
    const [signed] = signWith(after);
    assert.ok((await verifyPrescription(signed as string, trust)).valid);
  });

  await t.test(
    "closing the profile revokes the certificate; the next key is a new one in the token",
    async () => {
      await inTransaction(store.db, (tx) => revokeRemoteSigningKeysOf(tx, holder));
      const [revoked] = signWith(key);
      const verdict = await verifyPrescription(revoked as string, trust);
      assert.deepEqual(
        verdict.checks.filter((check) => !check.passed).map((check) => check.check),
        ["certificate-not-revoked"],
      );
      const next = await remoteSigningKeyOf(store.db, testActor, inToken, holder);
      assert.notEqual(next.serial, key.serial);
      const labels = await store.db
        .selectFrom("remote_signing_keys")
        .select("token_key_label")
        .where("holder", "=", holder)
        .execute();
      assert.equal(new Set(labels.map((each) => each.token_key_label)).size, 2);
    },
  );
});
