import { recordEvent } from "../../audit/record.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Queryable, Tx } from "../../store/database.ts";
import { checkCardSerial, withOrder } from "./cards.ts";
import { checkOrder, releaseUnderOrder, type TakenOrder } from "./orders.ts";

/**
 * The first step of issuing a card: the agent, carrying the RA's issue order and the serial of
 * the blank card in the reader, asks whether the card was cleared here. A new card still has the
 * manufacturer's unlock code; a cleared one was wiped but kept its escrowed unlock code, so to set
 * the new holder's passcode the agent needs that code.
 * It is released to the agent only (never to a page), counted against the order and audited
 * without the code; the issue then replaces it with a new escrowed code. A card that was never
 * cleared gets no code and the order is only checked, not spent.
 */
export type IssueRelease =
  | { cardSerial: string; cleared: false }
  | { cardSerial: string; cleared: true; unlockCode: string };

export async function releaseForReissue(
  queryable: Queryable,
  sealer: Sealer,
  request: { orderCode: unknown; cardSerial: unknown },
): Promise<IssueRelease> {
  const cardSerial = checkCardSerial(request.cardSerial);
  let cleared: { holder: string; sealed_unlock_code: string } | undefined;
  const take = async (tx: Tx, code: unknown): Promise<TakenOrder & { release?: number }> => {
    cleared = await clearedCard(tx, cardSerial);
    return cleared
      ? releaseUnderOrder(tx, code, "issue", cardSerial)
      : checkOrder(tx, code, "issue", cardSerial);
  };
  return withOrder(
    queryable,
    request.orderCode,
    "issue",
    cardSerial,
    async (tx, order): Promise<IssueRelease> => {
      if (!cleared) return { cardSerial, cleared: false };
      await recordEvent(tx, order.actor, {
        action: "smartcard.reissue-unlock-code-released",
        subject: { type: "smartcard", id: cardSerial },
        after: { previousHolder: cleared.holder, holder: order.holder, release: order.release },
      });
      return { cardSerial, cleared: true, unlockCode: sealer.open(cleared.sealed_unlock_code) };
    },
    take,
  );
}

async function clearedCard(tx: Tx, cardSerial: string) {
  const card = await tx
    .selectFrom("smartcards")
    .select(["holder", "status", "sealed_unlock_code"])
    .where("serial", "=", cardSerial)
    .forUpdate()
    .executeTakeFirst();
  return card?.status === "cleared" ? card : undefined;
}
