import { createPrivateKey, type KeyObject } from "node:crypto";
import { SignedXml } from "xml-crypto";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import type { CertificateAuthority } from "../pki/certificate-authority.ts";
import { caSigningAlgorithm, serialKey, webcrypto, x509 } from "../pki/engine.ts";
import { nextSerial } from "../pki/issue.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { inTransaction, type Queryable } from "../store/database.ts";

/**
 * Signs role assertions with XML-DSig (enveloped, exclusive c14n, RSA-SHA256), by an RSA key our
 * issuing CA certifies: an integrator trusts our root and finds the chain in the signature's
 * KeyInfo. RSA, not the CA's ECDSA, because the SAML 1.1 libraries legacy systems use verify
 * RSA-SHA256 and often nothing else. The key is made by the first node that needs it and kept
 * sealed; a new one is made when the certificate comes within a month of its end.
 */
export type AssertionSigner = {
  sign(responseXml: string): string;
  /** The signing certificate then the issuing CA's, PEM. */
  chainPem: string;
};

const keyName = "role-assertion";
const subject = "CN=CIS1 Role Assertions, O=Care Identity Service";
const lifetimeDays = 730;
const renewBeforeDays = 30;
const rsa = {
  name: "RSASSA-PKCS1-v1_5",
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: "SHA-256",
} as const;

export async function openAssertionSigner(
  queryable: Queryable,
  sealer: Sealer,
  authority: CertificateAuthority,
  actor: Actor,
  now = new Date(),
): Promise<AssertionSigner> {
  const stored = await readKey(queryable, sealer);
  const renewFrom = new Date(now.getTime() + renewBeforeDays * 86_400_000);
  const key =
    stored && stored.certificate.notAfter > renewFrom
      ? stored
      : await createKey(queryable, sealer, authority, actor, stored?.serial, now);
  const chainPem = `${key.certificate.toString("pem")}\n${authority.issuing.toString("pem")}\n`;
  return { sign: (xml) => signAssertion(xml, key.privateKey, chainPem), chainPem };
}

function signAssertion(xml: string, privateKey: KeyObject, chainPem: string): string {
  const assertion =
    "//*[local-name(.)='Assertion' and namespace-uri(.)='urn:oasis:names:tc:SAML:1.0:assertion']";
  const signer = new SignedXml({
    privateKey: privateKey.export({ format: "pem", type: "pkcs8" }),
    publicCert: chainPem,
    signatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
    idAttribute: "AssertionID",
  });
  signer.addReference({
    xpath: assertion,
    digestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
    transforms: [
      "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
      "http://www.w3.org/2001/10/xml-exc-c14n#",
    ],
  });
  // The assertion schema puts ds:Signature last, after the statements.
  signer.computeSignature(xml, { prefix: "ds", location: { reference: assertion, action: "append" } });
  return signer.getSignedXml();
}

type StoredKey = { serial: string; certificate: x509.X509Certificate; privateKey: KeyObject };

async function readKey(queryable: Queryable, sealer: Sealer): Promise<StoredKey | undefined> {
  const row = await queryable
    .selectFrom("cis1_signing_keys as k")
    .innerJoin("pki_certificates as c", "c.serial", "k.certificate_serial")
    .select(["k.certificate_serial", "k.sealed_private_key", "c.certificate"])
    .where("k.name", "=", keyName)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    serial: row.certificate_serial,
    certificate: new x509.X509Certificate(row.certificate),
    privateKey: createPrivateKey({
      key: Buffer.from(sealer.open(row.sealed_private_key), "base64"),
      format: "der",
      type: "pkcs8",
    }),
  };
}

/** Certifies a new key and stores it, unless another node replaced `replacing` first: then theirs is used. */
async function createKey(
  queryable: Queryable,
  sealer: Sealer,
  authority: CertificateAuthority,
  actor: Actor,
  replacing: string | undefined,
  now: Date,
): Promise<StoredKey> {
  const keys = (await webcrypto.subtle.generateKey(rsa, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const won = await inTransaction(queryable, async (tx) => {
    const current = await tx
      .selectFrom("cis1_signing_keys")
      .select("certificate_serial")
      .where("name", "=", keyName)
      .forUpdate()
      .executeTakeFirst();
    if (current?.certificate_serial !== replacing) return false;
    const certificate = await x509.X509CertificateGenerator.create(
      {
        serialNumber: await nextSerial(tx),
        subject,
        issuer: authority.issuing.subjectName,
        notBefore: new Date(now.getTime() - 60_000),
        notAfter: new Date(now.getTime() + lifetimeDays * 86_400_000),
        signingAlgorithm: caSigningAlgorithm,
        publicKey: keys.publicKey,
        signingKey: authority.issuingKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
          await x509.AuthorityKeyIdentifierExtension.create(authority.issuing.publicKey),
          new x509.CRLDistributionPointsExtension([authority.publication.crl]),
          new x509.AuthorityInfoAccessExtension({
            ocsp: authority.publication.ocsp,
            caIssuers: authority.publication.issuingCertificate,
          }),
        ],
      },
      authority.crypto,
    );
    const serial = serialKey(certificate.serialNumber);
    await tx
      .insertInto("pki_certificates")
      .values({
        serial,
        profile: "assertion-signing",
        holder: null,
        card_serial: null,
        certificate: new Uint8Array(certificate.rawData),
        not_before: certificate.notBefore,
        not_after: certificate.notAfter,
      })
      .execute();
    const sealed = sealer.seal(pkcs8.toString("base64"));
    await tx
      .insertInto("cis1_signing_keys")
      .values({ name: keyName, certificate_serial: serial, sealed_private_key: sealed })
      .onConflict((conflict) =>
        conflict.column("name").doUpdateSet({ certificate_serial: serial, sealed_private_key: sealed }),
      )
      .execute();
    await recordEvent(tx, actor, {
      action: "cis1.signing-key-created",
      subject: { type: "certificate", id: serial },
      after: { subject, notAfter: certificate.notAfter, replaces: replacing ?? null },
    });
    return true;
  });
  const stored = await readKey(queryable, sealer);
  if (!stored) throw new Error(`the role assertion signing key could not be ${won ? "stored" : "read"}`);
  return stored;
}
