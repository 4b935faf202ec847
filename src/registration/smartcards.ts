import type { Actor } from "../audit/actor.ts";
import { auditingRefusal } from "../authenticators/smartcard/authority.ts";
import { type Withdrawal, withdrawCard } from "../authenticators/smartcard/cards.ts";
import { createCardOrder, type Order, type OrderKind } from "../authenticators/smartcard/orders.ts";
import { listCards } from "../authenticators/smartcard/records.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier } from "../store/identifiers.ts";
import { type ActionCommon, claimSubmission, requiredReason } from "./acting.ts";

function optionalReason(common: ActionCommon): string | undefined {
  return typeof common.reason === "string" && common.reason.trim() ? requiredReason(common, "") : undefined;
}

/**
 * A person's smartcards as an RA sees them, and the RA's card actions from Care Identity
 * Management: orders for the workstation agent (issue, renew, unlock, repair, clear) and withdrawal (cancel,
 * lost, stolen). The card domain authorises each through the RA policy and audits it; here
 * the form's or call's submission id is claimed in the same transaction.
 */
export type CardSummary = { cardSerial: string; status: string; expiresAt: string | null };

export const orderKinds: readonly OrderKind[] = ["issue", "renew", "unlock", "repair", "clear"];
export const withdrawals: readonly Withdrawal[] = ["cancelled", "lost", "stolen"];

export async function cardsOf(queryable: Queryable, uuid: string): Promise<CardSummary[]> {
  const cards = await listCards(queryable, { holder: uuid });
  return cards.map((card) => {
    const live = card.certificates.filter((certificate) => !certificate.revoked);
    const expiry = live.map((certificate) => certificate.notAfter).sort()[0];
    return { cardSerial: card.cardSerial, status: card.status, expiresAt: expiry ?? null };
  });
}

/**
 * An order for the agent; its one-time code is in the answer only, for the RA to hand over.
 * Clearing ends the holder's record of the card, so, as a withdrawal, it needs a reason.
 */
export async function orderCard(
  queryable: Queryable,
  actor: Actor,
  input: ActionCommon & { kind: OrderKind; uuid: string; cardSerial?: string },
): Promise<Order> {
  if (!orderKinds.includes(input.kind))
    throw InvalidInputError.field("kind", `must be one of ${orderKinds.join(", ")}`);
  const reason = input.kind === "clear" ? requiredReason(input, "to clear a card") : optionalReason(input);
  const subject = input.cardSerial
    ? { type: "smartcard", id: input.cardSerial }
    : { type: "person", id: input.uuid };
  return claimingOnce(queryable, actor, { action: `${input.kind}-order`, subject }, input, async (tx) => {
    if (input.cardSerial) await heldCard(tx, input.uuid, input.cardSerial);
    return createCardOrder(tx, actor, {
      kind: input.kind,
      holder: input.uuid,
      cardSerial: input.kind === "issue" ? undefined : input.cardSerial,
      reason,
    });
  });
}

/**
 * Cancels every card a leaver still holds (their certificates revoked at once), inside the
 * closing of their profile; cards already cancelled, lost or stolen are left as they are.
 * Returns each card cancelled with the serial numbers of the certificates revoked.
 */
export async function cancelCardsOf(
  tx: Tx,
  actor: Actor,
  uuid: string,
  reason: string,
): Promise<Array<{ cardSerial: string; revoked: string[] }>> {
  const cards = await listCards(tx, { holder: uuid });
  const live = cards.filter((card) => !["cancelled", "lost", "stolen"].includes(card.status));
  const cancelled = [];
  for (const card of live) {
    const { revoked } = await withdrawCard(tx, actor, {
      cardSerial: card.cardSerial,
      status: "cancelled",
      reason,
    });
    cancelled.push({ cardSerial: card.cardSerial, revoked });
  }
  return cancelled;
}

/** Cancels a card or records it lost or stolen (its certificates revoked); a reason is required. */
export async function withdrawHeldCard(
  queryable: Queryable,
  actor: Actor,
  input: ActionCommon & { uuid: string; cardSerial: string; status: Withdrawal },
) {
  if (!withdrawals.includes(input.status))
    throw InvalidInputError.field("status", `must be one of ${withdrawals.join(", ")}`);
  const reason = requiredReason(input, "to withdraw a card");
  const subject = { type: "smartcard", id: input.cardSerial };
  return claimingOnce(queryable, actor, { action: input.status, subject }, input, async (tx) => {
    await heldCard(tx, input.uuid, input.cardSerial);
    return withdrawCard(tx, actor, { cardSerial: input.cardSerial, status: input.status, reason });
  });
}

/**
 * The submission id and the card action share one transaction. A refusal the card domain
 * audits inside it rolls back with it, so it is audited again here, after the rollback.
 */
async function claimingOnce<T>(
  queryable: Queryable,
  actor: Actor,
  attempt: { action: string; subject: { type: string; id: string } },
  common: ActionCommon,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  return auditingRefusal(queryable, actor, attempt, () =>
    inTransaction(queryable, async (tx) => {
      await claimSubmission(tx, actor.id, `smartcard.${attempt.action}`, common.submissionId);
      return work(tx);
    }),
  );
}

/** The card, if this person holds it: a card is only acted on from its holder's profile. */
async function heldCard(queryable: Queryable, uuid: string, cardSerial: string) {
  if (!isCareIdentifier(uuid)) throw InvalidInputError.field("uuid", "must be a 12-digit Care Identity UUID");
  const card = await queryable
    .selectFrom("smartcards")
    .select("holder")
    .where("serial", "=", cardSerial)
    .executeTakeFirst();
  if (card?.holder !== uuid) throw new NotFoundError("smartcard", `${uuid} holds no card ${cardSerial}`);
}
