import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { DomainError, ForbiddenError } from "../../errors.ts";
import { authorise } from "../../ra-policy/policy.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";

export type CardAction =
  | "smartcard.issue"
  | "smartcard.unlock"
  | "smartcard.cancel"
  | "smartcard.renew-near-expiry"
  | "smartcard.renew-expired"
  | "smartcard.repair"
  | "smartcard.clear";

/** Who authorised a card action and in which role; the agent later acts on this authority. */
export type CardAuthority = { by: string; kind: Actor["kind"]; role: string | null };

/**
 * May this actor do this to this holder's card? The operator at the command line holds the
 * service's own authority; a person needs an RA role over one of the holder's organisations,
 * as the RA policy decides. The role profile a person acted in is kept with what they authorise.
 */
export async function authoriseCardAction(
  queryable: Queryable,
  actor: Actor,
  action: CardAction,
  holder: string,
): Promise<CardAuthority> {
  if (actor.kind === "operator") return { by: actor.id, kind: actor.kind, role: "OPERATOR" };
  if (actor.kind !== "person")
    throw new ForbiddenError(`Only a registration authority may authorise ${action}`);
  const decision = await authorise(queryable, actor.id, action, { uuid: holder });
  if (decision.byRequest) throw new ForbiddenError(`${action} cannot be asked for by request`);
  return { by: actor.id, kind: actor.kind, role: decision.position ?? null };
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
