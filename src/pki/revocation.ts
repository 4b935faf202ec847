import type { Queryable, Tx } from "../store/database.ts";
import type { RevocationReason } from "../store/schema.ts";

/** Revokes certificates at once: the CRL and the OCSP responder read this table. Final. */
export async function revokeCertificates(
  tx: Tx,
  serials: string[],
  reason: RevocationReason,
  at = new Date(),
): Promise<string[]> {
  if (serials.length === 0) return [];
  const rows = await tx
    .insertInto("pki_revocations")
    .values(serials.map((serial) => ({ serial, reason, revoked_at: at })))
    .onConflict((conflict) => conflict.column("serial").doNothing())
    .returning("serial")
    .execute();
  return rows.map((row) => row.serial);
}

export type CertificateStatus =
  | { status: "good"; profile: string; holder: string | null; cardSerial: string | null; notAfter: Date }
  | { status: "revoked"; revokedAt: Date; reason: RevocationReason }
  | { status: "unknown" };

/** What we know of a certificate we issued, by serial (see serialKey). */
export async function certificateStatus(queryable: Queryable, serial: string): Promise<CertificateStatus> {
  const row = await queryable
    .selectFrom("pki_certificates")
    .leftJoin("pki_revocations", "pki_revocations.serial", "pki_certificates.serial")
    .select([
      "pki_certificates.profile",
      "pki_certificates.holder",
      "pki_certificates.card_serial",
      "pki_certificates.not_after",
      "pki_revocations.revoked_at",
      "pki_revocations.reason",
    ])
    .where("pki_certificates.serial", "=", serial)
    .executeTakeFirst();
  if (!row) return { status: "unknown" };
  if (row.revoked_at && row.reason)
    return { status: "revoked", revokedAt: row.revoked_at, reason: row.reason };
  return {
    status: "good",
    profile: row.profile,
    holder: row.holder,
    cardSerial: row.card_serial,
    notAfter: row.not_after,
  };
}
