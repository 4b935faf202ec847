import { personSummaries } from "../../people/people.ts";
import type { CodeLists } from "../../rbac/code-lists.ts";
import type { Queryable } from "../../store/database.ts";
import { displayName } from "./context.ts";

/**
 * The names behind the codes a CIM page shows: people by UUID, organisations by ODS code, job
 * roles, position definitions and the role profiles people acted in. A page gathers the codes it
 * holds, reads their names in a few queries, and says each as "name (code)", so an RA reads
 * names and still has the code to quote. Names are what everyone signed in may see of a person.
 */
export type Names = {
  person(uuid: string | null | undefined): string;
  organisation(odsCode: string | null | undefined): string;
  jobRole(code: string | null | undefined): string;
  definition(id: string | null | undefined): string;
  /** "Registration Authority Agent (R8003) at Riverside General (RZZ)", for an actor's role. */
  roleProfile(id: string | null | undefined): string;
  /** A person's name alone, or undefined where the UUID names nobody. */
  personName(uuid: string | null | undefined): string | undefined;
};

export type Wanted = {
  people?: Iterable<string | null | undefined>;
  organisations?: Iterable<string | null | undefined>;
  definitions?: Iterable<string | null | undefined>;
  roleProfiles?: Iterable<string | null | undefined>;
};

const present = (values: Iterable<string | null | undefined> | undefined): string[] => [
  ...new Set([...(values ?? [])].filter((value): value is string => Boolean(value))),
];

export const withCode = (name: string | undefined, code: string): string =>
  name && name !== code ? `${name} (${code})` : code;

export async function namesFor(queryable: Queryable, lists: CodeLists, wanted: Wanted): Promise<Names> {
  const roleProfileIds = present(wanted.roleProfiles);
  const roleProfiles = roleProfileIds.length
    ? await queryable
        .selectFrom("positions")
        .select(["role_profile_id", "ods_code", "job_role_code"])
        .where("role_profile_id", "in", roleProfileIds)
        .execute()
    : [];
  const uuids = present(wanted.people);
  const odsCodes = present([...(wanted.organisations ?? []), ...roleProfiles.map((row) => row.ods_code)]);
  const definitionIds = present(wanted.definitions);
  const people = await personSummaries(queryable, uuids);
  const organisations = odsCodes.length
    ? await queryable
        .selectFrom("organisations")
        .select(["ods_code", "name"])
        .where("ods_code", "in", odsCodes)
        .execute()
    : [];
  const definitions = definitionIds.length
    ? await queryable
        .selectFrom("position_definitions")
        .select(["id", "name"])
        .where("id", "in", definitionIds)
        .execute()
    : [];
  const personNames = new Map(people.map((person) => [person.uuid, displayName(person)]));
  const organisationNames = new Map(organisations.map((row) => [row.ods_code, row.name]));
  const definitionNames = new Map(definitions.map((row) => [row.id, row.name]));
  const roleProfileRows = new Map(roleProfiles.map((row) => [row.role_profile_id, row]));
  const names: Names = {
    person: (uuid) => (uuid ? withCode(personNames.get(uuid), uuid) : ""),
    personName: (uuid) => (uuid ? personNames.get(uuid) : undefined),
    organisation: (odsCode) => (odsCode ? withCode(organisationNames.get(odsCode), odsCode) : ""),
    jobRole: (code) => (code ? withCode(lists.jobRoles.get(code)?.name, code) : ""),
    definition: (id) => (id ? (definitionNames.get(id) ?? id) : ""),
    roleProfile: (id) => {
      const row = id ? roleProfileRows.get(id) : undefined;
      if (!row) return id ?? "";
      return `${names.jobRole(row.job_role_code)} at ${names.organisation(row.ods_code)}`;
    },
  };
  return names;
}
