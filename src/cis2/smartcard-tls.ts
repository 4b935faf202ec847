import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { verifySmartcardCertificate } from "../authenticators/smartcard/verification.ts";
import { DomainError } from "../errors.ts";
import { type Db, inTransaction } from "../store/database.ts";

/**
 * The network-connected smartcard path: the card's authentication certificate is presented in
 * a mutual-TLS handshake on a listener of its own (the TLS stack checks the card holds the key).
 * The certificate is checked as in a challenge sign-in; the browser then carries a one-use
 * ticket back to the journey, which redeems it only for the interaction it was made for.
 */
const ticketSeconds = 120;

const digestOf = (ticket: string) => createHash("sha256").update(ticket).digest("base64url");

export async function ticketForCertificate(
  db: Db,
  actor: Actor,
  presented: { interactionUid: string; certificateChain: string[] },
): Promise<{ ticket: string } | { refused: string }> {
  const verified = await verifySmartcardCertificate(db, actor, {
    certificateChain: presented.certificateChain,
  });
  if (!verified.ok) return { refused: verified.message };
  const ticket = randomBytes(32).toString("base64url");
  await inTransaction(db, async (tx) => {
    await tx
      .insertInto("smartcard_tls_tickets")
      .values({
        ticket_digest: digestOf(ticket),
        interaction_uid: presented.interactionUid,
        holder: verified.holder,
        card_serial: verified.cardSerial,
        expires_at: new Date(Date.now() + ticketSeconds * 1000),
        used_at: null,
      })
      .execute();
    await recordEvent(tx, actor, {
      action: "smartcard.tls-certificate-accepted",
      subject: { type: "person", id: verified.holder },
      after: { cardSerial: verified.cardSerial },
    });
  });
  return { ticket };
}

export async function redeemTicket(
  db: Db,
  interactionUid: string,
  ticket: string,
): Promise<{ holder: string; cardSerial: string }> {
  const redeemed = await db
    .updateTable("smartcard_tls_tickets")
    .set({ used_at: sql<Date>`now()` })
    .where("ticket_digest", "=", digestOf(ticket))
    .where("interaction_uid", "=", interactionUid)
    .where("used_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .returning(["holder", "card_serial"])
    .executeTakeFirst();
  if (!redeemed)
    throw new DomainError(
      "smartcard-refused",
      "This smartcard sign-in has expired or was used already. Sign in with your smartcard again.",
    );
  return { holder: redeemed.holder, cardSerial: redeemed.card_serial };
}
