import { sql } from "kysely";
import { relationshipName } from "../rbac/ods/ods-codes.ts";
import type { Queryable } from "../store/database.ts";
import type { Database } from "../store/schema.ts";

/**
 * A relationship between two organisations as the directory publishes it (FHIR's
 * OrganizationAffiliation): the participating organisation stands in the relationship to the
 * primary one, e.g. a trust site (participating) IS OPERATED BY its trust (primary).
 */
export type Affiliation = {
  id: string;
  participatingOdsCode: string;
  primaryOdsCode: string;
  primaryRoleCode: string | null;
  relationshipCode: string;
  relationshipName: string;
  active: boolean;
  startDate: string | null;
  endDate: string | null;
};

export type AffiliationCriteria = {
  participating?: string;
  primary?: string;
  relationshipCode?: string;
  active?: boolean;
};

/** The id of an affiliation: participating, relationship and primary, which identify it. */
export function affiliationId(participating: string, relationship: string, primary: string): string {
  return `${participating}-${relationship}-${primary}`;
}

/** Affiliations matching the criteria, a page at a time in id order, and how many match. */
export async function searchAffiliations(
  queryable: Queryable,
  criteria: AffiliationCriteria,
  page: { count: number; offset: number },
): Promise<{ affiliations: Affiliation[]; total: number }> {
  let query = queryable.selectFrom("organisation_relationships").selectAll();
  if (criteria.participating) query = query.where("ods_code", "=", criteria.participating);
  if (criteria.primary) query = query.where("target_ods_code", "=", criteria.primary);
  if (criteria.relationshipCode) query = query.where("relationship_code", "=", criteria.relationshipCode);
  if (criteria.active !== undefined) query = query.where("active", "=", criteria.active);
  const rows = await query
    .select(sql<number>`count(*) OVER ()`.as("total"))
    .orderBy("ods_code")
    .orderBy("relationship_code")
    .orderBy("target_ods_code")
    .limit(page.count)
    .offset(page.offset)
    .execute();
  let total = Number(rows[0]?.total ?? 0);
  if (rows.length === 0 && page.offset > 0)
    total = (await searchAffiliations(queryable, criteria, { count: 1_000_000, offset: 0 })).total;
  return { affiliations: rows.map(affiliationFromRow), total };
}

export const affiliationIdPattern = /^([A-Z0-9]{3,10})-(RE[0-9]{1,4})-([A-Z0-9]{3,10})$/;

/** One affiliation by its id, or undefined. */
export async function getAffiliation(queryable: Queryable, id: string): Promise<Affiliation | undefined> {
  const [, participating, relationship, primary] = affiliationIdPattern.exec(id) ?? [];
  if (!participating || !relationship || !primary) return undefined;
  const row = await queryable
    .selectFrom("organisation_relationships")
    .selectAll()
    .where("ods_code", "=", participating)
    .where("relationship_code", "=", relationship)
    .where("target_ods_code", "=", primary)
    .executeTakeFirst();
  return row ? affiliationFromRow(row) : undefined;
}

function affiliationFromRow(row: Database["organisation_relationships"]): Affiliation {
  return {
    id: affiliationId(row.ods_code, row.relationship_code, row.target_ods_code),
    participatingOdsCode: row.ods_code,
    primaryOdsCode: row.target_ods_code,
    primaryRoleCode: row.target_role_code,
    relationshipCode: row.relationship_code,
    relationshipName: relationshipName(row.relationship_code),
    active: row.active,
    startDate: row.start_date,
    endDate: row.end_date,
  };
}
