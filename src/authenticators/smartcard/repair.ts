import { recordEvent } from "../../audit/record.ts";
import { revokeCertificates } from "../../pki/revocation.ts";
import type { Queryable } from "../../store/database.ts";
import {
  type CardIssue,
  type CardSettings,
  checkCardSerial,
  type IssuedCard,
  issueCertificates,
  liveCertificates,
  lockedCard,
  readKeyPair,
  withOrder,
} from "./cards.ts";
import { checkCardStatus } from "./order-release.ts";
import { readPresenceKey } from "./presence-key.ts";

/**
 * Repairs a card, also one whose certificates have expired (renewal after expiry): under an RA's
 * repair order, with the holder at the desk having set a new passcode through the agent, the
 * card made new key pairs; here they are certified, the card's previous certificates are
 * revoked (superseded) and the card is active again. The card keeps its serial, its holder, its
 * unlock code and its history (the record is updated, never replaced). One transaction,
 * audited as `smartcard.repaired`.
 */
export async function repairCard(
  queryable: Queryable,
  settings: CardSettings,
  request: CardIssue,
  now = new Date(),
): Promise<IssuedCard> {
  const cardSerial = checkCardSerial(request.cardSerial);
  const keys = await readKeyPair(request);
  const presenceKey = readPresenceKey(request.presenceKey);
  return withOrder(queryable, request.orderCode, "repair", cardSerial, async (tx, order) => {
    const card = await lockedCard(tx, cardSerial);
    checkCardStatus("repair", cardSerial, card.status);
    const expired = (await liveCertificates(tx, cardSerial, now)).length === 0;
    const superseded = await revokeCertificates(
      tx,
      await liveCertificates(tx, cardSerial),
      "superseded",
      now,
    );
    const issued = await issueCertificates(tx, settings, card.holder, cardSerial, keys, now);
    await tx
      .updateTable("smartcards")
      .set({ status: "active", status_changed_at: now, presence_key: presenceKey ?? card.presence_key })
      .where("serial", "=", cardSerial)
      .execute();
    await recordEvent(tx, order.actor, {
      action: "smartcard.repaired",
      subject: { type: "smartcard", id: cardSerial },
      before: { status: card.status, expired },
      after: { status: "active", holder: card.holder, certificates: issued.serials, superseded },
    });
    return issued.card;
  });
}
