import type { Actor } from "../../audit/actor.ts";
import { DomainError } from "../../errors.ts";
import type { Queryable } from "../../store/database.ts";

export type CardAction =
  | "smartcard.issue"
  | "smartcard.unlock"
  | "smartcard.cancel"
  | "smartcard.renew-near-expiry";

/** Who authorised a card action and in which role; the agent later acts on this authority. */
export type CardAuthority = { by: string; kind: Actor["kind"]; role: string | null };

/**
 * May this actor do this to this holder's card? The operator at the command line holds the
 * service's own authority; a person needs an RA role over the holder's organisation.
 */
export async function authoriseCardAction(
  _queryable: Queryable,
  actor: Actor,
  action: CardAction,
  _holder: string,
): Promise<CardAuthority> {
  if (actor.kind === "operator") return { by: actor.id, kind: actor.kind, role: "OPERATOR" };
  // The RA policy (registration/policy.ts) decides for people once it is merged.
  throw new DomainError(
    "forbidden",
    `Only a registration authority may ${action.replace("smartcard.", "")} a smartcard`,
  );
}
