import { aalOf, type Method, methods } from "../assurance/methods.ts";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { deleteUpstreamLink, linkIdPrefix, linksOf } from "./federation/links.ts";
import { type AuthenticatorKind, authenticatorKinds } from "./webauthn/classification.ts";

/**
 * A person's own authenticators, as the "your authenticators" page shows and changes them:
 * WebAuthn credentials by id, the authenticator app as "app". A person changes only their own
 * (an id of someone else's answers as unknown); every change is audited.
 */
export const appId = "app";

export type OwnAuthenticator = {
  id: string;
  name: string;
  kind: string;
  method: Method;
  aal: number;
  attested: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
  lockedUntil: Date | null;
};

export async function listOwnAuthenticators(queryable: Queryable, uuid: string): Promise<OwnAuthenticator[]> {
  const credentials = await queryable
    .selectFrom("webauthn_credentials")
    .selectAll()
    .where("uuid", "=", uuid)
    .orderBy("created_at")
    .execute();
  const app = await queryable
    .selectFrom("totp_authenticators")
    .selectAll()
    .where("uuid", "=", uuid)
    .executeTakeFirst();
  const listed: OwnAuthenticator[] = credentials.map((credential) => ({
    id: credential.credential_id,
    name: credential.name,
    kind: authenticatorKinds[credential.kind as AuthenticatorKind]?.label ?? credential.kind,
    method: credential.method as Method,
    aal: aalOf(credential.method as Method),
    attested: credential.attestation === "trusted",
    createdAt: credential.created_at,
    lastUsedAt: credential.last_used_at,
    lockedUntil: null,
  }));
  if (app)
    listed.push({
      id: appId,
      name: methods.TOTP.label,
      kind: methods.TOTP.label,
      method: "TOTP",
      aal: aalOf("TOTP"),
      attested: false,
      createdAt: app.created_at,
      lastUsedAt: app.last_used_at,
      lockedUntil: app.locked_until && app.locked_until > new Date() ? app.locked_until : null,
    });
  for (const link of await linksOf(queryable, uuid))
    listed.push({
      id: `${linkIdPrefix}${link.providerId}`,
      name: `${methods.NHSMAIL.label} (${link.email ?? link.providerId})`,
      kind:
        link.status === "active" ? methods.NHSMAIL.label : `${methods.NHSMAIL.label}, turned off by an RA`,
      method: "NHSMAIL",
      aal: aalOf("NHSMAIL"),
      attested: false,
      createdAt: link.createdAt,
      lastUsedAt: link.lastUsedAt,
      lockedUntil: null,
    });
  return listed;
}

export async function renameOwnAuthenticator(
  queryable: Queryable,
  actor: Actor,
  change: { uuid: string; id: string; name: string },
): Promise<void> {
  const name = String(change.name ?? "").trim();
  if (name.length < 1 || name.length > 60 || /[\p{Cc}]/u.test(name))
    throw InvalidInputError.field("name", "Enter a name of 1 to 60 characters");
  if (change.id === appId || change.id.startsWith(linkIdPrefix))
    throw InvalidInputError.field("name", "Only security keys and devices can be renamed");
  await inTransaction(queryable, async (tx) => {
    const before = await ownCredential(tx, change.uuid, change.id);
    await tx
      .updateTable("webauthn_credentials")
      .set({ name })
      .where("credential_id", "=", change.id)
      .where("uuid", "=", change.uuid)
      .execute();
    await recordEvent(tx, actor, {
      action: "authenticator.renamed",
      subject: { type: "person", id: change.uuid },
      before: { credential: change.id, name: before.name },
      after: { credential: change.id, name },
    });
  });
}

/** Removes one; the last is kept, so nobody locks themselves out (an RA can still remove it). */
export async function removeOwnAuthenticator(
  queryable: Queryable,
  actor: Actor,
  removal: { uuid: string; id: string },
): Promise<void> {
  await inTransaction(queryable, async (tx) => {
    const held = await listOwnAuthenticators(tx, removal.uuid);
    const target = held.find((authenticator) => authenticator.id === removal.id);
    if (!target) throw new NotFoundError("authenticator", "You have no such authenticator");
    if (held.length === 1)
      throw new ConflictError(
        "This is your only way to sign in, so it cannot be removed. Add another first.",
        "authenticator",
      );
    if (removal.id === appId)
      await tx.deleteFrom("totp_authenticators").where("uuid", "=", removal.uuid).execute();
    else if (removal.id.startsWith(linkIdPrefix))
      await deleteUpstreamLink(tx, removal.uuid, removal.id.slice(linkIdPrefix.length));
    else
      await tx
        .deleteFrom("webauthn_credentials")
        .where("credential_id", "=", removal.id)
        .where("uuid", "=", removal.uuid)
        .execute();
    await recordEvent(tx, actor, {
      action: "authenticator.removed",
      subject: { type: "person", id: removal.uuid },
      before: { credential: removal.id, name: target.name, method: target.method },
    });
  });
}

async function ownCredential(tx: Tx, uuid: string, id: string) {
  const credential = await tx
    .selectFrom("webauthn_credentials")
    .select("name")
    .where("credential_id", "=", id)
    .where("uuid", "=", uuid)
    .forUpdate()
    .executeTakeFirst();
  if (!credential) throw new NotFoundError("authenticator", "You have no such authenticator");
  return credential;
}
