import { createHash, randomBytes } from "node:crypto";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { DomainError, InvalidInputError, NotFoundError } from "../../errors.ts";
import { findPersonSummary } from "../../people/people.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";
import { isCareIdentifier } from "../../store/identifiers.ts";

/**
 * One-time, expiring enrolment links: how a person gets their first authenticator (issued by an
 * RA, or by the operator until Care Identity Management exists). The token is 256 random bits
 * shown once; only its digest is stored. The first authenticator enrolled consumes the link.
 */
export const defaultValidHours = 72;

export type EnrolmentLink = {
  tokenDigest: string;
  uuid: string;
  expiresAt: Date;
  pendingTotpSecret: string | null;
  pendingChallenge: string | null;
};

/** Why a link cannot be used; its message is what the person holding it reads. */
export class EnrolmentLinkRefusedError extends DomainError {
  readonly reason: "unknown" | "expired" | "used";
  constructor(reason: "unknown" | "expired" | "used") {
    super(
      "enrolment-link-refused",
      {
        unknown: "This enrolment link is not recognised. Check you copied the whole link.",
        expired: "This enrolment link has expired. Ask your Registration Authority for a new one.",
        used: "This enrolment link has already been used. Ask your Registration Authority for a new one.",
      }[reason],
    );
    this.reason = reason;
  }
}

export function digestOfToken(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

export async function issueEnrolmentLink(
  queryable: Queryable,
  actor: Actor,
  request: { uuid: string; validHours?: number },
): Promise<{ token: string; expiresAt: Date }> {
  const validHours = request.validHours ?? defaultValidHours;
  if (!isCareIdentifier(request.uuid))
    throw InvalidInputError.field("uuid", "must be a 12-digit Care Identity UUID");
  if (!Number.isInteger(validHours) || validHours < 1 || validHours > 24 * 30)
    throw InvalidInputError.field("validHours", "must be a whole number of hours from 1 to 720");
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + validHours * 3600 * 1000);
  return inTransaction(queryable, async (tx) => {
    const person = await findPersonSummary(tx, request.uuid);
    if (!person) throw new NotFoundError("person", `no Care Identity ${request.uuid}`);
    if (person.status !== "active")
      throw InvalidInputError.field("uuid", `Care Identity ${request.uuid} is ${person.status}`);
    await tx
      .insertInto("enrolment_links")
      .values({ token_digest: digestOfToken(token), uuid: request.uuid, expires_at: expiresAt })
      .execute();
    await recordEvent(tx, actor, {
      action: "enrolment-link.issued",
      subject: { type: "person", id: request.uuid },
      after: { expiresAt: expiresAt.toISOString() },
    });
    return { token, expiresAt };
  });
}

/**
 * The open link a token names. An unknown, expired or used link is refused, and the refusal is
 * recorded (someone holding a stale link may be an attacker replaying it).
 */
export async function openEnrolmentLink(
  queryable: Queryable,
  token: string,
  correlationId?: string,
): Promise<EnrolmentLink> {
  const tokenDigest = digestOfToken(String(token ?? ""));
  const row = await queryable
    .selectFrom("enrolment_links")
    .selectAll()
    .where("token_digest", "=", tokenDigest)
    .executeTakeFirst();
  const reason = !row
    ? "unknown"
    : row.used_at
      ? "used"
      : row.expires_at <= new Date()
        ? "expired"
        : undefined;
  if (reason) {
    await inTransaction(queryable, (tx) =>
      recordEvent(
        tx,
        { kind: "system", id: "enrolment", source: "ENROLMENT", correlationId },
        {
          action: "enrolment-link.refused",
          subject: row ? { type: "person", id: row.uuid } : undefined,
          after: { reason, link: tokenDigest.slice(0, 12) },
        },
      ),
    );
    throw new EnrolmentLinkRefusedError(reason);
  }
  return {
    tokenDigest,
    uuid: (row as { uuid: string }).uuid,
    expiresAt: (row as { expires_at: Date }).expires_at,
    pendingTotpSecret: row?.pending_totp_secret ?? null,
    pendingChallenge: row?.pending_challenge ?? null,
  };
}

/** Keeps the ceremony in progress on the link. Not audited: it changes no one's authenticators. */
export async function holdCeremony(
  queryable: Queryable,
  link: EnrolmentLink,
  pending: { totpSecret?: string; challenge?: string },
): Promise<void> {
  await queryable
    .updateTable("enrolment_links")
    .set({
      ...(pending.totpSecret !== undefined ? { pending_totp_secret: pending.totpSecret } : {}),
      ...(pending.challenge !== undefined ? { pending_challenge: pending.challenge } : {}),
    })
    .where("token_digest", "=", link.tokenDigest)
    .execute();
}

/**
 * Marks the link used inside the enrolment's transaction. The conditional update makes two
 * enrolments racing on one link see one winner; the loser is refused.
 */
export async function consumeEnrolmentLink(tx: Tx, link: EnrolmentLink): Promise<void> {
  const consumed = await tx
    .updateTable("enrolment_links")
    .set({ used_at: new Date(), pending_totp_secret: null, pending_challenge: null })
    .where("token_digest", "=", link.tokenDigest)
    .where("used_at", "is", null)
    .where("expires_at", ">", new Date())
    .returning("uuid")
    .executeTakeFirst();
  if (!consumed) throw new EnrolmentLinkRefusedError("used");
}
