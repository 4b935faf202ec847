import { sql } from "kysely";
import type { OrganisationsTable } from "../../store/schema.ts";
import { classAttributes } from "./attributes.ts";
import { escapeDnValue } from "./dn.ts";
import { makeEntry, valuesOf } from "./entry.ts";
import { afterCursor, type EntrySource, inList, readRows, upper } from "./source.ts";

/** ou=Organisations: one nhsOrg per organisation, named by its ODS code. */

type OrganisationRow = Pick<
  OrganisationsTable,
  "ods_code" | "name" | "type_code" | "type_name" | "parent_ods_code" | "address_lines" | "city" | "postcode"
>;

export const organisationSource: EntrySource = {
  name: "nhsOrg",
  path: [
    { type: "o", value: "nhs" },
    { type: "ou", value: "Organisations" },
    { type: "uniqueIdentifier", key: "odsCode" },
  ],
  objectClasses: ["top", "nhsOrg"],
  attributes: classAttributes("nhsOrg"),
  narrowing: { uniqueidentifier: "odsCode", nhsidcode: "odsCode" },
  async read(db, keys, after, limit) {
    const rows = await readRows(
      db,
      sql<OrganisationRow>`
      SELECT ods_code, name, type_code, type_name, parent_ods_code, address_lines, city, postcode
      FROM organisations
      WHERE ${inList("ods_code", upper(keys.get("odsCode")))} AND ${afterCursor("ods_code", after)}
      ORDER BY ods_code LIMIT ${limit}`,
    );
    return rows.map((row) =>
      makeEntry(`uniqueIdentifier=${escapeDnValue(row.ods_code)},ou=Organisations,o=nhs`, {
        objectClass: ["top", "nhsOrg"],
        uniqueIdentifier: row.ods_code,
        nhsIDCode: row.ods_code,
        o: row.name,
        nhsOrgType: row.type_name,
        nhsOrgTypeCode: row.type_code,
        nhsParentOrgCode: row.parent_ods_code,
        street: row.address_lines,
        l: row.city,
        postalCode: row.postcode,
      }),
    );
  },
  cursor: (entry) => valuesOf(entry, "uniqueIdentifier")?.[0] ?? "",
};
