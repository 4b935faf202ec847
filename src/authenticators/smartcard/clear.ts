import { recordEvent } from "../../audit/record.ts";
import { revokeCertificates } from "../../pki/revocation.ts";
import type { Queryable } from "../../store/database.ts";
import type { SmartcardStatus } from "../../store/schema.ts";
import { checkCardSerial, liveCertificates, lockedCard, setStatus, withOrder } from "./cards.ts";
import { checkCardStatus } from "./order-release.ts";

/**
 * Clears a card for reuse by someone else: under an RA's clear order, the agent wiped the token
 * (keys and certificates gone, the manufacturer's unlock code back) and reports it here. The
 * card's certificates are revoked (cessationOfOperation) and its record is ended as `cleared`
 * in one audited transaction; the serial can then be issued afresh to another person, whose
 * record replaces this one (the audit log keeps the history).
 */
export async function clearCard(
  queryable: Queryable,
  request: { orderCode: unknown; cardSerial: unknown },
  now = new Date(),
): Promise<{ cardSerial: string; status: SmartcardStatus; revoked: string[] }> {
  const cardSerial = checkCardSerial(request.cardSerial);
  return withOrder(queryable, request.orderCode, "clear", cardSerial, async (tx, order) => {
    const card = await lockedCard(tx, cardSerial);
    checkCardStatus("clear", cardSerial, card.status);
    const revoked = await revokeCertificates(
      tx,
      await liveCertificates(tx, cardSerial),
      "cessationOfOperation",
      now,
    );
    await setStatus(tx, cardSerial, "cleared", now);
    await recordEvent(tx, order.actor, {
      action: "smartcard.cleared",
      subject: { type: "smartcard", id: cardSerial },
      before: { status: card.status, holder: card.holder },
      after: { status: "cleared", revoked },
    });
    return { cardSerial, status: "cleared" as const, revoked };
  });
}
