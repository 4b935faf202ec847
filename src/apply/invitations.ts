import { createHash, randomBytes, randomUUID } from "node:crypto";
import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { ConflictError, type FieldProblem, InvalidInputError, NotFoundError, Problems } from "../errors.ts";
import { queueMessage } from "../messaging/outbox.ts";
import { checkEmail, checkName } from "../people/validation.ts";
import { authorityFor } from "../ra-policy/policy.ts";
import { organisationsBelow } from "../rbac/organisations.ts";
import { type ActionCommon, authorised, recordAction } from "../registration/acting.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import type { ApplyInvitationStatus } from "../store/schema.ts";

/**
 * Invitations to Apply for Care ID. An RA manager, RA agent, ID checker or sponsor invites an
 * applicant by name and email at one of their organisations; the applicant is emailed a link
 * that works until it expires, for one application. The token is 256 random bits, kept only as
 * its digest. Re-sending issues a new token (the old link stops working); withdrawing ends it.
 */
export type ApplySettings = {
  /** Days a link works (CAREID_APPLY_LINK_DAYS). */
  linkDays: number;
  /** Days after a decision that photos are deleted (CAREID_APPLY_PHOTO_DAYS). */
  photoDays: number;
  /** Where links point: the service's public origin followed by /apply. */
  applyUrl: string;
};

export type Invitation = {
  id: string;
  odsCode: string;
  invitedBy: string;
  givenName: string;
  familyName: string;
  email: string;
  status: ApplyInvitationStatus;
  expiresAt: Date;
  timesSent: number;
  createdAt: Date;
};

export type Invitee = { givenName?: unknown; familyName?: unknown; email?: unknown; odsCode?: unknown };

export function digestOfToken(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/** Checks one invitee's name and email; every problem named. */
export function checkInvitee(input: Invitee): { givenName: string; familyName: string; email: string } {
  const problems = new Problems();
  const givenName = checkName(problems, "givenName", input.givenName, true);
  const familyName = checkName(problems, "familyName", input.familyName, true);
  const email = checkEmail(problems, input.email);
  if (!input.email) problems.add("email", "is required");
  problems.throwIfAny();
  return { givenName: givenName as string, familyName: familyName as string, email: email as string };
}

export function checkOdsCode(value: unknown): string {
  const odsCode = String(value ?? "")
    .trim()
    .toUpperCase();
  if (!/^[A-Z0-9]{3,10}$/.test(odsCode)) throw InvalidInputError.field("odsCode", "must be an ODS code");
  return odsCode;
}

function formatExpiry(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

async function queueInvitationEmail(
  tx: Tx,
  sealer: Sealer,
  settings: ApplySettings,
  invitee: { givenName: string; familyName: string; email: string; odsCode: string },
  token: string,
  expiresAt: Date,
): Promise<void> {
  const organisation = await tx
    .selectFrom("organisations")
    .select("name")
    .where("ods_code", "=", invitee.odsCode)
    .executeTakeFirst();
  if (!organisation)
    throw new NotFoundError("organisation", `odsCode: no organisation has ODS code ${invitee.odsCode}`);
  await queueMessage(tx, sealer, {
    channel: "email",
    to: invitee.email,
    template: "apply-invitation",
    personalisation: {
      name: `${invitee.givenName} ${invitee.familyName}`,
      organisation: organisation.name,
      link: `${settings.applyUrl}/${token}`,
      expires: formatExpiry(expiresAt),
    },
  });
}

/** A new link: its token (only ever in the email), the digest kept of it, and when it expires. */
type Link = { token: string; digest: string; expiresAt: Date };

function newLink(settings: ApplySettings, now = new Date()): Link {
  const token = randomBytes(32).toString("base64url");
  return {
    token,
    digest: digestOfToken(token),
    expiresAt: new Date(now.getTime() + settings.linkDays * 86_400_000),
  };
}

/**
 * How inviting and re-sending end, in the caller's transaction: the link's email queued, the
 * action audited with the link's expiry, and the invitation as it now stands.
 */
async function sendLink(
  tx: Tx,
  acting: Actor,
  { sealer, settings }: { sealer: Sealer; settings: ApplySettings },
  invitee: { givenName: string; familyName: string; email: string; odsCode: string },
  id: string,
  link: Link,
  event: { action: string; after?: Record<string, unknown>; common: ActionCommon },
): Promise<Invitation> {
  await queueInvitationEmail(tx, sealer, settings, invitee, link.token, link.expiresAt);
  await recordAction(
    tx,
    acting,
    {
      action: event.action,
      subject: { type: "application", id },
      after: { ...event.after, expiresAt: link.expiresAt.toISOString() },
    },
    event.common,
  );
  return getInvitation(tx, id);
}

/** Creates one invitation inside the caller's transaction, with its email in the outbox. */
export async function createInvitation(
  tx: Tx,
  acting: Actor,
  sealer: Sealer,
  settings: ApplySettings,
  invitee: { givenName: string; familyName: string; email: string; odsCode: string },
  common: ActionCommon,
  now = new Date(),
): Promise<Invitation> {
  const id = randomUUID();
  const link = newLink(settings, now);
  await tx
    .insertInto("apply_invitations")
    .values({
      id,
      token_digest: link.digest,
      ods_code: invitee.odsCode,
      invited_by: acting.id,
      invited_role_id: acting.roleId ?? null,
      given_name: invitee.givenName,
      family_name: invitee.familyName,
      email: invitee.email,
      expires_at: link.expiresAt,
    })
    .execute();
  return sendLink(tx, acting, { sealer, settings }, invitee, id, link, {
    action: "apply.invited",
    after: { odsCode: invitee.odsCode },
    common,
  });
}

/** Invites one applicant: authorised at the organisation, audited, the email queued with it. */
export async function inviteApplicant(
  queryable: Queryable,
  actor: Actor,
  sealer: Sealer,
  settings: ApplySettings,
  input: Invitee & ActionCommon,
): Promise<Invitation> {
  const problems: FieldProblem[] = [];
  let odsCode = "";
  try {
    odsCode = checkOdsCode(input.odsCode);
  } catch (error) {
    problems.push(...(error as InvalidInputError).problems);
  }
  let invitee: ReturnType<typeof checkInvitee> | undefined;
  try {
    invitee = checkInvitee(input);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0 || !invitee) throw new InvalidInputError(problems);
  const checked = invitee;
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "apply.invite", { ods: odsCode }, input);
    await refuseOpenInvitation(tx, checked.email);
    return createInvitation(tx, acting, sealer, settings, { ...checked, odsCode }, input);
  });
}

/** One open invitation per email address: a second would leave two live links for one person. */
export async function refuseOpenInvitation(tx: Tx, email: string): Promise<void> {
  const open = await tx
    .selectFrom("apply_invitations")
    .select("id")
    .where("email", "=", email)
    .where("status", "in", ["invited", "started", "submitted"])
    .where("expires_at", ">", new Date())
    .executeTakeFirst();
  if (open)
    throw new ConflictError(
      `email: ${email} already has an open invitation; re-send or withdraw that one instead`,
      "email",
    );
}

const invitationColumns = [
  "id",
  "ods_code",
  "invited_by",
  "given_name",
  "family_name",
  "email",
  "status",
  "expires_at",
  "times_sent",
  "created_at",
] as const;

type InvitationRow = {
  id: string;
  ods_code: string;
  invited_by: string;
  given_name: string;
  family_name: string;
  email: string;
  status: ApplyInvitationStatus;
  expires_at: Date;
  times_sent: number;
  created_at: Date;
};

function invitationOf(row: InvitationRow): Invitation {
  return {
    id: row.id,
    odsCode: row.ods_code,
    invitedBy: row.invited_by,
    givenName: row.given_name,
    familyName: row.family_name,
    email: row.email,
    status: row.status,
    expiresAt: row.expires_at,
    timesSent: row.times_sent,
    createdAt: row.created_at,
  };
}

export async function getInvitation(queryable: Queryable, id: string): Promise<Invitation> {
  const row = await queryable
    .selectFrom("apply_invitations")
    .select(invitationColumns)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("application", `No application has id ${id}`);
  return invitationOf(row);
}

/** The invitations an inviter may act on: at their organisations and below, newest first. */
export async function listInvitations(queryable: Queryable, actorUuid: string): Promise<Invitation[]> {
  const { organisations } = await authorityFor(queryable, actorUuid, "apply.invite");
  if (organisations.length === 0) return [];
  const rows = await queryable
    .selectFrom("apply_invitations")
    .select(invitationColumns)
    .where(sql<boolean>`ods_code IN (${organisationsBelow(organisations)})`)
    .orderBy("created_at", "desc")
    .limit(200)
    .execute();
  return rows.map(invitationOf);
}

/** The invitation an inviter acts on, authorised (apply.invite) at its organisation. */
async function invitationToActOn(tx: Tx, actor: Actor, id: string, common: ActionCommon) {
  const invitation = await getInvitation(tx, id);
  const { acting } = await authorised(tx, actor, "apply.invite", { ods: invitation.odsCode }, common);
  return { invitation, acting };
}

/** Re-sends an invitation with a new link and a new expiry; the old link stops working. */
export async function resendInvitation(
  queryable: Queryable,
  actor: Actor,
  sealer: Sealer,
  settings: ApplySettings,
  id: string,
  common: ActionCommon = {},
): Promise<Invitation> {
  return inTransaction(queryable, async (tx) => {
    const { invitation, acting } = await invitationToActOn(tx, actor, id, common);
    if (invitation.status !== "invited" && invitation.status !== "started")
      throw new ConflictError(
        `status: this application is ${invitation.status}; its link cannot be sent again`,
        "status",
      );
    const link = newLink(settings);
    await tx
      .updateTable("apply_invitations")
      .set((eb) => ({
        token_digest: link.digest,
        expires_at: link.expiresAt,
        times_sent: eb("times_sent", "+", 1),
        version: eb("version", "+", 1),
      }))
      .where("id", "=", id)
      .execute();
    return sendLink(tx, acting, { sealer, settings }, invitation, id, link, {
      action: "apply.resent",
      common,
    });
  });
}

/** Withdraws an invitation not yet decided: its link stops working at once. */
export async function withdrawInvitation(
  queryable: Queryable,
  actor: Actor,
  id: string,
  common: ActionCommon = {},
): Promise<Invitation> {
  return inTransaction(queryable, async (tx) => {
    const { invitation, acting } = await invitationToActOn(tx, actor, id, common);
    const withdrawn = await tx
      .updateTable("apply_invitations")
      .set((eb) => ({ status: "withdrawn", version: eb("version", "+", 1) }))
      .where("id", "=", id)
      .where("status", "in", ["invited", "started", "referred", "submitted"])
      .executeTakeFirst();
    if (Number(withdrawn.numUpdatedRows) === 0)
      throw new ConflictError(
        `status: this application is ${invitation.status}; it cannot be withdrawn`,
        "status",
      );
    await recordAction(
      tx,
      acting,
      {
        action: "apply.withdrawn",
        subject: { type: "application", id },
        before: { status: invitation.status },
      },
      common,
    );
    return getInvitation(tx, id);
  });
}
