// @peculiar/x509 needs a Reflect polyfill loaded first; reflect-metadata comes with @simplewebauthn/server.
import "reflect-metadata";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { CompactSign } from "jose";

type CryptoKeyPair = { publicKey: CryptoKey; privateKey: CryptoKey };
type CryptoKey = import("node:crypto").webcrypto.CryptoKey;

/**
 * A test certificate authority for attestation and FIDO metadata: a root, certificates it
 * issues, and MDS3-style BLOBs (JWS with an x5c chain) signed by one of them.
 */
const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export type Issued = {
  certificate: x509.X509Certificate;
  keys: CryptoKeyPair;
  chain: x509.X509Certificate[];
};

/** Certificates live a year unless asked otherwise: recorded fixtures ask for decades. */
export async function makeRoot(name: string, days = 365): Promise<Issued> {
  const keys = (await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=${name}, O=Care Identity Service tests, C=GB`,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + days * 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return { certificate, keys, chain: [certificate] };
}

export async function issue(issuer: Issued, name: string, subject?: string, days = 365): Promise<Issued> {
  const keys = (await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: String(Date.now()),
    subject: subject ?? `CN=${name}, O=Care Identity Service tests, C=GB`,
    issuer: issuer.certificate.subject,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + days * 86_400_000),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: algorithm,
  });
  return { certificate, keys, chain: [certificate, ...issuer.chain] };
}

/**
 * An authenticator vendor's attestation: a root, and a batch certificate under it named as
 * packed attestation requires (OU "Authenticator Attestation", not a CA).
 */
export async function attestationBatch(): Promise<{ root: Issued; batch: Issued }> {
  const root = await makeRoot("Test authenticator vendor root");
  const batch = await issue(
    root,
    "Test batch",
    "C=GB, O=Care Identity Service tests, OU=Authenticator Attestation, CN=Test batch",
  );
  return { root, batch };
}

/** An MDS3 BLOB: the payload signed ES256 by `signer`, its chain (without the root) in x5c. */
export async function metadataBlob(signer: Issued, payload: object): Promise<string> {
  const x5c = signer.chain
    .slice(0, -1)
    .map((certificate) => Buffer.from(certificate.rawData).toString("base64"));
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: "ES256", typ: "JWT", x5c })
    .sign(signer.keys.privateKey);
}

/** One MDS3 entry for an AAGUID whose attestations chain to `roots`. */
export function metadataEntry(
  aaguid: string,
  roots: x509.X509Certificate[],
  extra: { keyProtection?: string[]; statuses?: string[] } = {},
) {
  return {
    aaguid,
    metadataStatement: {
      aaguid,
      description: `Test authenticator ${aaguid}`,
      protocolFamily: "fido2",
      attestationTypes: ["basic_full"],
      keyProtection: extra.keyProtection ?? ["hardware", "secure_element"],
      attestationRootCertificates: roots.map((root) => Buffer.from(root.rawData).toString("base64")),
    },
    statusReports: (extra.statuses ?? ["FIDO_CERTIFIED_L1"]).map((status) => ({
      status,
      effectiveDate: "2024-01-01",
    })),
    timeOfLastStatusChange: "2024-01-01",
  };
}

/** Writes files into a fresh temporary directory; returns their paths by name. */
export function writeFiles(files: Record<string, string>): Record<string, string> {
  const directory = mkdtempSync(join(tmpdir(), "careid-attestation-"));
  return Object.fromEntries(
    Object.entries(files).map(([name, text]) => {
      const path = join(directory, name);
      writeFileSync(path, text);
      return [name, path];
    }),
  );
}

/** Chromium's virtual authenticators all report this AAGUID. */
export const virtualAaguid = "01020304-0506-0708-0102-030405060708";

/**
 * The service trusts Chromium's virtual authenticators as an operator trusts a vendor: through a
 * FIDO metadata BLOB (signed by a test MDS root) whose statement for their AAGUID names their
 * attestation root.
 */
export async function trustVirtualAuthenticators(attestationRoot: string) {
  const mdsRoot = await makeRoot("Test FIDO MDS root");
  const signer = await issue(mdsRoot, "Test FIDO MDS signer");
  const blob = await metadataBlob(signer, {
    no: 1,
    nextUpdate: "2099-01-01",
    entries: [metadataEntry(virtualAaguid, [new x509.X509Certificate(attestationRoot)])],
  });
  const files = writeFiles({ "mds.jwt": blob, "mds-root.pem": mdsRoot.certificate.toString("pem") });
  return {
    CAREID_WEBAUTHN_MDS_FILE: files["mds.jwt"] as string,
    CAREID_WEBAUTHN_MDS_ROOT: files["mds-root.pem"] as string,
  };
}
