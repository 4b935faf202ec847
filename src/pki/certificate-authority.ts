import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import {
  type CryptoKey,
  type CryptoKeyPair,
  caKeyAlgorithm,
  caSigningAlgorithm,
  webcrypto,
  x509,
} from "./engine.ts";

/**
 * The certificate authority: a root that signs only the issuing CA, and the issuing CA that
 * signs card certificates, CRLs and OCSP answers. Both are made on first start; their private
 * keys are kept sealed under the master key (a PKCS#11-held CA key is a follow-up).
 */
export type CertificateAuthority = {
  root: x509.X509Certificate;
  issuing: x509.X509Certificate;
  issuingKey: CryptoKey;
  publication: Publication;
};

/** Where the CA publishes; issued certificates name these URLs. */
export type Publication = { crl: string; ocsp: string; issuingCertificate: string; rootCertificate: string };

export function publicationAt(baseUrl: string): Publication {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    crl: `${base}/pki/issuing.crl`,
    ocsp: `${base}/pki/ocsp`,
    issuingCertificate: `${base}/pki/issuing.crt`,
    rootCertificate: `${base}/pki/root.crt`,
  };
}

const rootName = "CN=Care Identity Service Root CA, O=Care Identity Service";
const issuingName = "CN=Care Identity Service Issuing CA 1, O=Care Identity Service";
const rootYears = 20;
const issuingYears = 10;

export async function openCertificateAuthority(
  queryable: Queryable,
  sealer: Sealer,
  baseUrl: string,
  actor: Actor,
): Promise<CertificateAuthority> {
  const publication = publicationAt(baseUrl);
  const stored = await readAuthority(queryable, sealer, publication);
  if (stored) return stored;
  const created = await createAuthorities(publication);
  const sealedKeys = {
    root: await sealKey(sealer, created.rootKeys.privateKey),
    issuing: await sealKey(sealer, created.issuingKey),
  };
  await inTransaction(queryable, async (tx) => {
    // A node starting at the same moment may have won: its rows stand, these are dropped.
    const inserted = await tx
      .insertInto("pki_authorities")
      .values([
        {
          name: "root",
          certificate: new Uint8Array(created.root.rawData),
          sealed_private_key: sealedKeys.root,
        },
        {
          name: "issuing",
          certificate: new Uint8Array(created.issuing.rawData),
          sealed_private_key: sealedKeys.issuing,
        },
      ])
      .onConflict((conflict) => conflict.column("name").doNothing())
      .returning("name")
      .execute();
    if (inserted.length > 0)
      await recordEvent(tx, actor, {
        action: "pki.authority-created",
        subject: { type: "certificate-authority", id: "issuing" },
        after: {
          root: created.root.subject,
          issuing: created.issuing.subject,
          notAfter: created.issuing.notAfter,
        },
      });
  });
  const authority = await readAuthority(queryable, sealer, publication);
  if (!authority) throw new Error("the certificate authority could not be created");
  return authority;
}

async function readAuthority(
  queryable: Queryable,
  sealer: Sealer,
  publication: Publication,
): Promise<CertificateAuthority | undefined> {
  const rows = await queryable.selectFrom("pki_authorities").selectAll().execute();
  const root = rows.find((row) => row.name === "root");
  const issuing = rows.find((row) => row.name === "issuing");
  if (!root || !issuing) return undefined;
  const pkcs8 = Buffer.from(sealer.open(issuing.sealed_private_key), "base64");
  return {
    root: new x509.X509Certificate(root.certificate),
    issuing: new x509.X509Certificate(issuing.certificate),
    issuingKey: await webcrypto.subtle.importKey("pkcs8", pkcs8, caKeyAlgorithm, false, ["sign"]),
    publication,
  };
}

async function sealKey(sealer: Sealer, key: CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", key);
  return sealer.seal(Buffer.from(pkcs8).toString("base64"));
}

async function createAuthorities(publication: Publication) {
  const generate = () =>
    webcrypto.subtle.generateKey(caKeyAlgorithm, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
  const rootKeys = await generate();
  const issuingKeys = await generate();
  const now = new Date();
  const yearsFrom = (years: number) => new Date(now.getTime() + years * 365.25 * 86_400_000);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: rootName,
    notBefore: now,
    notAfter: yearsFrom(rootYears),
    signingAlgorithm: caSigningAlgorithm,
    keys: rootKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const issuing = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: issuingName,
    issuer: root.subject,
    notBefore: now,
    notAfter: yearsFrom(issuingYears),
    signingAlgorithm: caSigningAlgorithm,
    publicKey: issuingKeys.publicKey,
    signingKey: rootKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      // digitalSignature: the issuing CA signs OCSP answers itself, with no delegated responder.
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(issuingKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
      new x509.AuthorityInfoAccessExtension({ caIssuers: publication.rootCertificate }),
    ],
  });
  // The root key is kept sealed but never loaded: making a new issuing CA is a ceremony of its own.
  return { root, issuing, issuingKey: issuingKeys.privateKey, rootKeys };
}
