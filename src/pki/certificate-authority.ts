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
import { tokenCrypto } from "./token-crypto.ts";
import { issuingKeyLabel, openTokenKey, type TokenSettings } from "./token-key.ts";

/**
 * The certificate authority: a root that signs only the issuing CA, and the issuing CA that
 * signs card certificates, CRLs and OCSP answers. Both are made on first start; the root key is
 * kept sealed under the master key, and so is the issuing key unless a PKCS#11 token is
 * configured, which then generates and keeps it.
 */
export type CertificateAuthority = {
  root: x509.X509Certificate;
  issuing: x509.X509Certificate;
  issuingKey: CryptoKey;
  /** The WebCrypto that signs with issuingKey: Node's, or one whose signatures a token makes. */
  crypto: typeof webcrypto;
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
  token?: TokenSettings,
): Promise<CertificateAuthority> {
  const publication = publicationAt(baseUrl);
  const stored = await readAuthority(queryable, sealer, publication, token);
  if (stored) return stored;
  const software = token ? undefined : await generateKeys();
  const created = await createAuthorities(
    publication,
    software ? software.publicKey : await tokenPublicKey(token as TokenSettings),
  );
  const sealedKeys = {
    root: await sealKey(sealer, created.rootKeys.privateKey),
    issuing: software ? await sealKey(sealer, software.privateKey) : `${tokenKeyPrefix}${issuingKeyLabel}`,
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
  const authority = await readAuthority(queryable, sealer, publication, token);
  if (!authority) throw new Error("the certificate authority could not be created");
  return authority;
}

async function readAuthority(
  queryable: Queryable,
  sealer: Sealer,
  publication: Publication,
  token: TokenSettings | undefined,
): Promise<CertificateAuthority | undefined> {
  const rows = await queryable.selectFrom("pki_authorities").selectAll().execute();
  const root = rows.find((row) => row.name === "root");
  const issuing = rows.find((row) => row.name === "issuing");
  if (!root || !issuing) return undefined;
  const issuingCertificate = new x509.X509Certificate(issuing.certificate);
  const inToken = issuing.sealed_private_key.startsWith(tokenKeyPrefix);
  if (inToken !== Boolean(token))
    throw new Error(
      inToken
        ? "The issuing CA key is held in a PKCS#11 token: set CAREID_CA_PKCS11_MODULE, CAREID_CA_PKCS11_TOKEN and CAREID_CA_PKCS11_PIN"
        : "The issuing CA key is sealed in the database, not in the configured PKCS#11 token: unset CAREID_CA_PKCS11_MODULE",
    );
  const signer = token
    ? await tokenSigner(token, issuingCertificate)
    : await sealedSigner(sealer, issuing.sealed_private_key);
  return {
    root: new x509.X509Certificate(root.certificate),
    issuing: issuingCertificate,
    ...signer,
    publication,
  };
}

const tokenKeyPrefix = "pkcs11:";

async function sealedSigner(sealer: Sealer, sealed: string) {
  const pkcs8 = Buffer.from(sealer.open(sealed), "base64");
  const issuingKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, caKeyAlgorithm, false, ["sign"]);
  return { issuingKey, crypto: webcrypto };
}

async function tokenSigner(token: TokenSettings, issuing: x509.X509Certificate) {
  const key = openTokenKey(token, false);
  if (!key.publicKeySpki.equals(Buffer.from(issuing.publicKey.rawData))) {
    key.close();
    throw new Error(`The key ${issuingKeyLabel} in token "${token.tokenLabel}" is not the issuing CA's key`);
  }
  const { crypto, privateKey } = tokenCrypto(key);
  return { issuingKey: privateKey, crypto };
}

function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(caKeyAlgorithm, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

/** A new issuing key made in the token (or one made there before); only its public half comes out. */
async function tokenPublicKey(token: TokenSettings): Promise<CryptoKey> {
  const key = openTokenKey(token, true);
  key.close();
  return webcrypto.subtle.importKey("spki", key.publicKeySpki, caKeyAlgorithm, true, ["verify"]);
}

async function sealKey(sealer: Sealer, key: CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", key);
  return sealer.seal(Buffer.from(pkcs8).toString("base64"));
}

async function createAuthorities(publication: Publication, issuingPublicKey: CryptoKey) {
  const rootKeys = await generateKeys();
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
    publicKey: issuingPublicKey,
    signingKey: rootKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      // digitalSignature: the issuing CA signs OCSP answers itself, with no delegated responder.
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(issuingPublicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
      new x509.AuthorityInfoAccessExtension({ caIssuers: publication.rootCertificate }),
    ],
  });
  // The root key is kept sealed but never loaded: making a new issuing CA is a ceremony of its own.
  return { root, issuing, rootKeys };
}
