import type { Tx } from "../store/database.ts";
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
