import { createHash, randomBytes } from "node:crypto";
import type { Selectable } from "kysely";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { DomainError, InvalidInputError, NotFoundError } from "../../errors.ts";
import { findPersonSummary } from "../../people/people.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";
import type { SmartcardOrdersTable, SmartcardStatus } from "../../store/schema.ts";
import { auditingRefusal, authoriseCardAction, type CardAction } from "./authority.ts";
import { liveCertificates } from "./cards.ts";

/**
 * An order is an RA's authority for the workstation agent to do one thing once: issue a card
 * to a person, renew a card, release a card's unlock code, repair a card (new keys and
 * certificates, also after expiry) or clear it for reuse. The RA hands the agent a one-time
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
  repair: "smartcard.repair",
  clear: "smartcard.clear",
};
// Orders that release the card's unlock code are used with the holder or the card at the desk.
const validHours: Record<OrderKind, number> = { issue: 24, renew: 24, unlock: 1, repair: 1, clear: 1 };
/** What state a card must be in for an order of each kind (a cancelled card may still be wiped). */
const orderableStatuses: Record<Exclude<OrderKind, "issue">, SmartcardStatus[]> = {
  renew: ["active", "locked"],
  unlock: ["active", "locked"],
  repair: ["active", "locked"],
  clear: ["active", "locked", "cancelled"],
};
/** A card pulled out mid-repair or mid-clear may be tried again under the same order, this often. */
export const unlockCodeReleases = 3;
const base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export async function createCardOrder(
  queryable: Queryable,
  actor: Actor,
  request: { kind: OrderKind; holder?: string; cardSerial?: string; reason?: string },
  now = new Date(),
): Promise<Order> {
  const subject = request.cardSerial
    ? { type: "smartcard", id: request.cardSerial }
    : { type: "person", id: request.holder ?? "" };
  const attempt = { action: `${request.kind}-order`, subject };
  return auditingRefusal(queryable, actor, attempt, () =>
    inTransaction(queryable, async (tx) => {
      const { holder, cardSerial, expired } = await orderTarget(tx, request, now);
      // Repairing a card whose certificates ran out is renewing it after expiry, in the RA policy.
      const action =
        request.kind === "repair" && expired ? "smartcard.renew-expired" : actionOf[request.kind];
      const authority = await authoriseCardAction(tx, actor, action, holder);
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
        reason: request.reason,
      });
      return { code, kind: request.kind, holder, cardSerial, expiresAt };
    }),
  );
}

async function orderTarget(
  tx: Tx,
  request: { kind: OrderKind; holder?: string; cardSerial?: string },
  now: Date,
): Promise<{ holder: string; cardSerial: string | null; expired: boolean }> {
  if (request.kind === "issue") {
    if (!request.holder) throw InvalidInputError.field("uuid", "is required: the person the card is for");
    const person = await findPersonSummary(tx, request.holder);
    if (!person) throw new NotFoundError("person", `There is no person with UUID ${request.holder}`);
    if (person.status !== "active")
      throw new DomainError(
        "person-not-active",
        `Person ${request.holder} is ${person.status}: no card can be issued`,
      );
    return { holder: request.holder, cardSerial: null, expired: false };
  }
  if (!request.cardSerial) throw InvalidInputError.field("card", "is required: the card's serial number");
  const card = await tx
    .selectFrom("smartcards")
    .select(["holder", "status"])
    .where("serial", "=", request.cardSerial)
    .executeTakeFirst();
  if (!card) throw new NotFoundError("smartcard", `There is no card ${request.cardSerial}`);
  if (!orderableStatuses[request.kind].includes(card.status))
    throw new DomainError(
      "card-not-usable",
      `Card ${request.cardSerial} is ${card.status}: it cannot have ${request.kind === "unlock" ? "an" : "a"} ${request.kind} order`,
    );
  if (request.kind === "renew") await checkRenewalWindow(tx, request.cardSerial, now);
  const expired = (await liveCertificates(tx, request.cardSerial, now)).length === 0;
  return { holder: card.holder, cardSerial: request.cardSerial, expired };
}

/** Renewal opens 90 days before the certificates expire; an expired card needs a repair. */
export const renewalWindowDays = 90;

async function checkRenewalWindow(tx: Tx, cardSerial: string, now: Date): Promise<void> {
  const live = await tx
    .selectFrom("pki_certificates")
    .leftJoin("pki_revocations", "pki_revocations.serial", "pki_certificates.serial")
    .select((select) => select.fn.min("pki_certificates.not_after").as("expires"))
    .where("pki_certificates.card_serial", "=", cardSerial)
    .where("pki_revocations.serial", "is", null)
    .where("pki_certificates.not_after", ">", now)
    .executeTakeFirst();
  const expires = live?.expires ? new Date(live.expires) : undefined;
  if (!expires)
    throw new DomainError(
      "card-expired",
      `Card ${cardSerial}'s certificates have expired: it needs a repair`,
    );
  const opens = new Date(expires.getTime() - renewalWindowDays * 86_400_000);
  if (now < opens)
    throw new DomainError(
      "renewal-not-due",
      `Card ${cardSerial} is valid until ${expires.toISOString().slice(0, 10)}; it can be renewed from ${opens.toISOString().slice(0, 10)}`,
    );
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
  const row = await validOrder(tx, code, kind, cardSerial, now);
  await tx
    .updateTable("smartcard_orders")
    .set({ used_at: now })
    .where("code_digest", "=", row.code_digest)
    .execute();
  return takenOrder(row, kind);
}

/**
 * A repair or clear order (or an issue order for a cleared card) lets the agent have the card's
 * unlock code before the order is spent (the passcode must be reset, or the card wiped, before
 * the service hears the outcome); each release is counted, so a card pulled out mid-way can be
 * tried again, but only a few times.
 */
export async function releaseUnderOrder(
  tx: Tx,
  code: unknown,
  kind: "repair" | "clear" | "issue",
  cardSerial: string,
  now = new Date(),
): Promise<TakenOrder & { release: number }> {
  const row = await validOrder(tx, code, kind, cardSerial, now);
  if (row.releases >= unlockCodeReleases)
    throw new DomainError(
      "order-refused",
      "This order has released the card's unlock code too often; ask for a new order",
    );
  await tx
    .updateTable("smartcard_orders")
    .set({ releases: row.releases + 1 })
    .where("code_digest", "=", row.code_digest)
    .execute();
  return { ...takenOrder(row, kind), release: row.releases + 1 };
}

/** Checks an order in the caller's transaction without spending it or counting a release. */
export async function checkOrder(
  tx: Tx,
  code: unknown,
  kind: OrderKind,
  cardSerial: string | null,
  now = new Date(),
): Promise<TakenOrder> {
  return takenOrder(await validOrder(tx, code, kind, cardSerial, now), kind);
}

async function validOrder(tx: Tx, code: unknown, kind: OrderKind, cardSerial: string | null, now: Date) {
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
  return row;
}

function takenOrder(row: Selectable<SmartcardOrdersTable>, kind: OrderKind): TakenOrder {
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
