import { type Expression, type SqlBool, sql } from "kysely";
import { roleName } from "../rbac/ods/ods-codes.ts";
import type { Queryable } from "../store/database.ts";

/** One of an organisation's ODS roles. */
export type DirectoryRole = {
  code: string;
  name: string;
  primary: boolean;
  active: boolean;
  startDate: string | null;
  endDate: string | null;
};

/**
 * An organisation as the directory publishes it: its roles (the primary one first), its open
 * date (or, for one recorded before ODS dates were kept, the date it was first recorded), when
 * ODS last changed it and when this directory last did, and where its work went if it closed.
 */
export type DirectoryOrganisation = {
  odsCode: string;
  name: string;
  roleCode: string;
  roleName: string;
  active: boolean;
  parentOdsCode: string | null;
  address: { lines: string[]; city: string | null; postcode: string | null };
  telephone: string | null;
  openedOn: string;
  closedOn: string | null;
  lastChangeDate: string | null;
  lastUpdated: string;
  roles: DirectoryRole[];
  successors: { kind: "Successor" | "Predecessor"; odsCode: string; startDate: string | null }[];
};

/** A date search (a FHIR date parameter's comparison) on `_lastUpdated` (an instant) or `lastChangeDate`. */
export type DateCriterion = { operator: "=" | "<>" | ">" | "<" | ">=" | "<="; value: string };

/** Every criterion is optional; `name` matches from the start unless told `contains` or `exact`. */
export type OrganisationCriteria = {
  odsCode?: string;
  name?: { text: string; match: "starts" | "contains" | "exact" };
  active?: boolean;
  postcode?: string;
  city?: string;
  /** Any of its active roles. */
  roleCode?: string;
  primaryRoleCode?: string;
  nonPrimaryRoleCode?: string;
  lastUpdated?: DateCriterion[];
  lastChangeDate?: DateCriterion[];
};

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

function organisationQuery(queryable: Queryable) {
  return queryable
    .selectFrom("organisations")
    .select([
      "ods_code",
      "name",
      "type_code",
      "type_name",
      "status",
      "parent_ods_code",
      "address_lines",
      "city",
      "postcode",
      "telephone",
      "close_date",
      "last_change_date",
      sql<string>`coalesce(to_char(open_date, 'YYYY-MM-DD'), to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'))`.as(
        "opened_on",
      ),
      sql<string>`to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as("last_updated"),
    ]);
}

/** Organisations matching the criteria, a page at a time in ODS code order, and how many match. */
export async function searchOrganisations(
  queryable: Queryable,
  criteria: OrganisationCriteria,
  page: { count: number; offset: number },
): Promise<{ organisations: DirectoryOrganisation[]; total: number }> {
  let query = organisationQuery(queryable);
  if (criteria.odsCode) query = query.where("ods_code", "=", criteria.odsCode.toUpperCase());
  if (criteria.name) {
    const { text, match } = criteria.name;
    if (match === "exact") query = query.where("name", "=", text);
    else {
      const pattern = match === "contains" ? `%${escapeLike(text)}%` : `${escapeLike(text)}%`;
      query = query.where("name", "ilike", pattern);
    }
  }
  if (criteria.active !== undefined)
    query = query.where("status", "=", criteria.active ? "active" : "inactive");
  if (criteria.postcode) {
    const compact = criteria.postcode.replace(/\s+/g, "").toUpperCase();
    query = query.where(sql<string>`replace(postcode, ' ', '')`, "like", `${escapeLike(compact)}%`);
  }
  if (criteria.city) query = query.where("city", "ilike", `${escapeLike(criteria.city)}%`);
  if (criteria.roleCode) query = query.where(hasRole(criteria.roleCode, undefined));
  if (criteria.primaryRoleCode) query = query.where(hasRole(criteria.primaryRoleCode, true));
  if (criteria.nonPrimaryRoleCode) query = query.where(hasRole(criteria.nonPrimaryRoleCode, false));
  for (const { operator, value } of criteria.lastUpdated ?? [])
    query = query.where(
      value.length === 10
        ? sql<SqlBool>`(updated_at AT TIME ZONE 'UTC')::date ${sql.raw(operator)} ${value}::date`
        : sql<SqlBool>`updated_at ${sql.raw(operator)} ${value}::timestamptz`,
    );
  for (const { operator, value } of criteria.lastChangeDate ?? [])
    query = query.where(sql<SqlBool>`last_change_date ${sql.raw(operator)} ${value}::date`);
  const rows = await query
    .select(sql<number>`count(*) OVER ()`.as("total"))
    .orderBy("ods_code")
    .limit(page.count)
    .offset(page.offset)
    .execute();
  const total = rows[0]?.total ?? (page.offset > 0 ? await countOnly(queryable, criteria) : 0);
  return { organisations: await withRoles(queryable, rows), total: Number(total) };
}

/** An active role of this code (primary, not primary, or either). */
function hasRole(code: string, primary: boolean | undefined): Expression<SqlBool> {
  return sql<SqlBool>`EXISTS (SELECT 1 FROM organisation_roles r
    WHERE r.ods_code = organisations.ods_code AND r.role_code = ${code.toUpperCase()} AND r.active
      AND (${primary ?? null}::boolean IS NULL OR r.is_primary = ${primary ?? null}::boolean))`;
}

/** The total when the page is past the end, so `count(*) OVER ()` had no row to ride on. */
async function countOnly(queryable: Queryable, criteria: OrganisationCriteria): Promise<number> {
  const { total } = await searchOrganisations(queryable, criteria, { count: 1_000_000, offset: 0 });
  return total;
}

export async function organisationsByCode(
  queryable: Queryable,
  odsCodes: string[],
): Promise<DirectoryOrganisation[]> {
  if (odsCodes.length === 0) return [];
  const rows = await organisationQuery(queryable)
    .where("ods_code", "in", odsCodes)
    .orderBy("ods_code")
    .execute();
  return withRoles(queryable, rows);
}

type OrganisationRow = Awaited<ReturnType<ReturnType<typeof organisationQuery>["execute"]>>[number];

/** The organisations of these rows with their roles and successors, two queries for the page. */
async function withRoles(queryable: Queryable, rows: OrganisationRow[]): Promise<DirectoryOrganisation[]> {
  if (rows.length === 0) return [];
  const codes = rows.map((row) => row.ods_code);
  const roles = await queryable
    .selectFrom("organisation_roles")
    .selectAll()
    .where(sql<SqlBool>`ods_code = ANY(${codes}::text[])`)
    .orderBy("ods_code")
    .orderBy("is_primary", "desc")
    .orderBy("role_code")
    .execute();
  const successors = await queryable
    .selectFrom("organisation_successors")
    .selectAll()
    .where(sql<SqlBool>`ods_code = ANY(${codes}::text[])`)
    .orderBy("ods_code")
    .orderBy("kind")
    .orderBy("target_ods_code")
    .execute();
  return rows.map((row) => ({
    ...organisationFromRow(row),
    roles: roles
      .filter((role) => role.ods_code === row.ods_code)
      .map((role) => ({
        code: role.role_code,
        name: role.role_code === row.type_code ? row.type_name : roleName(role.role_code),
        primary: role.is_primary,
        active: role.active,
        startDate: role.start_date,
        endDate: role.end_date,
      })),
    successors: successors
      .filter((successor) => successor.ods_code === row.ods_code)
      .map((successor) => ({
        kind: successor.kind,
        odsCode: successor.target_ods_code,
        startDate: successor.start_date,
      })),
  }));
}

function organisationFromRow(row: OrganisationRow): Omit<DirectoryOrganisation, "roles" | "successors"> {
  return {
    odsCode: row.ods_code,
    name: row.name,
    roleCode: row.type_code,
    roleName: row.type_name,
    active: row.status === "active",
    parentOdsCode: row.parent_ods_code,
    address: { lines: row.address_lines, city: row.city, postcode: row.postcode },
    telephone: row.telephone,
    openedOn: row.opened_on,
    closedOn: row.close_date,
    lastChangeDate: row.last_change_date,
    lastUpdated: row.last_updated,
  };
}
