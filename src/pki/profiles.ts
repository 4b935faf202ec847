import type { CertificateProfile } from "../store/schema.ts";
import type { Publication } from "./certificate-authority.ts";
import { x509 } from "./engine.ts";

/** The subject every card certificate carries: the holder's UUID, nothing from the CSR. */
export function holderName(uuid: string): x509.Name {
  return new x509.Name([{ CN: [uuid] }, { [uidOid]: [uuid] }, { O: ["Care Identity Service"] }]);
}

/** LDAP userid (RFC 4519 uid), the attribute that names a person's UUID in the subject. */
export const uidOid = "0.9.2342.19200300.100.1.1";

export function holderUri(uuid: string): string {
  return `urn:careid:uuid:${uuid}`;
}

const usages: Record<
  Exclude<CertificateProfile, "ocsp-responder" | "assertion-signing">,
  { keyUsage: number; extended: string[] }
> = {
  "card-authentication": {
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extended: [x509.ExtendedKeyUsage.clientAuth],
  },
  "card-signing": { keyUsage: x509.KeyUsageFlags.nonRepudiation, extended: [] },
  // A key the remote signing service holds for a person without a card: signs prescriptions only.
  "remote-signing": { keyUsage: x509.KeyUsageFlags.nonRepudiation, extended: [] },
};

/** The extensions of a card certificate: its usage, its holder, and where to check it. */
export async function cardExtensions(
  profile: Exclude<CertificateProfile, "ocsp-responder" | "assertion-signing">,
  holder: string,
  subjectKey: x509.PublicKey,
  issuing: x509.X509Certificate,
  publication: Publication,
): Promise<x509.Extension[]> {
  const usage = usages[profile];
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usage.keyUsage, true),
    ...(usage.extended.length > 0 ? [new x509.ExtendedKeyUsageExtension(usage.extended, false)] : []),
    new x509.SubjectAlternativeNameExtension([{ type: "url", value: holderUri(holder) }]),
    await x509.SubjectKeyIdentifierExtension.create(subjectKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuing.publicKey),
    new x509.CRLDistributionPointsExtension([publication.crl]),
    new x509.AuthorityInfoAccessExtension({
      ocsp: publication.ocsp,
      caIssuers: publication.issuingCertificate,
    }),
  ];
}
