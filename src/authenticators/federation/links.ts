import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { ConflictError, DomainError, InvalidInputError, NotFoundError } from "../../errors.ts";
import { findPersonSummary } from "../../people/people.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";
import type { UpstreamIdentity } from "./upstream-client.ts";

/**
 * Links between upstream accounts and Care Identities. A link is made once, by someone the
 * service already knows: the holder of an RA's enrolment link, or the person signed in to "your
 * authenticators". A sign-in with an upstream account nobody linked never makes an identity.
 */
export const linkIdPrefix = "nhs-net-connect:";

export type UpstreamLink = {
  providerId: string;
  subject: string;
  uuid: string;
  email: string | null;
  status: "active" | "disabled";
  createdAt: Date;
  lastUsedAt: Date | null;
};

export type FederatedSignInRefusal = "unlinked" | "disabled" | "closed-profile";

/** An upstream account that signs no one in, with the words its user reads. */
export class FederatedSignInRefusedError extends DomainError {
  readonly reason: FederatedSignInRefusal;
  constructor(reason: FederatedSignInRefusal) {
    super(
      "federated-sign-in-refused",
      {
        unlinked:
          "This NHS.net Connect account is not linked to a Care Identity. Ask your Registration Authority (RA) for an enrolment link to link it, or sign in another way and link it from Your authenticators.",
        disabled:
          "Signing in with this NHS.net Connect account has been turned off. Ask your Registration Authority (RA).",
        "closed-profile":
          "The Care Identity linked to this account is closed. Ask your Registration Authority (RA).",
      }[reason],
    );
    this.reason = reason;
  }
}

/**
 * Links the upstream account to the person, inside the caller's transaction (an enrolment link is
 * consumed in the same one). One upstream account names one person; a person has one link per
 * provider, replaced only by unlinking first.
 */
export async function linkUpstreamAccount(
  tx: Tx,
  actor: Actor,
  uuid: string,
  identity: UpstreamIdentity,
): Promise<void> {
  const person = await findPersonSummary(tx, uuid);
  if (!person) throw new NotFoundError("person", `no Care Identity ${uuid}`);
  if (person.status !== "active")
    throw InvalidInputError.field("uuid", `Care Identity ${uuid} is ${person.status}`);
  const existing = await tx
    .selectFrom("upstream_links")
    .select(["uuid", "subject"])
    .where("provider_id", "=", identity.providerId)
    .where((where) => where.or([where("subject", "=", identity.subject), where("uuid", "=", uuid)]))
    .execute();
  const refuse = async (reason: string, message: string) => {
    await recordEvent(tx, actor, {
      action: "federation.link-refused",
      subject: { type: "person", id: uuid },
      after: { provider: identity.providerId, reason },
    });
    return new ConflictError(message, "nhs-net-connect");
  };
  if (existing.some((link) => link.subject === identity.subject && link.uuid !== uuid))
    throw await refuse(
      "linked-to-someone-else",
      "This NHS.net Connect account is already linked to another Care Identity. Ask your Registration Authority (RA).",
    );
  if (existing.some((link) => link.uuid === uuid))
    throw await refuse(
      "already-linked",
      "Your Care Identity is already linked to an NHS.net Connect account. Remove that link first.",
    );
  await tx
    .insertInto("upstream_links")
    .values({
      provider_id: identity.providerId,
      subject: identity.subject,
      uuid,
      email: identity.email ?? null,
      upstream_sub: identity.upstreamSub,
    })
    .execute();
  await recordEvent(tx, actor, {
    action: "federation.linked",
    subject: { type: "person", id: uuid },
    after: { provider: identity.providerId, subject: identity.subject, email: identity.email ?? null },
  });
}

/** Who an upstream account signs in as; a refusal is recorded with its reason. */
export async function personOfUpstream(
  queryable: Queryable,
  actor: Actor,
  identity: UpstreamIdentity,
  now = new Date(),
): Promise<string> {
  return inTransaction(queryable, async (tx) => {
    const link = await tx
      .selectFrom("upstream_links")
      .innerJoin("people", "people.uuid", "upstream_links.uuid")
      .select(["upstream_links.uuid", "upstream_links.status", "people.status as profile"])
      .where("provider_id", "=", identity.providerId)
      .where("subject", "=", identity.subject)
      .executeTakeFirst();
    const reason: FederatedSignInRefusal | undefined = !link
      ? "unlinked"
      : link.status !== "active"
        ? "disabled"
        : link.profile !== "active"
          ? "closed-profile"
          : undefined;
    if (reason || !link) {
      await recordEvent(tx, actor, {
        action: "federation.sign-in-refused",
        subject: link ? { type: "person", id: link.uuid } : undefined,
        after: { provider: identity.providerId, reason },
      });
      throw new FederatedSignInRefusedError(reason ?? "unlinked");
    }
    await tx
      .updateTable("upstream_links")
      .set({ last_used_at: now, upstream_sub: identity.upstreamSub, last_sid: identity.sid ?? null })
      .where("provider_id", "=", identity.providerId)
      .where("subject", "=", identity.subject)
      .execute();
    return link.uuid;
  });
}

export async function linksOf(queryable: Queryable, uuid: string): Promise<UpstreamLink[]> {
  const rows = await queryable
    .selectFrom("upstream_links")
    .selectAll()
    .where("uuid", "=", uuid)
    .orderBy("created_at")
    .execute();
  return rows.map((row) => ({
    providerId: row.provider_id,
    subject: row.subject,
    uuid: row.uuid,
    email: row.email,
    status: row.status,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  }));
}

/** Removes a person's link to one provider inside the caller's transaction; true if there was one. */
export async function deleteUpstreamLink(
  tx: Tx,
  uuid: string,
  providerId: string,
): Promise<UpstreamLink | undefined> {
  const [removed] = await tx
    .deleteFrom("upstream_links")
    .where("uuid", "=", uuid)
    .where("provider_id", "=", providerId)
    .returningAll()
    .execute();
  return (
    removed && {
      providerId: removed.provider_id,
      subject: removed.subject,
      uuid: removed.uuid,
      email: removed.email,
      status: removed.status,
      createdAt: removed.created_at,
      lastUsedAt: removed.last_used_at,
    }
  );
}

/**
 * Turns a link off or on again (an RA, or the operator at the command line, after checking
 * policy): a disabled link keeps the upstream account from being linked to anyone else.
 */
export async function setUpstreamLinkStatus(
  queryable: Queryable,
  actor: Actor,
  change: { uuid: string; providerId: string; status: "active" | "disabled"; reason: string },
): Promise<void> {
  if (!change.reason.trim()) throw InvalidInputError.field("reason", "say why, for the audit log");
  await inTransaction(queryable, async (tx) => {
    const updated = await tx
      .updateTable("upstream_links")
      .set({ status: change.status })
      .where("uuid", "=", change.uuid)
      .where("provider_id", "=", change.providerId)
      .returning("subject")
      .executeTakeFirst();
    if (!updated)
      throw new NotFoundError("upstream-link", `${change.uuid} has no link to ${change.providerId}`);
    await recordEvent(tx, actor, {
      action: change.status === "disabled" ? "federation.link-disabled" : "federation.link-enabled",
      subject: { type: "person", id: change.uuid },
      after: { provider: change.providerId, reason: change.reason },
    });
  });
}

/**
 * The people an upstream back-channel logout names: by the upstream session (`sid`) of their last
 * sign-in, or by the upstream `sub` when the token names no session.
 */
export async function peopleNamedByLogout(
  queryable: Queryable,
  providerId: string,
  named: { sub?: string; sid?: string },
): Promise<string[]> {
  if (!named.sid && !named.sub) return [];
  let query = queryable.selectFrom("upstream_links").select("uuid").where("provider_id", "=", providerId);
  query = named.sid
    ? query.where("last_sid", "=", named.sid)
    : query.where("upstream_sub", "=", String(named.sub));
  if (named.sid && named.sub) query = query.where("upstream_sub", "=", named.sub);
  return (await query.execute()).map((row) => row.uuid);
}
