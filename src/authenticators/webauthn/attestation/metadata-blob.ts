import "reflect-metadata";
import { X509Certificate } from "@peculiar/x509";
import { compactVerify, decodeProtectedHeader, importX509 } from "jose";
import { chainReachesAnchor } from "./certificate-chain.ts";

/**
 * A FIDO Metadata Service (MDS3) BLOB read from a file: a JWS whose x5c chain must reach the
 * configured root and whose signature must verify, as the MDS specification (3.1.8) asks of a
 * downloaded BLOB. Nothing is fetched: the operator downloads and replaces the file, so the
 * service needs no network at run time (and makes no CRL calls, unlike SimpleWebAuthn's reader).
 */
export type MetadataEntry = {
  aaguid: string;
  description: string | undefined;
  /** Roots this model's attestation certificates chain to. */
  attestationRoots: X509Certificate[];
  /** How the model protects keys: software, hardware, tee, secure_element, remote_handle. */
  keyProtection: string[];
  /** Status reports, newest last: FIDO_CERTIFIED_L1, REVOKED, USER_VERIFICATION_BYPASS, ... */
  statuses: string[];
};

export type MetadataBlob = { serial: number; nextUpdate: string; entries: Map<string, MetadataEntry> };

export class MetadataBlobError extends Error {}

export async function readMetadataBlob(
  jwt: string,
  root: X509Certificate,
  at = new Date(),
): Promise<MetadataBlob> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwt.trim());
  } catch {
    throw new MetadataBlobError("is not a JWT (an MDS3 BLOB)");
  }
  const x5c = header.x5c ?? [];
  if (x5c.length === 0 || typeof header.alg !== "string")
    throw new MetadataBlobError("has no x5c certificate chain or alg in its header");
  const chain = x5c.map((der) => new X509Certificate(Buffer.from(der, "base64")));
  if (!(await chainReachesAnchor(chain, [root], at)))
    throw new MetadataBlobError(
      "is signed by a certificate chain that does not reach CAREID_WEBAUTHN_MDS_ROOT",
    );
  let payload: Uint8Array;
  try {
    const signer = await importX509((chain[0] as X509Certificate).toString("pem"), header.alg);
    ({ payload } = await compactVerify(jwt.trim(), signer));
  } catch {
    throw new MetadataBlobError("has a signature that does not verify: the file was altered or damaged");
  }
  return parsePayload(new TextDecoder().decode(payload));
}

type RawEntry = {
  aaguid?: string;
  metadataStatement?: {
    description?: string;
    attestationRootCertificates?: string[];
    keyProtection?: string[];
  };
  statusReports?: { status?: string }[];
};

function parsePayload(text: string): MetadataBlob {
  const payload = JSON.parse(text) as { no?: number; nextUpdate?: string; entries?: RawEntry[] };
  if (!Array.isArray(payload.entries) || typeof payload.no !== "number")
    throw new MetadataBlobError("has no numbered list of entries");
  const entries = new Map<string, MetadataEntry>();
  // Only FIDO2 authenticators have AAGUIDs; U2F and UAF entries are of no use to WebAuthn here.
  for (const entry of payload.entries.filter((candidate) => typeof candidate.aaguid === "string")) {
    const aaguid = String(entry.aaguid).toLowerCase();
    entries.set(aaguid, {
      aaguid,
      description: entry.metadataStatement?.description,
      attestationRoots: (entry.metadataStatement?.attestationRootCertificates ?? []).map(
        (der) => new X509Certificate(Buffer.from(der, "base64")),
      ),
      keyProtection: entry.metadataStatement?.keyProtection ?? [],
      statuses: (entry.statusReports ?? []).map((report) => String(report.status)),
    });
  }
  return { serial: payload.no, nextUpdate: String(payload.nextUpdate ?? ""), entries };
}
