import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { sql } from "kysely";
import { recordEvent } from "../audit/record.ts";
import { ConflictError, InvalidInputError, NotFoundError, Problems } from "../errors.ts";
import { queueMessage } from "../messaging/outbox.ts";
import { checkDateOfBirth, checkMobile, checkName, checkNiNumber } from "../people/validation.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import type { ApplyInvitationStatus } from "../store/schema.ts";
import { applicantActor } from "./invitation-link.ts";

/**
 * The applicant's side of an application, reached only through their link: personal details,
 * the mobile confirmed by a 6-digit code, the duplicate check, then the documents (documents.ts)
 * and the submission. The first browser to open the link is remembered by a cookie; once the
 * mobile is confirmed another browser must confirm it again before it sees anything.
 */
export const mobileCodeMinutes = 10;
/** Wrong codes allowed for one code before it is void and a new one must be sent. */
export const mobileCodeTries = 5;
/** Codes one application may be sent in all: texts cost money and can be used to harass. */
export const mobileCodesPerApplication = 6;

export type ApplicantDetails = {
  givenName: string;
  middleNames: string | null;
  familyName: string;
  dateOfBirth: string;
  niNumber: string | null;
  mobile: string;
};

export type Application = {
  id: string;
  odsCode: string;
  status: ApplyInvitationStatus;
  email: string;
  invitedName: string;
  details: Partial<ApplicantDetails>;
  mobileConfirmed: boolean;
  codePending: boolean;
  referral: "duplicate" | "no-ni-number" | null;
  browserBound: boolean;
};

export async function getApplication(queryable: Queryable, id: string): Promise<Application> {
  const row = await queryable
    .selectFrom("apply_invitations")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("application", `No application has id ${id}`);
  return {
    id: row.id,
    odsCode: row.ods_code,
    status: row.status,
    email: row.email,
    invitedName: `${row.given_name} ${row.family_name}`,
    details: row.details as Partial<ApplicantDetails>,
    mobileConfirmed: row.mobile_confirmed_at !== null,
    codePending: row.sms_code_digest !== null,
    referral: row.referral,
    browserBound: row.browser_digest !== null,
  };
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}

/**
 * Whether this browser may work on the application. A browser with no claim gets one while the
 * mobile is unconfirmed (the link alone got it here, as it was meant to); after that, only the
 * browser holding the claim, or one that confirms the mobile again.
 */
export async function browserMayContinue(
  queryable: Queryable,
  id: string,
  browserSecret: string | undefined,
): Promise<{ allowed: true; newSecret?: string } | { allowed: false }> {
  const row = await queryable
    .selectFrom("apply_invitations")
    .select(["browser_digest", "mobile_confirmed_at"])
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  if (browserSecret && row.browser_digest && safeEqual(digest(browserSecret), row.browser_digest))
    return { allowed: true };
  if (row.mobile_confirmed_at) return { allowed: false };
  const newSecret = randomBytes(32).toString("base64url");
  await queryable
    .updateTable("apply_invitations")
    .set({ browser_digest: digest(newSecret) })
    .where("id", "=", id)
    .execute();
  return { allowed: true, newSecret };
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export type DetailsInput = {
  givenName?: unknown;
  middleNames?: unknown;
  familyName?: unknown;
  dateOfBirth?: unknown;
  niNumber?: unknown;
  noNiNumber?: unknown;
  mobile?: unknown;
};

export function checkDetails(input: DetailsInput): ApplicantDetails & { noNiNumber: boolean } {
  const problems = new Problems();
  const givenName = checkName(problems, "givenName", input.givenName, true);
  const middleNames = checkName(problems, "middleNames", input.middleNames, false);
  const familyName = checkName(problems, "familyName", input.familyName, true);
  const dateOfBirth = checkDateOfBirth(problems, input.dateOfBirth);
  if (!input.dateOfBirth) problems.add("dateOfBirth", "is required");
  const noNiNumber = input.noNiNumber === true || input.noNiNumber === "yes";
  const niNumber = noNiNumber ? null : checkNiNumber(problems, input.niNumber);
  if (!noNiNumber && !input.niNumber) problems.add("niNumber", "is required: or say you do not have one");
  const mobile = checkMobile(problems, input.mobile);
  if (!input.mobile) problems.add("mobile", "is required: we text a code to it");
  problems.throwIfAny();
  return {
    givenName: givenName as string,
    middleNames,
    familyName: familyName as string,
    dateOfBirth: dateOfBirth as string,
    niNumber,
    mobile: mobile as string,
    noNiNumber,
  };
}

async function lockOpen(tx: Tx, id: string) {
  const row = await tx
    .selectFrom("apply_invitations")
    .selectAll()
    .where("id", "=", id)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (row.status !== "invited" && row.status !== "started")
    throw new ConflictError(`status: this application is ${row.status} and cannot be changed`, "status");
  return row;
}

/**
 * Saves the applicant's details. Without a National Insurance number the application cannot go
 * on online: it is referred for a face-to-face appointment. Otherwise a code is texted to the
 * mobile (a new mobile must be confirmed afresh).
 */
export async function saveDetails(
  queryable: Queryable,
  sealer: Sealer,
  id: string,
  input: DetailsInput,
  correlationId?: string,
): Promise<Application> {
  const details = checkDetails(input);
  const { noNiNumber, ...stored } = details;
  return inTransaction(queryable, async (tx) => {
    const row = await lockOpen(tx, id);
    const before = row.details as Partial<ApplicantDetails>;
    const mobileChanged = before.mobile !== stored.mobile;
    await tx
      .updateTable("apply_invitations")
      .set({
        details: JSON.stringify(stored),
        status: noNiNumber ? "referred" : "started",
        referral: noNiNumber ? "no-ni-number" : null,
        ...(mobileChanged ? { mobile_confirmed_at: null } : {}),
      })
      .where("id", "=", id)
      .execute();
    const actor = applicantActor(id, correlationId);
    await recordEvent(tx, actor, {
      action: noNiNumber ? "apply.referred" : "apply.details-saved",
      subject: { type: "application", id },
      after: noNiNumber ? { referral: "no-ni-number" } : { mobileChanged },
    });
    if (!noNiNumber && (mobileChanged || !row.mobile_confirmed_at))
      await sendCode(tx, sealer, id, stored.mobile, actor);
    return getApplication(tx, id);
  });
}

async function sendCode(
  tx: Tx,
  sealer: Sealer,
  id: string,
  mobile: string,
  actor: ReturnType<typeof applicantActor>,
): Promise<void> {
  const row = await tx
    .selectFrom("apply_invitations")
    .select("sms_codes_sent")
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  if (row.sms_codes_sent >= mobileCodesPerApplication)
    throw InvalidInputError.field(
      "code",
      "We have sent as many codes as we can for this application. Ask whoever invited you to send the link again.",
    );
  const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
  await tx
    .updateTable("apply_invitations")
    .set((eb) => ({
      sms_code_digest: digest(`${id}:${code}`),
      sms_code_expires_at: new Date(Date.now() + mobileCodeMinutes * 60_000),
      sms_code_tries: 0,
      sms_codes_sent: eb("sms_codes_sent", "+", 1),
    }))
    .where("id", "=", id)
    .execute();
  await queueMessage(tx, sealer, {
    channel: "sms",
    to: mobile,
    template: "apply-mobile-code",
    personalisation: { code, minutes: String(mobileCodeMinutes) },
  });
  await recordEvent(tx, actor, { action: "apply.code-sent", subject: { type: "application", id } });
}

/** Sends a fresh code to the mobile given (the applicant asked again, or a new browser came). */
export async function resendCode(
  queryable: Queryable,
  sealer: Sealer,
  id: string,
  correlationId?: string,
): Promise<void> {
  await inTransaction(queryable, async (tx) => {
    const row = await lockOpen(tx, id);
    const mobile = (row.details as Partial<ApplicantDetails>).mobile;
    if (!mobile) throw InvalidInputError.field("mobile", "is required: give your details first");
    await sendCode(tx, sealer, id, mobile, applicantActor(id, correlationId));
  });
}

/**
 * Confirms the mobile with the code texted to it, then checks for an existing profile: the same
 * NI number, or the same name and date of birth, sends the applicant back to their inviter.
 * Returns the browser's new claim, since confirming the mobile is what proves it is theirs.
 */
export async function confirmMobile(
  queryable: Queryable,
  id: string,
  code: unknown,
  correlationId?: string,
): Promise<{ application: Application; browserSecret: string }> {
  const typed = typeof code === "string" ? code.replace(/\s+/g, "") : "";
  if (!/^\d{6}$/.test(typed))
    throw InvalidInputError.field("code", "must be the 6 digits in the text message");
  const actor = applicantActor(id, correlationId);
  const outcome = await inTransaction(queryable, async (tx) => {
    const row = await lockOpen(tx, id);
    if (!row.sms_code_digest || !row.sms_code_expires_at)
      return { refused: "No code is waiting: ask for a new one." };
    if (row.sms_code_expires_at <= new Date()) return { refused: "The code has expired: ask for a new one." };
    if (!safeEqual(digest(`${id}:${typed}`), row.sms_code_digest)) {
      const tries = row.sms_code_tries + 1;
      const spent = tries >= mobileCodeTries;
      await tx
        .updateTable("apply_invitations")
        .set(
          spent
            ? { sms_code_tries: tries, sms_code_digest: null, sms_code_expires_at: null }
            : { sms_code_tries: tries },
        )
        .where("id", "=", id)
        .execute();
      await recordEvent(tx, actor, {
        action: "apply.code-refused",
        subject: { type: "application", id },
        after: { tries },
      });
      return {
        refused: spent
          ? "That code was wrong too many times and no longer works: ask for a new one."
          : `That code is not right. You can try ${mobileCodeTries - tries} more time${mobileCodeTries - tries === 1 ? "" : "s"}.`,
      };
    }
    const details = row.details as Partial<ApplicantDetails>;
    const duplicate = await sql<{ uuid: string }>`
      SELECT uuid FROM people
       WHERE ni_number = ${details.niNumber ?? ""}
          OR (lower(family_name) = lower(${details.familyName ?? ""})
              AND lower(given_name) = lower(${details.givenName ?? ""})
              AND date_of_birth = ${details.dateOfBirth ?? null})
       LIMIT 1`.execute(tx);
    const browserSecret = randomBytes(32).toString("base64url");
    await tx
      .updateTable("apply_invitations")
      .set({
        mobile_confirmed_at: new Date(),
        sms_code_digest: null,
        sms_code_expires_at: null,
        sms_code_tries: 0,
        browser_digest: digest(browserSecret),
        ...(duplicate.rows.length > 0 ? { status: "referred", referral: "duplicate" } : {}),
      })
      .where("id", "=", id)
      .execute();
    await recordEvent(tx, actor, { action: "apply.mobile-confirmed", subject: { type: "application", id } });
    // The log says a profile matched, not whose: the applicant is not yet anyone's to know.
    if (duplicate.rows.length > 0)
      await recordEvent(tx, actor, {
        action: "apply.referred",
        subject: { type: "application", id },
        after: { referral: "duplicate" },
      });
    return { browserSecret };
  });
  if ("refused" in outcome) throw InvalidInputError.field("code", outcome.refused as string);
  return { application: await getApplication(queryable, id), browserSecret: outcome.browserSecret };
}
