import type { Actor } from "../audit/actor.ts";
import { endSessionsOf } from "../cis2/session-revocation.ts";
import { ConflictError, ForbiddenError, InvalidInputError } from "../errors.ts";
import { changePersonStatus, getPerson, type Person } from "../people/people.ts";
import { fourEyes } from "../ra-policy/policy.ts";
import { revokeRemoteSigningKeysOf } from "../signing/remote-keys.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier } from "../store/identifiers.ts";
import { type ActionCommon, recordAction, requiredReason } from "./acting.ts";
import { cancelAllAuthenticators } from "./authenticators.ts";
import { closeRequestsAbout, type Directness, doOrRequest, type Outcome } from "./requests.ts";
import { cancelCardsOf } from "./smartcards.ts";

type ClosureInput = ActionCommon & Directness & { uuid: string };

/**
 * What closing a profile did, for whoever closed it to see (the CIM pages and API, the command
 * line) and for the audit log.
 */
export type Closure = {
  profile: Person;
  /** Role profile ids of the positions ended. */
  positionsEnded: string[];
  /** Open requests about the person, rejected because the profile closed. */
  requestsClosed: number;
  /** The kind of each authenticator cancelled: authenticator-app, security-key, enrolment-link, password. */
  authenticatorsCancelled: string[];
  /** Each card cancelled, with the serial numbers of the certificates revoked on it. */
  smartcardsCancelled: Array<{ cardSerial: string; revoked: string[] }>;
  /** Serial numbers of the remote signing certificates revoked with the person's signing key. */
  remoteSigningRevoked: string[];
  /** CIS2 sessions ended, and back-channel logouts queued for the relying parties they reached. */
  sessionsEnded: number;
  logoutsQueued: number;
};

/** What closing and reopening share: a reason, the policy (or a sponsor's request), one transaction. */
async function statusChange<T>(
  queryable: Queryable,
  actor: Actor,
  input: ClosureInput,
  action: "profile.close" | "profile.reopen",
  refusal: (person: Person) => string | undefined,
  work: (tx: Tx, acting: Actor, reason: string) => Promise<T>,
): Promise<Outcome<T>> {
  const reason = requiredReason(
    input,
    action === "profile.close" ? "to close a profile" : "to reopen a profile",
  );
  if (!isCareIdentifier(input.uuid))
    throw InvalidInputError.field("uuid", "must be a 12-digit Care Identity UUID");
  const onYourself = fourEyes({ action, actorUuid: actor.id, subjectUuid: input.uuid });
  if (onYourself) throw new ForbiddenError(onYourself);
  return inTransaction(queryable, async (tx) => {
    const refused = refusal(await getPerson(tx, input.uuid));
    if (refused) throw new ConflictError(`uuid: profile ${input.uuid} ${refused}`, "uuid");
    return doOrRequest(
      tx,
      actor,
      action,
      { uuid: input.uuid },
      input,
      { subjectUuid: input.uuid, details: {} },
      (acting) => work(tx, acting, reason),
    );
  });
}

/**
 * Closes a leaver's profile, the one way it is done (CIM pages and API, an approved ESR or
 * sponsor's request, the command line): every position ends, open requests about them are
 * closed, every authenticator is cancelled, every card is cancelled with its certificates
 * revoked, and their CIS2 sessions end with back-channel logout, all in one transaction.
 */
export async function closeProfile(
  queryable: Queryable,
  actor: Actor,
  input: ClosureInput,
): Promise<Outcome<Closure>> {
  const alreadyClosed = (person: Person) => (person.status === "closed" ? "is already closed" : undefined);
  return statusChange(queryable, actor, input, "profile.close", alreadyClosed, async (tx, acting, reason) => {
    const { person, positionsEnded } = await changePersonStatus(tx, acting, input.uuid, "closed", reason);
    const requestsClosed = await closeRequestsAbout(
      tx,
      acting,
      input.uuid,
      `The profile was closed: ${reason}`,
    );
    const authenticatorsCancelled = await cancelAllAuthenticators(tx, input.uuid);
    const smartcardsCancelled = await cancelCardsOf(tx, acting, input.uuid, reason);
    const remoteSigningRevoked = await revokeRemoteSigningKeysOf(tx, input.uuid);
    const ended = await endSessionsOf(tx, acting, input.uuid);
    const done = {
      positionsEnded,
      requestsClosed,
      authenticatorsCancelled,
      smartcardsCancelled,
      remoteSigningRevoked,
      sessionsEnded: ended.sessions,
      logoutsQueued: ended.notices,
    };
    await recordAction(
      tx,
      acting,
      { action: "profile.closed", subject: { type: "person", id: input.uuid }, after: done },
      input,
    );
    return { profile: person, ...done };
  });
}

/** Reopens a closed profile. Its positions and authenticators are not restored: they are given anew. */
export async function reopenProfile(
  queryable: Queryable,
  actor: Actor,
  input: ClosureInput,
): Promise<Outcome<Person>> {
  const notClosed = (person: Person) => (person.status !== "closed" ? "is not closed" : undefined);
  return statusChange(queryable, actor, input, "profile.reopen", notClosed, async (tx, acting, reason) => {
    const { person } = await changePersonStatus(tx, acting, input.uuid, "active", reason);
    await recordAction(
      tx,
      acting,
      { action: "profile.reopened", subject: { type: "person", id: input.uuid } },
      input,
    );
    return person;
  });
}
