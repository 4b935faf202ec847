import { createHash } from "node:crypto";
import type { Method } from "../assurance/methods.ts";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { verifySmartcardAuthentication } from "../authenticators/smartcard/verification.ts";
import { destroyCardSessions } from "../cis1/sessions.ts";
import { DomainError, InvalidInputError, NotFoundError } from "../errors.ts";
import { type Db, inTransaction } from "../store/database.ts";
import { endSessionsOf } from "./session-revocation.ts";

/**
 * A smartcard in a workstation's reader. The agent reports the card present once its holder
 * has entered the passcode, proving it with the card's signature over a fresh challenge, and
 * leaves the digest of a secret of its own. Presenting that secret when the card is taken out
 * ends the holder's smartcard CIS2 sessions, so their relying parties get back-channel logout.
 */
export const smartcardMethods: Method[] = ["CIS2_SMARTCARD", "N3_SMARTCARD"];

const digestPattern = /^[A-Za-z0-9_-]{43}$/;

export async function recordCardPresent(
  db: Db,
  actor: Actor,
  report: {
    cardSerial: string;
    proof: { certificateChain: string[]; challenge: string; signature: string };
    removalDigest: string;
  },
): Promise<{ holder: string }> {
  if (!digestPattern.test(report.removalDigest))
    throw InvalidInputError.field(
      "removalDigest",
      "must be the base64url SHA-256 digest of the removal secret",
    );
  // Verified first, apart: a refusal is audited by the verification and must stay recorded.
  const verified = await verifySmartcardAuthentication(db, actor, report.proof);
  if (!verified.ok) throw new DomainError("smartcard-refused", verified.message);
  if (verified.cardSerial !== report.cardSerial)
    throw new DomainError("smartcard-refused", "the proof was signed by another card");
  return inTransaction(db, async (tx) => {
    await tx
      .insertInto("smartcard_presence")
      .values({
        removal_digest: report.removalDigest,
        card_serial: report.cardSerial,
        holder: verified.holder,
      })
      .execute();
    await recordEvent(tx, actor, {
      action: "smartcard.present",
      subject: { type: "person", id: verified.holder },
      after: { cardSerial: report.cardSerial },
    });
    return { holder: verified.holder };
  });
}

export async function recordCardRemoved(
  db: Db,
  actor: Actor,
  report: { cardSerial: string; removalSecret: string },
): Promise<{ holder: string; sessions: number }> {
  const digest = createHash("sha256").update(report.removalSecret).digest("base64url");
  return inTransaction(db, async (tx) => {
    const presence = await tx
      .deleteFrom("smartcard_presence")
      .where("removal_digest", "=", digest)
      .where("card_serial", "=", report.cardSerial)
      .returning(["holder"])
      .executeTakeFirst();
    if (!presence)
      throw new NotFoundError("smartcard", "No card was reported present with this removal secret");
    await recordEvent(tx, actor, {
      action: "smartcard.removed",
      subject: { type: "person", id: presence.holder },
      after: { cardSerial: report.cardSerial },
    });
    // The card's CIS1 SSO tokens end with it, at once.
    await destroyCardSessions(tx, actor, report.cardSerial);
    const ended = await endSessionsOf(tx, actor, presence.holder, smartcardMethods);
    return { holder: presence.holder, sessions: ended.sessions };
  });
}
