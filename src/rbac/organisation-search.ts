import { sql } from "kysely";
import type { Queryable } from "../store/database.ts";
import { getOrganisation, type Organisation } from "./organisations.ts";

/** An organisation as a national administrator reviews it: where it came from and its dates. */
export type OrganisationRecord = Organisation & {
  /** ods: loaded from an ODS extract; local: added in CIM before ODS knew it. */
  source: "ods" | "local";
  openDate: string | null;
  closeDate: string | null;
  updatedAt: Date;
};

/** The most a search lists: the national extracts hold about 100,000 organisations. */
export const searchLimit = 50;

/**
 * Organisations whose ODS code starts with the text, or whose name contains it, codes matched
 * exactly first. At most searchLimit, so a short search over the national list stays quick.
 */
export async function findOrganisations(queryable: Queryable, text: string): Promise<OrganisationRecord[]> {
  const wanted = text.trim().replace(/\s+/g, " ");
  if (wanted.length === 0) return [];
  const pattern = `%${wanted.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
  const codePrefix = `${wanted.toUpperCase().replace(/[\\%_]/g, "")}%`;
  const rows = await queryable
    .selectFrom("organisations")
    .select("ods_code")
    .where((eb) => eb.or([eb("ods_code", "like", codePrefix), eb("name", "ilike", pattern)]))
    .orderBy(sql`ods_code = ${wanted.toUpperCase()}`, "desc")
    .orderBy("name")
    .orderBy("ods_code")
    .limit(searchLimit)
    .execute();
  return Promise.all(rows.map((row) => organisationRecord(queryable, row.ods_code)));
}

export async function organisationRecord(queryable: Queryable, odsCode: string): Promise<OrganisationRecord> {
  const organisation = await getOrganisation(queryable, odsCode);
  const row = await queryable
    .selectFrom("organisations")
    .select(["source", "open_date", "close_date", "updated_at"])
    .where("ods_code", "=", odsCode)
    .executeTakeFirstOrThrow();
  return {
    ...organisation,
    source: row.source,
    openDate: row.open_date,
    closeDate: row.close_date,
    updatedAt: row.updated_at,
  };
}
