import { createHash, randomBytes, randomUUID } from "node:crypto";
import { parse } from "csv-parse/sync";
import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import {
  ConflictError,
  DomainError,
  type FieldProblem,
  InvalidInputError,
  NotFoundError,
  Problems,
} from "../errors.ts";
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

function checkOdsCode(value: unknown): string {
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

/** Creates one invitation inside the caller's transaction, with its email in the outbox. */
async function createInvitation(
  tx: Tx,
  acting: Actor,
  sealer: Sealer,
  settings: ApplySettings,
  invitee: { givenName: string; familyName: string; email: string; odsCode: string },
  common: ActionCommon,
  now = new Date(),
): Promise<Invitation> {
  const token = randomBytes(32).toString("base64url");
  const id = randomUUID();
  const expiresAt = new Date(now.getTime() + settings.linkDays * 86_400_000);
  await tx
    .insertInto("apply_invitations")
    .values({
      id,
      token_digest: digestOfToken(token),
      ods_code: invitee.odsCode,
      invited_by: acting.id,
      invited_role_id: acting.roleId ?? null,
      given_name: invitee.givenName,
      family_name: invitee.familyName,
      email: invitee.email,
      expires_at: expiresAt,
    })
    .execute();
  await queueInvitationEmail(tx, sealer, settings, invitee, token, expiresAt);
  await recordAction(
    tx,
    acting,
    {
      action: "apply.invited",
      subject: { type: "application", id },
      after: { odsCode: invitee.odsCode, expiresAt: expiresAt.toISOString() },
    },
    common,
  );
  return getInvitation(tx, id);
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
async function refuseOpenInvitation(tx: Tx, email: string): Promise<void> {
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

export type InviteeRow = {
  line: number;
  givenName: string;
  familyName: string;
  email: string;
  problems: string[];
};

const maxRows = 500;

/**
 * Reads a file of invitees (CSV with a header: given_name, family_name, email) and checks each
 * row, so the inviter sees every row's problems before anything is sent.
 */
export function readInviteeFile(text: string): InviteeRow[] {
  let records: Record<string, string>[];
  try {
    records = parse(text.replace(/^\uFEFF/, ""), {
      columns: (header: string[]) =>
        header.map((name) =>
          name
            .trim()
            .toLowerCase()
            .replace(/[\s-]+/g, "_"),
        ),
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
    });
  } catch (error) {
    throw InvalidInputError.field("file", `is not a CSV file: ${(error as Error).message.split("\n")[0]}`);
  }
  if (records.length === 0) throw InvalidInputError.field("file", "has no rows after its header");
  if (records.length > maxRows) throw InvalidInputError.field("file", `has more than ${maxRows} rows`);
  const first = records[0] as Record<string, string>;
  const missing = ["given_name", "family_name", "email"].filter((column) => !(column in first));
  if (missing.length > 0)
    throw InvalidInputError.field(
      "file",
      `needs the columns given_name, family_name and email (missing ${missing.join(", ")})`,
    );
  const seen = new Set<string>();
  return records.map((record, index) => {
    const row: InviteeRow = {
      line: index + 2,
      givenName: record.given_name ?? "",
      familyName: record.family_name ?? "",
      email: (record.email ?? "").toLowerCase(),
      problems: [],
    };
    try {
      checkInvitee(row);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      const labels: Record<string, string> = {
        givenName: "Given name",
        familyName: "Family name",
        email: "Email",
      };
      row.problems.push(
        ...error.problems.map((problem) => `${labels[problem.field] ?? problem.field} ${problem.message}`),
      );
    }
    if (row.email && seen.has(row.email)) row.problems.push("Email appears on an earlier row");
    seen.add(row.email);
    return row;
  });
}

/**
 * Invites everyone on the file's good rows, in one transaction. A file with a bad row sends
 * nothing unless the inviter has seen the problems and confirmed the good rows.
 */
export async function inviteFromFile(
  queryable: Queryable,
  actor: Actor,
  sealer: Sealer,
  settings: ApplySettings,
  input: { odsCode?: unknown; file: string; confirmGoodRows?: boolean } & ActionCommon,
): Promise<{ invited: Invitation[]; skipped: InviteeRow[] }> {
  const odsCode = checkOdsCode(input.odsCode);
  const rows = readInviteeFile(input.file);
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "apply.invite", { ods: odsCode }, input);
    for (const row of rows) {
      if (row.problems.length > 0) continue;
      try {
        await refuseOpenInvitation(tx, row.email);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        row.problems.push("Email already has an open invitation");
      }
    }
    const bad = rows.filter((row) => row.problems.length > 0);
    if (bad.length > 0 && !input.confirmGoodRows)
      throw new InvalidInputError(
        bad.map((row) => ({
          field: `row${row.line}`,
          message: `Row ${row.line}: ${row.problems.join("; ")}`,
        })),
      );
    const good = rows.filter((row) => row.problems.length === 0);
    if (good.length === 0) throw InvalidInputError.field("file", "has no row that can be invited");
    const invited: Invitation[] = [];
    for (const row of good)
      invited.push(await createInvitation(tx, acting, sealer, settings, { ...row, odsCode }, {}));
    await recordAction(
      tx,
      acting,
      {
        action: "apply.invited-from-file",
        subject: { type: "organisation", id: odsCode },
        after: { invited: invited.length, skippedRows: bad.map((row) => row.line) },
      },
      input,
    );
    return { invited, skipped: bad };
  });
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
    const invitation = await getInvitation(tx, id);
    const { acting } = await authorised(tx, actor, "apply.invite", { ods: invitation.odsCode }, common);
    if (invitation.status !== "invited" && invitation.status !== "started")
      throw new ConflictError(
        `status: this application is ${invitation.status}; its link cannot be sent again`,
        "status",
      );
    const token = randomBytes(32).toString("base64url");
    const expiresAt = new Date(Date.now() + settings.linkDays * 86_400_000);
    await tx
      .updateTable("apply_invitations")
      .set((eb) => ({
        token_digest: digestOfToken(token),
        expires_at: expiresAt,
        times_sent: eb("times_sent", "+", 1),
        version: eb("version", "+", 1),
      }))
      .where("id", "=", id)
      .execute();
    await queueInvitationEmail(tx, sealer, settings, invitation, token, expiresAt);
    await recordAction(
      tx,
      acting,
      {
        action: "apply.resent",
        subject: { type: "application", id },
        after: { expiresAt: expiresAt.toISOString() },
      },
      common,
    );
    return getInvitation(tx, id);
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
    const invitation = await getInvitation(tx, id);
    const { acting } = await authorised(tx, actor, "apply.invite", { ods: invitation.odsCode }, common);
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

/** Why a link cannot be used; its message is what the applicant reads. */
export class ApplyLinkRefusedError extends DomainError {
  readonly reason: "unknown" | "expired" | "withdrawn" | "used";
  constructor(reason: "unknown" | "expired" | "withdrawn" | "used") {
    super(
      "apply-link-refused",
      {
        unknown:
          "This link is not recognised. Check you copied the whole link from the email, or ask whoever invited you for a new one.",
        expired: "This link has expired. Ask whoever invited you to send it again.",
        withdrawn: "This invitation has been withdrawn. Ask whoever invited you if you think this is wrong.",
        used: "This application has already been sent. We will email you when it has been reviewed.",
      }[reason],
    );
    this.reason = reason;
  }
}

/**
 * The invitation a link's token names, while the applicant may still work on it. A refusal is
 * audited: someone holding a stale or guessed link may be trying another person's application.
 */
export async function openInvitationLink(
  queryable: Queryable,
  token: string,
  correlationId?: string,
): Promise<{ id: string; status: ApplyInvitationStatus }> {
  const row = await queryable
    .selectFrom("apply_invitations")
    .select(["id", "status", "expires_at"])
    .where("token_digest", "=", digestOfToken(String(token ?? "")))
    .executeTakeFirst();
  const reason = !row
    ? "unknown"
    : row.status === "withdrawn"
      ? "withdrawn"
      : ["submitted", "approved", "rejected"].includes(row.status)
        ? "used"
        : row.expires_at <= new Date()
          ? "expired"
          : undefined;
  if (reason) {
    await inTransaction(queryable, (tx) =>
      recordEvent(tx, applicantActor(row?.id ?? "unknown", correlationId), {
        action: "apply.link-refused",
        subject: row ? { type: "application", id: row.id } : undefined,
        after: { reason },
      }),
    );
    throw new ApplyLinkRefusedError(reason);
  }
  const open = row as { id: string; status: ApplyInvitationStatus };
  return { id: open.id, status: open.status };
}

/** The applicant has no profile yet: the audit log names them by their application. */
export function applicantActor(applicationId: string, correlationId?: string): Actor {
  return { kind: "system", id: `applicant:${applicationId}`, source: "APPLY", correlationId };
}
