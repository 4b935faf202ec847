import type { Actor } from "../audit/actor.ts";
import { issueEnrolmentLink } from "../authenticators/enrolment/links.ts";
import { deleteUpstreamLink, linkIdPrefix, linksOf } from "../authenticators/federation/links.ts";
import { forcePasswordReset, removePassword } from "../authenticators/password/passwords.ts";
import { accountCappedUntil } from "../authenticators/throttle.ts";
import { unlockTotp } from "../authenticators/totp/app-authenticators.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { maskRecipient, queueMessage } from "../messaging/outbox.ts";
import { findPersonSummary } from "../people/people.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier } from "../store/identifiers.ts";
import { type ActionCommon, authorised, recordAction, requiredReason } from "./acting.ts";

/** An authenticator as an RA sees it: what kind, since when, last used; never its secret. */
export type Authenticator = {
  /** "authenticator-app", a WebAuthn credential id, or an enrolment link's digest prefix. */
  id: string;
  kind: "authenticator-app" | "security-key" | "enrolment-link" | "nhs-net-connect";
  /** The sign-in method (amr) for credentials; the link's state for links. */
  detail: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** An authenticator app locked after too many wrong codes, or by the day's cap on guesses. */
  locked?: boolean;
  /** Until when the app is locked, or the link may be used. */
  until?: Date;
};

const appId = "authenticator-app";

export async function authenticatorsOf(queryable: Queryable, uuid: string): Promise<Authenticator[]> {
  const app = await queryable
    .selectFrom("totp_authenticators")
    .select(["created_at", "last_used_at", "locked_until"])
    .where("uuid", "=", uuid)
    .executeTakeFirst();
  const appLockedUntil = app?.locked_until && app.locked_until > new Date() ? app.locked_until : undefined;
  // The day's cap on wrong passwords and codes stops the app too, and the same unlock lifts it.
  const cappedUntil = app ? await accountCappedUntil(queryable, uuid) : undefined;
  const lockedUntil = [appLockedUntil, cappedUntil].reduce<Date | null>(
    (latest, until) => (until && (!latest || until > latest) ? until : latest),
    null,
  );
  const credentials = await queryable
    .selectFrom("webauthn_credentials")
    .select(["credential_id", "method", "created_at", "last_used_at"])
    .where("uuid", "=", uuid)
    .orderBy("created_at")
    .execute();
  const links = await queryable
    .selectFrom("enrolment_links")
    .select(["token_digest", "expires_at", "used_at", "created_at"])
    .where("uuid", "=", uuid)
    .where("used_at", "is", null)
    .where("expires_at", ">", new Date())
    .orderBy("created_at")
    .execute();
  return [
    ...(app
      ? [
          {
            id: appId,
            kind: "authenticator-app" as const,
            detail: lockedUntil ? `TOTP, locked until ${lockedUntil.toISOString()}` : "TOTP",
            locked: lockedUntil !== null,
            ...(lockedUntil ? { until: lockedUntil } : {}),
            createdAt: app.created_at,
            lastUsedAt: app.last_used_at,
          },
        ]
      : []),
    ...credentials.map((credential) => ({
      id: credential.credential_id,
      kind: "security-key" as const,
      detail: credential.method,
      createdAt: credential.created_at,
      lastUsedAt: credential.last_used_at,
    })),
    ...(await linksOf(queryable, uuid)).map((link) => ({
      id: `${linkIdPrefix}${link.providerId}`,
      kind: "nhs-net-connect" as const,
      detail: `NHSMAIL, ${link.email ?? link.subject}${link.status === "active" ? "" : ", turned off"}`,
      createdAt: link.createdAt,
      lastUsedAt: link.lastUsedAt,
    })),
    ...links.map((link) => ({
      id: `link-${link.token_digest.slice(0, 16)}`,
      kind: "enrolment-link" as const,
      detail: `open until ${link.expires_at.toISOString()}`,
      until: link.expires_at,
      createdAt: link.created_at,
      lastUsedAt: null,
    })),
  ];
}

/**
 * Issues a one-time enrolment link the person opens to register a security key or an
 * authenticator app. The token is returned once, for the RA to hand over, or is sent to the
 * email on the profile through the outbox, queued in the same transaction; only its digest is kept.
 */
export async function issueAuthenticatorLink(
  queryable: Queryable,
  actor: Actor,
  input: ActionCommon & {
    uuid: string;
    validHours?: number;
    /** Send the link to the profile's email: the sealer for the outbox, and the enrolment page's URL. */
    email?: { sealer: Sealer; linkBase: string };
  },
): Promise<{ token: string; expiresAt: Date; sentTo?: string }> {
  if (!isCareIdentifier(input.uuid))
    throw InvalidInputError.field("uuid", "must be a 12-digit Care Identity UUID");
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "authenticator.issue", { uuid: input.uuid }, input);
    const address = input.email ? await profileEmail(tx, input.uuid) : undefined;
    const link = await issueEnrolmentLink(tx, acting, { uuid: input.uuid, validHours: input.validHours });
    let message: string | undefined;
    if (input.email && address)
      message = await queueMessage(tx, input.email.sealer, {
        channel: "email",
        to: address,
        template: "enrolment-link",
        personalisation: {
          authenticator: "a security key or an authenticator app",
          link: `${input.email.linkBase}/${link.token}`,
          expires: `${link.expiresAt.toISOString().slice(0, 16).replace("T", " ")} UTC`,
        },
      });
    const sentTo = address ? maskRecipient("email", address) : undefined;
    await recordAction(
      tx,
      acting,
      {
        action: "authenticator.link-issued",
        subject: { type: "person", id: input.uuid },
        after: { expiresAt: link.expiresAt, ...(sentTo ? { sentTo, message } : {}) },
      },
      input,
    );
    return { ...link, sentTo };
  });
}

async function profileEmail(tx: Tx, uuid: string): Promise<string> {
  const person = await findPersonSummary(tx, uuid);
  if (!person?.email)
    throw InvalidInputError.field(
      "email",
      "the profile has no email address to send the link to; add one first",
    );
  return person.email;
}

/** Unlocks a person's authenticator app before its cool-down ends; who may issue may unlock. */
export async function unlockAuthenticatorApp(
  queryable: Queryable,
  actor: Actor,
  input: ActionCommon & { uuid: string },
): Promise<{ wasLocked: boolean }> {
  if (!isCareIdentifier(input.uuid))
    throw InvalidInputError.field("uuid", "must be a 12-digit Care Identity UUID");
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "authenticator.issue", { uuid: input.uuid }, input);
    return unlockTotp(tx, acting, input.uuid);
  });
}

/**
 * An RA forces a reset of the password a person uses with their authenticator app (suspected
 * known to someone else): it signs no one in until its holder resets it with an emailed code and
 * an app code. Who may issue authenticators may force it; audited as password.reset-forced.
 */
export async function forceAppPasswordReset(
  queryable: Queryable,
  actor: Actor,
  input: ActionCommon & { uuid: string },
): Promise<void> {
  if (!isCareIdentifier(input.uuid))
    throw InvalidInputError.field("uuid", "must be a 12-digit Care Identity UUID");
  await inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "authenticator.issue", { uuid: input.uuid }, input);
    await forcePasswordReset(tx, acting, input.uuid);
  });
}

/** Removes one authenticator (or an open enrolment link) from a person; a reason is required. */
export async function removeAuthenticator(
  queryable: Queryable,
  actor: Actor,
  input: ActionCommon & { uuid: string; authenticatorId: string },
): Promise<void> {
  requiredReason(input, "to remove an authenticator");
  if (!isCareIdentifier(input.uuid))
    throw InvalidInputError.field("uuid", "must be a 12-digit Care Identity UUID");
  await inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "authenticator.remove", { uuid: input.uuid }, input);
    const held = (await authenticatorsOf(tx, input.uuid)).find((item) => item.id === input.authenticatorId);
    if (!held)
      throw new NotFoundError(
        "authenticator",
        `authenticatorId: ${input.uuid} has no authenticator ${input.authenticatorId}`,
      );
    await deleteAuthenticator(tx, input.uuid, held);
    await recordAction(
      tx,
      acting,
      { action: "authenticator.removed", subject: { type: "person", id: input.uuid }, before: held },
      input,
    );
  });
}

async function deleteAuthenticator(tx: Tx, uuid: string, held: Authenticator): Promise<void> {
  if (held.kind === "authenticator-app")
    await tx.deleteFrom("totp_authenticators").where("uuid", "=", uuid).execute();
  if (held.kind === "security-key")
    await tx
      .deleteFrom("webauthn_credentials")
      .where("uuid", "=", uuid)
      .where("credential_id", "=", held.id)
      .execute();
  if (held.kind === "nhs-net-connect") await deleteUpstreamLink(tx, uuid, held.id.slice(linkIdPrefix.length));
  if (held.kind === "enrolment-link")
    await tx
      .updateTable("enrolment_links")
      .set({ expires_at: new Date(), pending_totp_secret: null, pending_challenge: null })
      .where("uuid", "=", uuid)
      .where("token_digest", "like", `${held.id.slice("link-".length)}%`)
      .execute();
}

/**
 * Cancels every authenticator a person holds, as closing their profile requires: WebAuthn
 * credentials, the authenticator app, open enrolment links and the password (the app's first
 * factor, and the development login's), so that a reopened profile starts with none. Smartcards
 * are cancelled beside this (cancelCardsOf), since their certificates must be revoked. Returns
 * the kind of each one cancelled.
 */
export async function cancelAllAuthenticators(
  tx: Tx,
  uuid: string,
): Promise<Array<Authenticator["kind"] | "password">> {
  const held = await authenticatorsOf(tx, uuid);
  for (const authenticator of held) await deleteAuthenticator(tx, uuid, authenticator);
  const password = await removePassword(tx, uuid);
  return [...held.map((authenticator) => authenticator.kind), ...(password ? ["password" as const] : [])];
}
