import { sql } from "kysely";
import type { Tx } from "../store/database.ts";
import type { CertificateAuthority } from "./certificate-authority.ts";
import { caSigningAlgorithm, serialHex, serialKey, x509 } from "./engine.ts";
import { cardExtensions, holderName } from "./profiles.ts";

export type CardCertificateRequest = {
  profile: "card-authentication" | "card-signing" | "remote-signing";
  holder: string;
  /** The card the key is on; null for a key the remote signing service holds. */
  cardSerial: string | null;
  publicKey: x509.PublicKey;
  lifetimeDays: number;
};

/** Signs a card certificate with the issuing CA and records it, in the caller's transaction. */
export async function issueCardCertificate(
  tx: Tx,
  authority: CertificateAuthority,
  request: CardCertificateRequest,
  now = new Date(),
): Promise<x509.X509Certificate> {
  const serial = await nextSerial(tx);
  // A minute back, so a verifier whose clock is a little behind still accepts it at once.
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + request.lifetimeDays * 86_400_000);
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial,
      subject: holderName(request.holder),
      issuer: authority.issuing.subjectName,
      notBefore,
      notAfter,
      signingAlgorithm: caSigningAlgorithm,
      publicKey: request.publicKey,
      signingKey: authority.issuingKey,
      extensions: await cardExtensions(
        request.profile,
        request.holder,
        request.publicKey,
        authority.issuing,
        authority.publication,
      ),
    },
    authority.crypto,
  );
  await tx
    .insertInto("pki_certificates")
    .values({
      serial: serialKey(certificate.serialNumber),
      profile: request.profile,
      holder: request.holder,
      card_serial: request.cardSerial,
      certificate: new Uint8Array(certificate.rawData),
      not_before: certificate.notBefore,
      not_after: certificate.notAfter,
    })
    .execute();
  return certificate;
}

/** The next certificate serial, from the sequence every node shares. */
export async function nextSerial(tx: Tx): Promise<string> {
  const result = await sql<{ value: number }>`SELECT nextval('pki_certificate_serial') AS value`.execute(tx);
  return serialHex(BigInt(result.rows[0]?.value ?? 0).toString(16));
}
