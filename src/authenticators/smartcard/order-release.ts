import { recordEvent } from "../../audit/record.ts";
import { DomainError } from "../../errors.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Queryable } from "../../store/database.ts";
import type { SmartcardStatus } from "../../store/schema.ts";
import { checkCardSerial, lockedCard, withOrder } from "./cards.ts";
import { releaseUnderOrder, type TakenOrder } from "./orders.ts";

/**
 * The first step of a repair or a clear: the agent, carrying the RA's order and the card's
 * serial from the reader, gets the card's escrowed unlock code, to reset the passcode (repair)
 * or wipe the token (clear). The order stays unspent until the agent reports the outcome, so a
 * card pulled out mid-way can be tried again (a few times). Each release is audited, without the code.
 */
export const cardStatusesFor: Record<"repair" | "clear", SmartcardStatus[]> = {
  repair: ["active", "locked"],
  clear: ["active", "locked", "cancelled"],
};

export async function releaseForOrder(
  queryable: Queryable,
  sealer: Sealer,
  kind: "repair" | "clear",
  request: { orderCode: unknown; cardSerial: unknown },
): Promise<{ cardSerial: string; unlockCode: string }> {
  const cardSerial = checkCardSerial(request.cardSerial);
  return withOrder(
    queryable,
    request.orderCode,
    kind,
    cardSerial,
    async (tx, order: TakenOrder & { release: number }) => {
      const card = await lockedCard(tx, cardSerial);
      checkCardStatus(kind, cardSerial, card.status);
      await recordEvent(tx, order.actor, {
        action: `smartcard.${kind}-unlock-code-released`,
        subject: { type: "smartcard", id: cardSerial },
        after: { holder: card.holder, release: order.release },
      });
      return { cardSerial, unlockCode: sealer.open(card.sealed_unlock_code) };
    },
    (tx, code, _kind, serial) => releaseUnderOrder(tx, code, kind, serial ?? ""),
  );
}

export function checkCardStatus(kind: "repair" | "clear", cardSerial: string, status: SmartcardStatus): void {
  if (!cardStatusesFor[kind].includes(status))
    throw new DomainError(
      "card-not-usable",
      `Card ${cardSerial} is ${status}: it cannot be ${kind === "repair" ? "repaired" : "cleared"}`,
    );
}
