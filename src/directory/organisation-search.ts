import { sql } from "kysely";
import type { Queryable } from "../store/database.ts";

/** An organisation as the directory publishes it, with the date it was first recorded. */
export type DirectoryOrganisation = {
  odsCode: string;
  name: string;
  roleCode: string;
  roleName: string;
  active: boolean;
  parentOdsCode: string | null;
  address: { lines: string[]; city: string | null; postcode: string | null };
  openedOn: string;
};

/** Every criterion is optional; `name` matches from the start unless told `contains` or `exact`. */
export type OrganisationCriteria = {
  odsCode?: string;
  name?: { text: string; match: "starts" | "contains" | "exact" };
  active?: boolean;
  postcode?: string;
  city?: string;
  roleCode?: string;
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
      sql<string>`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`.as("opened_on"),
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
  if (criteria.roleCode) query = query.where("type_code", "=", criteria.roleCode.toUpperCase());
  const rows = await query
    .select(sql<number>`count(*) OVER ()`.as("total"))
    .orderBy("ods_code")
    .limit(page.count)
    .offset(page.offset)
    .execute();
  const total = rows[0]?.total ?? (page.offset > 0 ? await countOnly(queryable, criteria) : 0);
  return { organisations: rows.map(organisationFromRow), total: Number(total) };
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
  return rows.map(organisationFromRow);
}

type OrganisationRow = Awaited<ReturnType<ReturnType<typeof organisationQuery>["execute"]>>[number];

function organisationFromRow(row: OrganisationRow): DirectoryOrganisation {
  return {
    odsCode: row.ods_code,
    name: row.name,
    roleCode: row.type_code,
    roleName: row.type_name,
    active: row.status === "active",
    parentOdsCode: row.parent_ods_code,
    address: { lines: row.address_lines, city: row.city, postcode: row.postcode },
    openedOn: row.opened_on,
  };
}
