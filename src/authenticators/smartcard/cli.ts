import { type Actor, operatorActor } from "../../audit/actor.ts";
import { InvalidInputError } from "../../errors.ts";
import {
  type CommandOptions,
  type OptionValues,
  type Prepare,
  requiredOption,
  storeCommand,
  type WithStore,
} from "../../store-command.ts";
import { type Withdrawal, withdrawCard } from "./cards.ts";
import { createCardOrder, type Order, type OrderKind } from "./orders.ts";
import { type CardRecord, listCards, showCard } from "./records.ts";

const asOption = {
  as: {
    type: "string" as const,
    help: "act as this RA (their UUID), under the RA policy; default: the operator",
  },
};

/**
 * The registration authority's smartcard commands. An order prints a one-time code the RA
 * types into the workstation agent; the unlock code itself is never shown here.
 */
export function cardCommands(withStore: WithStore, prepare: Prepare) {
  const command = storeCommand(withStore, prepare);
  const order = (kind: OrderKind, target: "uuid" | "card", summary: string) =>
    command(
      `cards ${kind}-order`,
      `careid cards ${kind}-order --${target} ${target === "uuid" ? "UUID" : "SERIAL"} [--as RA_UUID]`,
      summary,
      {
        [target]: {
          type: "string",
          help: target === "uuid" ? "the person the card is for" : "the card's serial",
        },
        ...asOption,
      },
      async (store, values) => {
        const value = requiredOption(values, target);
        const made = await createCardOrder(
          store.db,
          actorOf(values),
          target === "uuid" ? { kind, holder: value } : { kind, cardSerial: value },
        );
        printOrder(made);
        return 0;
      },
    );
  const withdraw = (
    name: string,
    status: (values: OptionValues) => Withdrawal,
    summary: string,
    extra: CommandOptions,
  ) =>
    command(
      name,
      `careid ${name} --card SERIAL --reason TEXT${extra.stolen ? " [--stolen]" : ""} [--as RA_UUID]`,
      summary,
      {
        card: { type: "string", help: "the card's serial" },
        reason: { type: "string", help: "why (recorded in the audit log)" },
        ...extra,
        ...asOption,
      },
      async (store, values) => {
        const result = await withdrawCard(store.db, actorOf(values), {
          cardSerial: requiredOption(values, "card"),
          status: status(values),
          reason: requiredOption(values, "reason"),
        });
        console.log(
          `Card ${result.cardSerial} is ${result.status}; revoked certificates: ${result.revoked.join(", ") || "none"}.`,
        );
        return 0;
      },
    );
  return {
    "cards list": command(
      "cards list",
      "careid cards list [--uuid UUID]",
      "List smartcards (of one holder), with status and certificate expiry.",
      { uuid: { type: "string", help: "only this holder's cards" } },
      async (store, values) => {
        const holder = typeof values.uuid === "string" ? values.uuid : undefined;
        const cards = await listCards(store.db, { holder });
        for (const card of cards)
          console.log(
            `${card.cardSerial.padEnd(20)} ${card.holder}  ${card.status.padEnd(9)} ${expiryOf(card)}`,
          );
        if (cards.length === 0) console.log("No cards.");
        return 0;
      },
    ),
    "cards show": command(
      "cards show",
      "careid cards show --card SERIAL",
      "Show a smartcard: holder, status and its certificates (serial, profile, expiry, revocation).",
      { card: { type: "string", help: "the card's serial" } },
      async (store, values) => {
        console.log(JSON.stringify(await showCard(store.db, requiredOption(values, "card")), null, 2));
        return 0;
      },
    ),
    "cards issue-order": order(
      "issue",
      "uuid",
      "Authorise issuing a card to a person; prints the one-time order code for the agent.",
    ),
    "cards unlock-order": order(
      "unlock",
      "card",
      "Authorise unlocking a locked card; prints the one-time order code for the agent (valid 1 hour).",
    ),
    "cards renew-order": order(
      "renew",
      "card",
      "Authorise renewing a card's certificates (within 90 days of expiry); prints the one-time order code.",
    ),
    "cards repair-order": order(
      "repair",
      "card",
      "Authorise repairing a card, also one whose certificates expired: new keys and certificates, a new passcode with the holder present; prints the one-time order code (valid 1 hour).",
    ),
    "cards clear-order": order(
      "clear",
      "card",
      "Authorise clearing a card for reuse by someone else: the agent wipes it, its certificates are revoked and its record ends; prints the one-time order code (valid 1 hour).",
    ),
    "cards cancel": withdraw(
      "cards cancel",
      () => "cancelled",
      "Cancel a card: its certificates are revoked at once (CRL and OCSP).",
      {},
    ),
    "cards report-lost": withdraw(
      "cards report-lost",
      (values) => (values.stolen === true ? "stolen" : "lost"),
      "Record a card lost (or --stolen): its certificates are revoked at once for key compromise.",
      { stolen: { type: "boolean", help: "the card was stolen rather than lost" } },
    ),
  };
}

function actorOf(values: OptionValues): Actor {
  if (typeof values.as !== "string") return operatorActor();
  if (!/^\d{12}$/.test(values.as)) throw InvalidInputError.field("--as", "must be a 12-digit UUID");
  return { kind: "person", id: values.as, source: "CLI" };
}

function printOrder(order: Order): void {
  console.log(
    [
      `Order code: ${order.code}`,
      `For:        ${order.kind} ${order.cardSerial ? `card ${order.cardSerial} of ` : "a card for "}${order.holder}`,
      `Valid until ${order.expiresAt.toISOString()}, once. Type it into the smartcard agent; it is not shown again.`,
    ].join("\n"),
  );
}

function expiryOf(card: CardRecord): string {
  const live = card.certificates.filter((certificate) => !certificate.revoked);
  return live.length > 0 ? `certificates until ${live[0]?.notAfter.slice(0, 10)}` : "no live certificates";
}
