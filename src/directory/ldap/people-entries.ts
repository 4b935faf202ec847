import { type RawBuilder, sql } from "kysely";
import type { CodeLists } from "../../rbac/code-lists.ts";
import { effectiveActivities, qualifyJobRole } from "../../rbac/job-roles.ts";
import type { PositionsTable } from "../../store/schema.ts";
import { escapeDnValue } from "./dn.ts";
import { ldapDate, makeEntry, valuesOf } from "./entry.ts";
import { afterCursor, type EntrySource, inList, readRows, today, upper } from "./source.ts";

/**
 * ou=People: a person (nhsPerson) for each active Care Identity, below it one nhsOrgPerson per
 * organisation where the person holds a current position, and below that one nhsOrgPersonRole
 * per current position. Suspended and closed identities and ended positions are not published,
 * the same rule the Healthcare Worker FHIR API follows.
 */

const personPath = [
  { type: "o", value: "nhs" },
  { type: "ou", value: "People" },
  { type: "uid", key: "uuid" },
];
const orgPersonPath = [...personPath, { type: "uniqueIdentifier", key: "personOrgId" }];
const rolePath = [...orgPersonPath, { type: "uniqueIdentifier", key: "roleProfileId" }];

/** Professional registers and the SDS attribute each number is published in. */
const registrationAttributes: Record<string, string> = {
  GMC: "nhsGMC",
  NMC: "nhsNMC",
  GDC: "nhsGDC",
  // SDS kept the name of the pharmacy register from before the GPhC took it over.
  GPhC: "nhsRPSGB",
};

export function personDn(uuid: string): string {
  return `uid=${escapeDnValue(uuid)},ou=People,o=nhs`;
}

function orgPersonDn(uuid: string, personOrgId: string): string {
  return `uniqueIdentifier=${escapeDnValue(personOrgId)},${personDn(uuid)}`;
}

function currentPosition(alias: string): RawBuilder<boolean> {
  const now = today();
  return sql<boolean>`${sql.ref(`${alias}.status`)} = 'active' AND ${sql.ref(`${alias}.start_date`)} <= ${now}::date AND (${sql.ref(`${alias}.end_date`)} IS NULL OR ${sql.ref(`${alias}.end_date`)} >= ${now}::date)`;
}

type PersonRow = {
  uuid: string;
  title: string | null;
  given_name: string;
  middle_names: string | null;
  family_name: string;
  registrations: { body: string; number: string }[] | null;
};

export const personSource: EntrySource = {
  name: "nhsPerson",
  path: personPath,
  objectClasses: ["top", "nhsPerson"],
  attributes: [
    "objectClass",
    "uid",
    "cn",
    "sn",
    "givenName",
    "nhsMiddleNames",
    "personalTitle",
    "nhsPersonStatus",
    ...Object.values(registrationAttributes),
  ],
  narrowing: { uid: "uuid", userid: "uuid", sn: "familyName", surname: "familyName" },
  async read(db, keys, after, limit) {
    const familyNames = keys.get("familyName");
    const rows = await readRows(
      db,
      sql<PersonRow>`
      SELECT p.uuid, p.title, p.given_name, p.middle_names, p.family_name,
        (SELECT json_agg(json_build_object('body', r.body, 'number', r.number) ORDER BY r.body)
           FROM professional_registrations r WHERE r.uuid = p.uuid) AS registrations
      FROM people p
      WHERE p.status = 'active'
        AND ${inList("p.uuid", keys.get("uuid"))}
        AND ${familyNames ? sql<boolean>`lower(p.family_name) IN (${sql.join(familyNames)})` : sql<boolean>`true`}
        AND ${afterCursor("p.uuid", after)}
      ORDER BY p.uuid LIMIT ${limit}`,
    );
    return rows.map(personEntry);
  },
  cursor: (entry) => valuesOf(entry, "uid")?.[0] ?? "",
};

function personEntry(row: PersonRow) {
  const registrations = Object.fromEntries(
    (row.registrations ?? []).flatMap((registration) => {
      const attribute = registrationAttributes[registration.body];
      return attribute ? [[attribute, registration.number]] : [];
    }),
  );
  return makeEntry(personDn(row.uuid), {
    objectClass: ["top", "nhsPerson"],
    uid: row.uuid,
    cn: [row.family_name, row.given_name, row.title].filter(Boolean).join(" "),
    sn: row.family_name,
    givenName: row.given_name,
    nhsMiddleNames: row.middle_names,
    personalTitle: row.title,
    nhsPersonStatus: "1",
    ...registrations,
  });
}

type OrgPersonRow = {
  person_orgid: string;
  uuid: string;
  ods_code: string;
  name: string;
  open_date: string | null;
};

export const orgPersonSource: EntrySource = {
  name: "nhsOrgPerson",
  path: orgPersonPath,
  objectClasses: ["top", "nhsOrgPerson"],
  attributes: ["objectClass", "uniqueIdentifier", "nhsIDCode", "o", "nhsOrgOpenDate", "nhsOpenDate"],
  narrowing: { uniqueidentifier: "personOrgId", nhsidcode: "odsCode" },
  async read(db, keys, after, limit) {
    const rows = await readRows(
      db,
      sql<OrgPersonRow>`
      SELECT po.person_orgid, po.uuid, po.ods_code, o.name,
        (SELECT min(x.start_date) FROM positions x
           WHERE x.uuid = po.uuid AND x.person_orgid = po.person_orgid AND ${currentPosition("x")})::text AS open_date
      FROM person_organisations po
      JOIN people p ON p.uuid = po.uuid AND p.status = 'active'
      JOIN organisations o ON o.ods_code = po.ods_code
      WHERE ${inList("po.uuid", keys.get("uuid"))}
        AND ${inList("po.person_orgid", keys.get("personOrgId"))}
        AND ${inList("po.ods_code", upper(keys.get("odsCode")))}
        AND ${afterCursor("po.person_orgid", after)}
        AND EXISTS (SELECT 1 FROM positions x
           WHERE x.uuid = po.uuid AND x.person_orgid = po.person_orgid AND ${currentPosition("x")})
      ORDER BY po.person_orgid LIMIT ${limit}`,
    );
    return rows.map((row) =>
      makeEntry(orgPersonDn(row.uuid, row.person_orgid), {
        objectClass: ["top", "nhsOrgPerson"],
        uniqueIdentifier: row.person_orgid,
        nhsIDCode: row.ods_code,
        o: row.name,
        nhsOrgOpenDate: ldapDate(row.open_date),
        nhsOpenDate: ldapDate(row.open_date),
      }),
    );
  },
  cursor: (entry) => valuesOf(entry, "uniqueIdentifier")?.[0] ?? "",
};

/** A position as the role query reads it: the table's columns and its workgroups' names. */
type RoleRow = Omit<PositionsTable, "status" | "created_at" | "updated_at"> & {
  workgroup_names: string[] | null;
};

export function roleSource(lists: CodeLists): EntrySource {
  return {
    name: "nhsOrgPersonRole",
    path: rolePath,
    objectClasses: ["top", "nhsOrgPersonRole"],
    attributes: [
      "objectClass",
      "uniqueIdentifier",
      "nhsIDCode",
      "nhsJobRole",
      "nhsJobRoleCode",
      "nhsBusinessFunctions",
      "nhsBusinessFunctionsCodes",
      "nhsOrgOpenDate",
      "nhsOpenDate",
      "nhsOrgCloseDate",
      "nhsCloseDate",
      "nhsAreaOfWork",
      "nhsAreaOfWorkCodes",
      "nhsWorkGroups",
      "nhsWorkGroupsCodes",
    ],
    narrowing: { uniqueidentifier: "roleProfileId", nhsidcode: "odsCode" },
    async read(db, keys, after, limit) {
      const rows = await readRows(
        db,
        sql<RoleRow>`
        SELECT r.role_profile_id, r.person_orgid, r.uuid, r.ods_code, r.job_role_code, r.added_activity_codes,
          r.workgroup_ids, r.area_of_work_codes, r.start_date, r.end_date,
          (SELECT array_agg(w.name ORDER BY array_position(r.workgroup_ids, w.id::text))
             FROM workgroups w WHERE w.id::text = ANY(r.workgroup_ids)) AS workgroup_names
        FROM positions r
        JOIN people p ON p.uuid = r.uuid AND p.status = 'active'
        WHERE ${currentPosition("r")}
          AND ${inList("r.uuid", keys.get("uuid"))}
          AND ${inList("r.person_orgid", keys.get("personOrgId"))}
          AND ${inList("r.role_profile_id", keys.get("roleProfileId"))}
          AND ${inList("r.ods_code", upper(keys.get("odsCode")))}
          AND ${afterCursor("r.role_profile_id", after)}
        ORDER BY r.role_profile_id LIMIT ${limit}`,
      );
      return rows.map((row) => roleEntry(lists, row));
    },
    cursor: (entry) => valuesOf(entry, "uniqueIdentifier")?.[0] ?? "",
  };
}

function roleEntry(lists: CodeLists, row: RoleRow) {
  const role = lists.jobRoles.get(row.job_role_code);
  const qualified = role ? qualifyJobRole(lists, role) : undefined;
  const activities = effectiveActivities(lists, row.job_role_code, row.added_activity_codes);
  return makeEntry(
    `uniqueIdentifier=${escapeDnValue(row.role_profile_id)},${orgPersonDn(row.uuid, row.person_orgid)}`,
    {
      objectClass: ["top", "nhsOrgPersonRole"],
      uniqueIdentifier: row.role_profile_id,
      nhsIDCode: row.ods_code,
      nhsJobRole: qualified?.name,
      nhsJobRoleCode: qualified?.code ?? row.job_role_code,
      nhsBusinessFunctions: activities.map((code) => lists.activities.get(code)?.name ?? code),
      nhsBusinessFunctionsCodes: activities,
      nhsOrgOpenDate: ldapDate(row.start_date),
      nhsOpenDate: ldapDate(row.start_date),
      nhsOrgCloseDate: ldapDate(row.end_date),
      nhsCloseDate: ldapDate(row.end_date),
      nhsAreaOfWork: row.area_of_work_codes.map((code) =>
        (lists.areasOfWork.get(code) ?? [code]).map((part) => `"${part}"`).join(":"),
      ),
      nhsAreaOfWorkCodes: row.area_of_work_codes,
      nhsWorkGroups: row.workgroup_ids.map((id, index) => row.workgroup_names?.[index] ?? id),
      nhsWorkGroupsCodes: row.workgroup_ids,
    },
  );
}
