import { type Selectable, sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { ConflictError, InvalidInputError, NotFoundError, Problems } from "../errors.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import type { OrganisationsTable } from "../store/schema.ts";

export type Organisation = {
  odsCode: string;
  name: string;
  typeCode: string;
  typeName: string;
  status: "active" | "inactive";
  parentOdsCode: string | null;
  address: { lines: string[]; city: string | null; postcode: string | null };
};

export type NewOrganisation = {
  odsCode?: unknown;
  name?: unknown;
  type?: unknown;
  typeName?: unknown;
  status?: unknown;
  parentOdsCode?: unknown;
  address?: { lines?: unknown; city?: unknown; postcode?: unknown };
};

export const odsCodePattern = /^[A-Z0-9]{3,10}$/;

function checkOrganisation(input: NewOrganisation): Organisation {
  const problems = new Problems();
  const odsCode = String(input.odsCode ?? "").toUpperCase();
  if (!odsCodePattern.test(odsCode))
    problems.add("odsCode", "must be 3 to 10 letters and digits, e.g. RZZ or A99001");
  const name = typeof input.name === "string" ? input.name.trim() : "";
  if (name.length === 0 || name.length > 200) problems.add("name", "is required (up to 200 characters)");
  const typeCode = String(input.type ?? "");
  if (!/^RO[0-9]{1,4}$/.test(typeCode)) problems.add("type", "must be an ODS role code such as RO197");
  const status = input.status ?? "active";
  if (status !== "active" && status !== "inactive") problems.add("status", "must be active or inactive");
  const lines = input.address?.lines ?? [];
  if (!Array.isArray(lines) || lines.some((line) => typeof line !== "string")) {
    problems.add("address.lines", "must be a list of text lines");
  }
  problems.throwIfAny();
  return {
    odsCode,
    name,
    typeCode,
    typeName: typeof input.typeName === "string" ? input.typeName : typeCode,
    status: status as Organisation["status"],
    parentOdsCode: input.parentOdsCode ? String(input.parentOdsCode).toUpperCase() : null,
    address: {
      lines: lines as string[],
      city: typeof input.address?.city === "string" ? input.address.city : null,
      postcode: typeof input.address?.postcode === "string" ? input.address.postcode.toUpperCase() : null,
    },
  };
}

export async function createOrganisation(
  queryable: Queryable,
  actor: Actor,
  input: NewOrganisation,
): Promise<Organisation> {
  const organisation = checkOrganisation(input);
  return inTransaction(queryable, async (tx) => {
    const existing = await tx
      .selectFrom("organisations")
      .select("ods_code")
      .where("ods_code", "=", organisation.odsCode)
      .executeTakeFirst();
    if (existing) throw new ConflictError(`odsCode: ${organisation.odsCode} is already recorded`, "odsCode");
    if (organisation.parentOdsCode) await getOrganisation(tx, organisation.parentOdsCode, "parentOdsCode");
    await tx
      .insertInto("organisations")
      .values({
        ods_code: organisation.odsCode,
        name: organisation.name,
        type_code: organisation.typeCode,
        type_name: organisation.typeName,
        status: organisation.status,
        parent_ods_code: organisation.parentOdsCode,
        address_lines: organisation.address.lines,
        city: organisation.address.city,
        postcode: organisation.address.postcode,
      })
      .execute();
    await tx
      .insertInto("organisation_roles")
      .values({
        ods_code: organisation.odsCode,
        role_code: organisation.typeCode,
        is_primary: true,
        active: organisation.status === "active",
      })
      .execute();
    await recordEvent(tx, actor, {
      action: "organisation.created",
      subject: { type: "organisation", id: organisation.odsCode },
      after: organisation,
    });
    return organisation;
  });
}

/** Reads one organisation; `field` names the input that carried the code, for the error. */
export async function getOrganisation(
  queryable: Queryable,
  odsCode: string,
  field = "odsCode",
): Promise<Organisation> {
  if (!odsCodePattern.test(odsCode))
    throw InvalidInputError.field(field, "must be 3 to 10 letters and digits");
  const row = await queryable
    .selectFrom("organisations")
    .selectAll()
    .where("ods_code", "=", odsCode)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("organisation", `${field}: no organisation has ODS code ${odsCode}`);
  return organisationFromRow(row);
}

export async function listOrganisations(queryable: Queryable): Promise<Organisation[]> {
  const rows = await queryable.selectFrom("organisations").selectAll().orderBy("name").execute();
  return rows.map(organisationFromRow);
}

function organisationFromRow(row: Selectable<OrganisationsTable>): Organisation {
  return {
    odsCode: row.ods_code,
    name: row.name,
    typeCode: row.type_code,
    typeName: row.type_name,
    status: row.status,
    parentOdsCode: row.parent_ods_code,
    address: { lines: row.address_lines, city: row.city, postcode: row.postcode },
  };
}

/** The organisations and every organisation below them; "*" stands for all. */
export function organisationsBelow(odsCodes: string[]) {
  return sql<{ ods_code: string }>`
    WITH RECURSIVE below (ods_code, depth) AS (
      SELECT ods_code, 0 FROM organisations
       WHERE ods_code = ANY(${odsCodes}::text[]) OR '*' = ANY(${odsCodes}::text[])
      UNION
      SELECT o.ods_code, b.depth + 1 FROM organisations o JOIN below b ON o.parent_ods_code = b.ods_code
       WHERE b.depth < 20
    )
    SELECT DISTINCT ods_code FROM below`;
}

/** organisationsBelow() read out: the codes, in order. */
export async function organisationCodesBelow(queryable: Queryable, odsCodes: string[]): Promise<string[]> {
  const result = await organisationsBelow(odsCodes).execute(queryable);
  return result.rows.map((row) => row.ods_code).sort();
}

/** The organisation and every organisation above it, nearest first. */
export async function organisationLineage(queryable: Queryable, odsCode: string): Promise<string[]> {
  const result = await sql<{ ods_code: string }>`
    WITH RECURSIVE lineage (ods_code, parent_ods_code, depth) AS (
      SELECT ods_code, parent_ods_code, 0 FROM organisations WHERE ods_code = ${odsCode}
      UNION ALL
      SELECT o.ods_code, o.parent_ods_code, l.depth + 1
        FROM organisations o JOIN lineage l ON o.ods_code = l.parent_ods_code
       WHERE l.depth < 20
    )
    SELECT ods_code FROM lineage ORDER BY depth`.execute(queryable);
  return result.rows.map((row) => row.ods_code);
}
