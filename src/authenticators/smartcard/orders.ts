import { createHash, randomBytes } from "node:crypto";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { DomainError, InvalidInputError, NotFoundError } from "../../errors.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";
import type { SmartcardOrdersTable } from "../../store/schema.ts";
import { auditingRefusal, authoriseCardAction, type CardAction } from "./authority.ts";

/**
 * An order is an RA's authority for the workstation agent to do one thing once: issue a card
 * to a person, renew a card, or release a card's unlock code. The RA hands the agent a one-time
 * code; only its digest is kept.
 */
export type OrderKind = SmartcardOrdersTable["kind"];
export type Order = {
  code: string;
  kind: OrderKind;
  holder: string;
  cardSerial: string | null;
  expiresAt: Date;
};
export type TakenOrder = Omit<Order, "code"> & { actor: Actor };

const actionOf: Record<OrderKind, CardAction> = {
  issue: "smartcard.issue",
  renew: "smartcard.renew-near-expiry",
  unlock: "smartcard.unlock",
};
const validHours: Record<OrderKind, number> = { issue: 24, renew: 24, unlock: 1 };
const base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export async function createCardOrder(
  queryable: Queryable,
  actor: Actor,
  request: { kind: OrderKind; holder?: string; cardSerial?: string },
  now = new Date(),
): Promise<Order> {
  const subject = request.cardSerial
    ? { type: "smartcard", id: request.cardSerial }
    : { type: "person", id: request.holder ?? "" };
  const attempt = { action: `${request.kind}-order`, subject };
  return auditingRefusal(queryable, actor, attempt, () =>
    inTransaction(queryable, async (tx) => {
      const { holder, cardSerial } = await orderTarget(tx, request);
      const authority = await authoriseCardAction(tx, actor, actionOf[request.kind], holder);
      const code = newOrderCode();
      const expiresAt = new Date(now.getTime() + validHours[request.kind] * 3_600_000);
      await tx
        .insertInto("smartcard_orders")
        .values({
          code_digest: digestOf(code),
          kind: request.kind,
          holder,
          card_serial: cardSerial,
          authorised_by: authority.by,
          authorised_role: authority.role,
          expires_at: expiresAt,
        })
        .execute();
      await recordEvent(tx, actor, {
        action: "smartcard.order-created",
        subject: { type: "person", id: holder },
        after: { kind: request.kind, cardSerial, expiresAt: expiresAt.toISOString(), role: authority.role },
      });
      return { code, kind: request.kind, holder, cardSerial, expiresAt };
    }),
  );
}

async function orderTarget(
  tx: Tx,
  request: { kind: OrderKind; holder?: string; cardSerial?: string },
): Promise<{ holder: string; cardSerial: string | null }> {
  if (request.kind === "issue") {
    if (!request.holder) throw InvalidInputError.field("uuid", "is required: the person the card is for");
    const person = await tx
      .selectFrom("people")
      .select("status")
      .where("uuid", "=", request.holder)
      .executeTakeFirst();
    if (!person) throw new NotFoundError("person", `There is no person with UUID ${request.holder}`);
    if (person.status !== "active")
      throw new DomainError(
        "person-not-active",
        `Person ${request.holder} is ${person.status}: no card can be issued`,
      );
    return { holder: request.holder, cardSerial: null };
  }
  if (!request.cardSerial) throw InvalidInputError.field("card", "is required: the card's serial number");
  const card = await tx
    .selectFrom("smartcards")
    .select(["holder", "status"])
    .where("serial", "=", request.cardSerial)
    .executeTakeFirst();
  if (!card) throw new NotFoundError("smartcard", `There is no card ${request.cardSerial}`);
  if (!["active", "locked"].includes(card.status))
    throw new DomainError("card-not-usable", `Card ${request.cardSerial} is ${card.status}`);
  return { holder: card.holder, cardSerial: request.cardSerial };
}

/**
 * Spends an order in the caller's transaction. Refusals name what is wrong without saying
 * whether some other order exists, and change nothing.
 */
export async function takeOrder(
  tx: Tx,
  code: unknown,
  kind: OrderKind,
  cardSerial: string | null,
  now = new Date(),
): Promise<TakenOrder> {
  if (typeof code !== "string" || !/^[A-Z2-7]{4}(-?[A-Z2-7]{4}){3}$/i.test(code.trim()))
    throw InvalidInputError.field("orderCode", "is required: the order code the registration authority gave");
  const row = await tx
    .selectFrom("smartcard_orders")
    .selectAll()
    .where("code_digest", "=", digestOf(code))
    .forUpdate()
    .executeTakeFirst();
  const refuse = (message: string) => new DomainError("order-refused", message);
  if (!row || row.kind !== kind) throw refuse(`This is not a valid ${kind} order code`);
  if (row.used_at) throw refuse("This order code has been used already; ask for a new order");
  if (row.expires_at < now) throw refuse("This order code has expired; ask for a new order");
  if (row.card_serial !== null && row.card_serial !== cardSerial)
    throw refuse(`This order is for card ${row.card_serial}, not for this card`);
  await tx
    .updateTable("smartcard_orders")
    .set({ used_at: now })
    .where("code_digest", "=", row.code_digest)
    .execute();
  return {
    kind,
    holder: row.holder,
    cardSerial: row.card_serial,
    expiresAt: row.expires_at,
    actor: {
      kind: row.authorised_role === "OPERATOR" ? "operator" : "person",
      id: row.authorised_by,
      roleId: row.authorised_role === "OPERATOR" ? undefined : (row.authorised_role ?? undefined),
      source: "AGENT",
    },
  };
}

function newOrderCode(): string {
  const bytes = randomBytes(16);
  const characters = Array.from({ length: 16 }, (_, index) => base32[(bytes[index] ?? 0) & 31]);
  return [0, 4, 8, 12].map((start) => characters.slice(start, start + 4).join("")).join("-");
}

function digestOf(code: string): string {
  const canonical = code.trim().toUpperCase().replace(/-/g, "");
  return createHash("sha256").update(canonical).digest("hex");
}
