import { onlineCertificateStatus } from "../pki/certificate-status.ts";
import { x509 } from "../pki/engine.ts";
import type { Queryable } from "../store/database.ts";
import type { VerifierTrust } from "./verifier.ts";

/**
 * What this service trusts when it verifies a prescription: our CA's root and its current
 * issuing CA, read from the database (certificates only: no key is opened), with revocation
 * asked of the CA's OCSP responder and CRL over HTTP, as any dispenser would ask.
 */
export async function serviceTrust(queryable: Queryable, allowRsaSha1: boolean): Promise<VerifierTrust> {
  const rows = await queryable.selectFrom("pki_authorities").select(["name", "certificate"]).execute();
  const named = (name: string) =>
    rows
      .filter((row) => row.name === name)
      .map((row) => new x509.X509Certificate(new Uint8Array(row.certificate)));
  return {
    roots: named("root"),
    issuers: named("issuing"),
    certificateStatus: onlineCertificateStatus(),
    allowRsaSha1,
  };
}
