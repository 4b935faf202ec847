import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { DomainError, InvalidInputError } from "../../errors.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";
import type { SmartcardStatus } from "../../store/schema.ts";
import { checkCardSerial, lockedCard, reportCardLocked } from "./cards.ts";
import { spendChallenge } from "./challenges.ts";
import { signedByPresenceKey } from "./presence-key.ts";

/**
 * The agent reports a card that locked itself after too many wrong passcodes. Knowing a card's
 * serial is not enough: the card must be in the reader, proven by its presence key (which works
 * without the passcode, so also on a locked card) signing a fresh service challenge. A refused
 * report changes nothing and is audited with its reason.
 */
export type LockReport = { cardSerial: unknown; challenge: unknown; signature: unknown };

export async function reportLockWithProof(
  queryable: Queryable,
  actor: Actor,
  report: LockReport,
  now = new Date(),
): Promise<{ cardSerial: string; status: SmartcardStatus }> {
  const cardSerial = checkCardSerial(report.cardSerial);
  if (typeof report.challenge !== "string" || !/^[A-Za-z0-9_-]{16,128}$/.test(report.challenge))
    throw InvalidInputError.field(
      "challenge",
      "is required: a challenge from POST /api/smartcards/challenges",
    );
  if (typeof report.signature !== "string" || !/^[A-Za-z0-9_+/=-]{16,1400}$/.test(report.signature))
    throw InvalidInputError.field("signature", "is required: the card's presence key's signature, base64url");
  const { challenge, signature } = report;
  try {
    return await inTransaction(queryable, async (tx) => {
      const use = await spendChallenge(tx, challenge, now);
      if (use !== "fresh") throw refusal(`The challenge is not usable (${use}); ask for a fresh one`);
      const card = await lockedCard(tx, cardSerial);
      if (!card.presence_key)
        throw refusal(`Card ${cardSerial} has no presence key: repair it to let it report a lock`);
      if (!signedByPresenceKey(card.presence_key, challenge, signature))
        throw refusal(`The signature is not card ${cardSerial}'s: the card must be in the reader`);
      return reportCardLocked(tx, actor, cardSerial, now);
    });
  } catch (error) {
    if (error instanceof DomainError && error.code === "lock-report-refused")
      await inTransaction(queryable, (tx) =>
        recordEvent(tx, actor, {
          action: "smartcard.lock-report-refused",
          subject: { type: "smartcard", id: cardSerial },
          after: { reason: error.message },
        }),
      );
    throw error;
  }
}

function refusal(message: string): DomainError {
  return new DomainError("lock-report-refused", message);
}
