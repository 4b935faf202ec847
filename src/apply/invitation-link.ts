import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { DomainError } from "../errors.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import type { ApplyInvitationStatus } from "../store/schema.ts";
import { digestOfToken } from "./invitations.ts";

/**
 * The applicant's side of an invitation: opening the emailed link, refused (and audited) once
 * it is unknown, expired, withdrawn or used, and the actor the applicant acts as until they
 * have a profile.
 */

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
