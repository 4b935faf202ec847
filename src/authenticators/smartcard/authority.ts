import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { DomainError } from "../../errors.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";

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

/**
 * Runs a card action; if the policy refuses it, the refusal is recorded (after the action's
 * transaction has rolled back, so nothing else of it stays) and the error goes on to the caller.
 */
export async function auditingRefusal<T>(
  queryable: Queryable,
  actor: Actor,
  attempt: { action: string; subject: { type: string; id: string } },
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError && error.code === "forbidden")
      await inTransaction(queryable, (tx) =>
        recordEvent(tx, actor, {
          action: "smartcard.refused",
          subject: attempt.subject,
          after: { attempted: attempt.action, reason: error.message },
        }),
      );
    throw error;
  }
}
