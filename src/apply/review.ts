import { randomBytes, randomUUID } from "node:crypto";
import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from "../errors.ts";
import { queueMessage } from "../messaging/outbox.ts";
import { findPersonSummary, type Person } from "../people/people.ts";
import { authorityFor } from "../ra-policy/policy.ts";
import { organisationsBelow } from "../rbac/organisations.ts";
import { type ActionCommon, authorised, recordAction } from "../registration/acting.ts";
import type { IdentityDocument } from "../registration/identity-checks.ts";
import { createProfile } from "../registration/profiles.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import type { ApplyInvitationStatus } from "../store/schema.ts";
import type { ApplicantDetails } from "./application.ts";
import { type Check, type DocumentSummary, documentsOf, type Slot } from "./documents.ts";
import { type ApplySettings, digestOfToken } from "./invitations.ts";
import { openPhoto } from "./photo-sealing.ts";

/**
 * The central review of submitted applications by ID checkers (and RA staff, who carry the ID checker activity) whose roles
 * cover the inviting organisation. Opening an application holds it for its reviewer, as a
 * request is held; nobody reviews an application they invited (four-eyes). Approval makes the
 * verified profile through createProfile, the one way CIM makes them. Over 400 lines because
 * the review is one journey (queue, open, claim, approve or reject, photos deleted when due)
 * whose steps share its locks and checks.
 */
export const claimMinutes = 15;

/** Section 5's reasons; those marked again let the applicant start a fresh application. */
export const rejectionReasons = {
  "photo-id-not-accepted": { text: "Your photo ID could not be accepted.", again: true },
  "passport-expired": { text: "Your passport expired more than six months ago.", again: true },
  "name-or-birth-date-mismatch": {
    text: "The name or date of birth you gave does not match your documents. Name changes cannot be made online: ask whoever invited you for an appointment.",
    again: false,
  },
  "face-mismatch": { text: "Your photo did not match your photo ID, or was of poor quality.", again: true },
  "photo-unfit-for-card": { text: "Your photo cannot be used on a smartcard.", again: true },
  "blurred-or-cut-off": { text: "A document was blurred or cut off.", again: true },
  "not-original": {
    text: "A document was not an original. Ask whoever invited you for a face-to-face appointment.",
    again: false,
  },
} as const;

export type RejectionReason = keyof typeof rejectionReasons;

export type ReviewItem = {
  id: string;
  odsCode: string;
  name: string;
  submittedAt: Date;
  failedChecks: number;
  claimedBy: string | null;
  claimedUntil: Date | null;
};

export type ApplicationForReview = ReviewItem & {
  status: ApplyInvitationStatus;
  invitedBy: string;
  email: string;
  details: Partial<ApplicantDetails>;
  route: "two-documents" | "proof-of-address" | null;
  documents: DocumentSummary[];
  decisionReason: string | null;
  profileUuid: string | null;
  version: number;
};

/** Submitted applications the reviewer's roles cover, oldest first. */
export async function reviewQueue(queryable: Queryable, actorUuid: string): Promise<ReviewItem[]> {
  const { organisations } = await authorityFor(queryable, actorUuid, "apply.review");
  if (organisations.length === 0)
    throw new ForbiddenError("Only ID checkers and RA staff review applications");
  const rows = await queryable
    .selectFrom("apply_invitations")
    .select(["id", "ods_code", "details", "submitted_at", "checks", "claimed_by", "claimed_until"])
    .where("status", "=", "submitted")
    .where(sql<boolean>`ods_code IN (${organisationsBelow(organisations)})`)
    .orderBy("submitted_at")
    .limit(200)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    odsCode: row.ods_code,
    name: `${row.details.givenName ?? ""} ${row.details.familyName ?? ""}`.trim(),
    submittedAt: row.submitted_at as Date,
    failedChecks: (row.checks as Check[]).filter((check) => check.outcome === "fail").length,
    claimedBy: row.claimed_by,
    claimedUntil: row.claimed_until,
  }));
}

/** One application with its documents and check results, for a reviewer whose roles cover it. */
export async function applicationForReview(
  queryable: Queryable,
  actor: Actor,
  id: string,
): Promise<ApplicationForReview> {
  const row = await queryable
    .selectFrom("apply_invitations")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("application", `No application has id ${id}`);
  await inTransaction(queryable, (tx) => authorised(tx, actor, "apply.review", { ods: row.ods_code }));
  return {
    id: row.id,
    odsCode: row.ods_code,
    name: `${row.details.givenName ?? row.given_name} ${row.details.familyName ?? row.family_name}`,
    submittedAt: row.submitted_at as Date,
    failedChecks: (row.checks as Check[]).filter((check) => check.outcome === "fail").length,
    claimedBy: row.claimed_by,
    claimedUntil: row.claimed_until,
    status: row.status,
    invitedBy: row.invited_by,
    email: row.email,
    details: row.details as Partial<ApplicantDetails>,
    route: row.evidence_route,
    documents: await documentsOf(queryable, id),
    decisionReason: row.decision_reason,
    profileUuid: row.profile_uuid,
    version: row.version,
  };
}

/** A document's photo, opened for a reviewer in scope; every look is on the record. */
export async function documentPhoto(
  queryable: Queryable,
  actor: Actor,
  sealer: Sealer,
  id: string,
  slot: Slot,
): Promise<{ mediaType: string; photo: Buffer }> {
  return inTransaction(queryable, async (tx) => {
    const application = await tx
      .selectFrom("apply_invitations")
      .select("ods_code")
      .where("id", "=", id)
      .executeTakeFirst();
    if (!application) throw new NotFoundError("application", `No application has id ${id}`);
    const { acting } = await authorised(tx, actor, "apply.review", { ods: application.ods_code });
    const document = await tx
      .selectFrom("apply_documents")
      .select(["media_type", "sealed_key", "ciphertext"])
      .where("invitation_id", "=", id)
      .where("slot", "=", slot)
      .executeTakeFirst();
    if (!document?.sealed_key || !document.ciphertext)
      throw new NotFoundError("photo", "This photo does not exist or has been deleted");
    await recordAction(
      tx,
      acting,
      { action: "apply.photo-viewed", subject: { type: "application", id }, after: { slot } },
      {},
    );
    return {
      mediaType: document.media_type,
      photo: openPhoto(sealer, { sealedKey: document.sealed_key, ciphertext: document.ciphertext }),
    };
  });
}

async function lockedForDecision(tx: Tx, id: string) {
  const row = await tx
    .selectFrom("apply_invitations")
    .selectAll()
    .where("id", "=", id)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new NotFoundError("application", `No application has id ${id}`);
  return row;
}

function refuseOwnInvitation(row: { invited_by: string }, actor: Actor): void {
  if (row.invited_by === actor.id)
    throw new ForbiddenError("Nobody reviews an application they invited: another ID checker must review it");
}

/** Opens an application to decide it, holding it for this reviewer for 15 minutes. */
export async function claimApplication(queryable: Queryable, actor: Actor, id: string): Promise<void> {
  await inTransaction(queryable, async (tx) => {
    const row = await lockedForDecision(tx, id);
    const { acting } = await authorised(tx, actor, "apply.review", { ods: row.ods_code });
    refuseOwnInvitation(row, actor);
    if (row.status !== "submitted")
      throw new ConflictError(`status: this application is ${row.status}`, "status");
    if (row.claimed_by && row.claimed_by !== actor.id && (row.claimed_until?.getTime() ?? 0) > Date.now())
      throw new ConflictError("claim: another ID checker has this application open", "claim");
    const until = new Date(Date.now() + claimMinutes * 60_000);
    await tx
      .updateTable("apply_invitations")
      .set((eb) => ({ claimed_by: actor.id, claimed_until: until, version: eb("version", "+", 1) }))
      .where("id", "=", id)
      .execute();
    await recordAction(
      tx,
      acting,
      {
        action: "apply.claimed",
        subject: { type: "application", id },
        after: { until: until.toISOString() },
      },
      {},
    );
  });
}

async function decidable(tx: Tx, actor: Actor, id: string, version: unknown, common: ActionCommon) {
  const row = await lockedForDecision(tx, id);
  const authorisation = await authorised(tx, actor, "apply.review", { ods: row.ods_code }, common);
  refuseOwnInvitation(row, actor);
  if (row.status !== "submitted")
    throw new ConflictError(`status: this application is already ${row.status}`, "status");
  if (row.claimed_by !== actor.id || (row.claimed_until?.getTime() ?? 0) <= Date.now())
    throw new ConflictError("claim: open the application to decide it first", "claim");
  if (version !== undefined && Number(version) !== row.version)
    throw new ConflictError("version: the application changed since you opened it; look again", "version");
  return { row, acting: authorisation.acting };
}

/** Who decided and when, the hold released, and when the photos are to go. */
function decision(acting: Actor, now: Date, photoDays: number) {
  return {
    decided_by: acting.id,
    decided_role_id: acting.roleId ?? null,
    decided_at: now,
    photos_delete_after: new Date(now.getTime() + photoDays * 86_400_000),
    claimed_by: null,
    claimed_until: null,
  };
}

/** Two photo documents earn level 3; a photo document with proof of address, level 2 (GPG45 medium, remote). */
function assuranceOf(route: string | null): 2 | 3 {
  return route === "two-documents" ? 3 : 2;
}

/**
 * Approves an application: the verified profile, the application's decision, the emails to the
 * applicant (their UUID) and to the inviter, and the photos' deletion date, all in one
 * transaction. A duplicate found now (someone registered meanwhile) refuses it whole.
 */
export async function approveApplication(
  queryable: Queryable,
  actor: Actor,
  sealer: Sealer,
  settings: Pick<ApplySettings, "photoDays">,
  id: string,
  input: ActionCommon & { version?: unknown } = {},
): Promise<Person> {
  return inTransaction(queryable, async (tx) => {
    const { row, acting } = await decidable(tx, actor, id, input.version, input);
    const documents = await documentsOf(tx, id);
    const details = row.details as ApplicantDetails;
    const person = await createProfile(
      tx,
      actor,
      {
        givenName: details.givenName,
        middleNames: details.middleNames,
        familyName: details.familyName,
        dateOfBirth: details.dateOfBirth,
        niNumber: details.niNumber,
        email: row.email,
        mobile: details.mobile,
        odsCode: row.ods_code,
      },
      {
        applicationId: id,
        identityAssuranceLevel: assuranceOf(row.evidence_route),
        documents: documents
          .filter((document) => document.slot !== "face")
          .map(
            (document): IdentityDocument => ({
              kind: document.kind as IdentityDocument["kind"],
              reference: document.reference ?? "",
              nameOnDocument: null,
              expiresOn: document.expiresOn,
            }),
          ),
      },
    );
    const now = new Date();
    await tx
      .updateTable("apply_invitations")
      .set((eb) => ({
        ...decision(acting, now, settings.photoDays),
        status: "approved",
        profile_uuid: person.uuid,
        version: eb("version", "+", 1),
      }))
      .where("id", "=", id)
      .execute();
    const name = `${person.givenName} ${person.familyName}`;
    await queueMessage(tx, sealer, {
      channel: "email",
      to: row.email,
      template: "apply-approved",
      personalisation: { name, uuid: person.uuid },
    });
    const inviter = await findPersonSummary(tx, row.invited_by);
    if (inviter?.email)
      await queueMessage(tx, sealer, {
        channel: "email",
        to: inviter.email,
        template: "apply-approved-inviter",
        personalisation: { name, uuid: person.uuid },
      });
    await recordAction(
      tx,
      acting,
      {
        action: "apply.approved",
        subject: { type: "application", id },
        after: { uuid: person.uuid, identityAssuranceLevel: person.identityAssuranceLevel },
      },
      input,
    );
    return person;
  });
}

/**
 * Rejects an application for one of section 5's reasons, emailed to the applicant. Where the
 * reason allows, a fresh application is opened for them (from the same inviter) and its link
 * goes in the same email.
 */
export async function rejectApplication(
  queryable: Queryable,
  actor: Actor,
  sealer: Sealer,
  settings: ApplySettings,
  id: string,
  input: ActionCommon & { version?: unknown; rejection?: unknown } = {},
): Promise<{ reopenedAs?: string }> {
  const rejection = String(input.rejection ?? "");
  if (!(rejection in rejectionReasons))
    throw InvalidInputError.field("rejection", "choose the reason the application is rejected");
  const reason = rejectionReasons[rejection as RejectionReason];
  return inTransaction(queryable, async (tx) => {
    const { row, acting } = await decidable(tx, actor, id, input.version, input);
    const now = new Date();
    await tx
      .updateTable("apply_invitations")
      .set((eb) => ({
        ...decision(acting, now, settings.photoDays),
        status: "rejected",
        decision_reason: rejection,
        version: eb("version", "+", 1),
      }))
      .where("id", "=", id)
      .execute();
    let again = "If you think this is wrong, contact whoever invited you.";
    let reopenedAs: string | undefined;
    if (reason.again) {
      const token = randomBytes(32).toString("base64url");
      reopenedAs = randomUUID();
      const expiresAt = new Date(now.getTime() + settings.linkDays * 86_400_000);
      await tx
        .insertInto("apply_invitations")
        .values({
          id: reopenedAs,
          token_digest: digestOfToken(token),
          ods_code: row.ods_code,
          invited_by: row.invited_by,
          invited_role_id: row.invited_role_id,
          given_name: row.given_name,
          family_name: row.family_name,
          email: row.email,
          expires_at: expiresAt,
        })
        .execute();
      again = `You can start again with new photos here: ${settings.applyUrl}/${token} (until ${expiresAt.toISOString().slice(0, 10)}).`;
    }
    await queueMessage(tx, sealer, {
      channel: "email",
      to: row.email,
      template: "apply-rejected",
      personalisation: { name: `${row.given_name} ${row.family_name}`, reason: reason.text, again },
    });
    await recordAction(
      tx,
      acting,
      { action: "apply.rejected", subject: { type: "application", id }, after: { rejection, reopenedAs } },
      input,
    );
    return { reopenedAs };
  });
}

/**
 * Deletes the photos of applications decided long enough ago (CAREID_APPLY_PHOTO_DAYS): the
 * sealed data key and the ciphertext go; what was checked and decided stays. Every node runs
 * this: each locks the applications it deletes (FOR UPDATE SKIP LOCKED), so two nodes never
 * delete, or audit, one application's photos twice.
 */
export async function deleteDuePhotos(queryable: Queryable, actor: Actor, now = new Date()): Promise<number> {
  return inTransaction(queryable, async (tx) => {
    const due = await tx
      .selectFrom("apply_invitations")
      .select("id")
      .where("photos_delete_after", "<=", now)
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom("apply_documents")
            .select("slot")
            .whereRef("apply_documents.invitation_id", "=", "apply_invitations.id")
            .where("deleted_at", "is", null),
        ),
      )
      .orderBy("photos_delete_after")
      .limit(500)
      .forUpdate()
      .skipLocked()
      .execute();
    let deleted = 0;
    for (const { id } of due) {
      const photos = await tx
        .updateTable("apply_documents")
        .set({ sealed_key: null, ciphertext: null, deleted_at: now })
        .where("invitation_id", "=", id)
        .where("deleted_at", "is", null)
        .returning("slot")
        .execute();
      // Another node finished this one between our look and our lock.
      if (photos.length === 0) continue;
      await recordAction(
        tx,
        actor,
        {
          action: "apply.photos-deleted",
          subject: { type: "application", id },
          after: { slots: photos.map((photo) => photo.slot) },
        },
        {},
      );
      deleted++;
    }
    return deleted;
  });
}
