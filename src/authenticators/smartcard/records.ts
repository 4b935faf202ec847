import { NotFoundError } from "../../errors.ts";
import type { Queryable } from "../../store/database.ts";
import type { SmartcardStatus } from "../../store/schema.ts";

/** What is known of a card, for the RA's command line and the agent. No secret is included. */
export type CardRecord = {
  cardSerial: string;
  holder: string;
  cardType: string | null;
  status: SmartcardStatus;
  issuedAt: string;
  statusChangedAt: string;
  certificates: { serial: string; profile: string; notAfter: string; revoked: string | null }[];
};

export async function listCards(queryable: Queryable, filter: { holder?: string } = {}, now = new Date()) {
  let query = queryable.selectFrom("smartcards").select("serial").orderBy("issued_at", "desc").limit(1000);
  if (filter.holder) query = query.where("holder", "=", filter.holder);
  const rows = await query.execute();
  return Promise.all(rows.map((row) => showCard(queryable, row.serial, now)));
}

export async function showCard(
  queryable: Queryable,
  cardSerial: string,
  now = new Date(),
): Promise<CardRecord> {
  const card = await queryable
    .selectFrom("smartcards")
    .select(["serial", "holder", "card_type", "status", "issued_at", "status_changed_at"])
    .where("serial", "=", cardSerial)
    .executeTakeFirst();
  if (!card) throw new NotFoundError("smartcard", `There is no card ${cardSerial}`);
  const certificates = await queryable
    .selectFrom("pki_certificates")
    .leftJoin("pki_revocations", "pki_revocations.serial", "pki_certificates.serial")
    .select([
      "pki_certificates.serial",
      "pki_certificates.profile",
      "pki_certificates.not_after",
      "pki_revocations.revoked_at",
      "pki_revocations.reason",
    ])
    .where("pki_certificates.card_serial", "=", cardSerial)
    .where("pki_certificates.created_at", ">=", card.issued_at)
    .orderBy("pki_certificates.created_at")
    .execute();
  const live = certificates.some((certificate) => !certificate.revoked_at && certificate.not_after > now);
  return {
    cardSerial: card.serial,
    holder: card.holder,
    cardType: card.card_type,
    // A card whose certificates have all run out is expired, whatever was last recorded.
    status: ["active", "locked"].includes(card.status) && !live ? "expired" : card.status,
    issuedAt: card.issued_at.toISOString(),
    statusChangedAt: card.status_changed_at.toISOString(),
    certificates: certificates.map((certificate) => ({
      serial: certificate.serial,
      profile: certificate.profile,
      notAfter: certificate.not_after.toISOString(),
      revoked: certificate.revoked_at
        ? `${certificate.revoked_at.toISOString()} (${certificate.reason})`
        : null,
    })),
  };
}
