import { sql } from "kysely";
import { organisationsBelow } from "../rbac/organisations.ts";
import type { Tx } from "../store/database.ts";

/**
 * Apply for Care ID in figures, for CIM's reports: per inviting organisation (the one asked for
 * and those below it), how many invitations are where in the journey, and how long review takes.
 * Counts only, no applicant's personal data, so any RA role that runs reports may see them.
 */
export const applicationFigureColumns = [
  "odsCode",
  "invited",
  "awaitingApplicant",
  "linkExpired",
  "referred",
  "awaitingReview",
  "approved",
  "rejected",
  "withdrawn",
  "photosDeleted",
  "averageHoursToDecision",
];

export async function applicationFigures(
  tx: Tx,
  odsCode: string,
  now = new Date(),
): Promise<{ columns: string[]; rows: (string | number | null)[][] }> {
  const open = sql`status IN ('invited', 'started')`;
  const rows = await tx
    .selectFrom("apply_invitations")
    .select([
      "ods_code",
      sql<number>`count(*)::int`.as("invited"),
      sql<number>`(count(*) FILTER (WHERE ${open} AND expires_at > ${now}))::int`.as("awaiting"),
      sql<number>`(count(*) FILTER (WHERE ${open} AND expires_at <= ${now}))::int`.as("expired"),
      sql<number>`(count(*) FILTER (WHERE status = 'referred'))::int`.as("referred"),
      sql<number>`(count(*) FILTER (WHERE status = 'submitted'))::int`.as("submitted"),
      sql<number>`(count(*) FILTER (WHERE status = 'approved'))::int`.as("approved"),
      sql<number>`(count(*) FILTER (WHERE status = 'rejected'))::int`.as("rejected"),
      sql<number>`(count(*) FILTER (WHERE status = 'withdrawn'))::int`.as("withdrawn"),
      sql<number>`(count(*) FILTER (WHERE EXISTS (SELECT 1 FROM apply_documents d WHERE d.invitation_id = apply_invitations.id AND d.deleted_at IS NOT NULL)))::int`.as(
        "photos_deleted",
      ),
      sql<
        number | null
      >`round((avg(extract(epoch FROM decided_at - submitted_at)) FILTER (WHERE decided_at IS NOT NULL AND submitted_at IS NOT NULL) / 3600)::numeric, 1)`.as(
        "hours",
      ),
    ])
    .where(sql<boolean>`ods_code IN (${organisationsBelow([odsCode])})`)
    .groupBy("ods_code")
    .orderBy("ods_code")
    .execute();
  return {
    columns: applicationFigureColumns,
    rows: rows.map((row) => [
      row.ods_code,
      row.invited,
      row.awaiting,
      row.expired,
      row.referred,
      row.submitted,
      row.approved,
      row.rejected,
      row.withdrawn,
      row.photos_deleted,
      row.hours === null ? null : Number(row.hours),
    ]),
  };
}
