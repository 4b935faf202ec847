import "reflect-metadata";
import { X509Certificate } from "@peculiar/x509";
import { SettingsService } from "@simplewebauthn/server";
import { decodeAttestationObject } from "@simplewebauthn/server/helpers";
import type { Attestation } from "../classification.ts";
import { chainReachesAnchor } from "./certificate-chain.ts";
import type { MetadataEntry } from "./metadata-blob.ts";
import type { AttestationPolicy } from "./policy.ts";

/** Status reports that mean no credential of the model can be trusted (FIDO MDS 3.1.4). */
const compromised = new Set([
  "REVOKED",
  "USER_VERIFICATION_BYPASS",
  "ATTESTATION_KEY_COMPROMISE",
  "USER_KEY_REMOTE_COMPROMISE",
  "USER_KEY_PHYSICAL_COMPROMISE",
]);

export type AttestationRefusal = { reason: "denied-aaguid" | "not-allowed" | "compromised"; message: string };

export type AttestationFinding = {
  attestation: Attestation;
  statement: MetadataEntry | undefined;
  refusal: AttestationRefusal | undefined;
};

/**
 * Judges an attestation SimpleWebAuthn has already verified (its signature over the new
 * credential): does its chain reach a root we trust, and does policy let this model register?
 * Trusted roots are the configured ones, the model's metadata statement's, and the vendor roots
 * SimpleWebAuthn ships for formats only one vendor makes (Apple, Android).
 */
export async function judgeAttestation(
  policy: AttestationPolicy,
  registration: { fmt: string; aaguid: string; attestationObject: Uint8Array },
): Promise<AttestationFinding> {
  const aaguid = registration.aaguid.toLowerCase();
  const statement = policy.metadata.get(aaguid);
  const attestation = await trustOf(policy, registration, statement);
  return { attestation, statement, refusal: refusalOf(policy, aaguid, attestation, statement) };
}

async function trustOf(
  policy: AttestationPolicy,
  registration: { fmt: string; attestationObject: Uint8Array },
  statement: MetadataEntry | undefined,
): Promise<Attestation> {
  if (registration.fmt === "none") return "none";
  const x5c =
    decodeAttestationObject(registration.attestationObject as Uint8Array<ArrayBuffer>)
      .get("attStmt")
      .get("x5c") ?? [];
  if (x5c.length === 0) return "self";
  const vendorRoots = SettingsService.getRootCertificates({ identifier: registration.fmt as "apple" }).map(
    (pem) => new X509Certificate(pem),
  );
  const anchors = [...policy.roots, ...(statement?.attestationRoots ?? []), ...vendorRoots];
  const chain = x5c.map((der) => new X509Certificate(der));
  return (await chainReachesAnchor(chain, anchors)) ? "trusted" : "untrusted";
}

function refusalOf(
  policy: AttestationPolicy,
  aaguid: string,
  attestation: Attestation,
  statement: MetadataEntry | undefined,
): AttestationRefusal | undefined {
  if (policy.deniedAaguids.has(aaguid))
    return {
      reason: "denied-aaguid",
      message:
        "This model of authenticator may not be used. Ask your Registration Authority which you may use.",
    };
  if (statement?.statuses.some((status) => compromised.has(status)))
    return {
      reason: "compromised",
      message:
        "This model of authenticator has a known security flaw and may not be used. Ask your Registration Authority which you may use.",
    };
  // An AAGUID is only the authenticator's say-so until a trusted attestation vouches for it.
  if (policy.allowedAaguids.size > 0 && (!policy.allowedAaguids.has(aaguid) || attestation !== "trusted"))
    return {
      reason: "not-allowed",
      message:
        "This authenticator is not on the list of approved models, or could not prove which model it is. Ask your Registration Authority which you may use.",
    };
  return undefined;
}
