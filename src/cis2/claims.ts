import type { Person } from "../people/people.ts";
import { registrationBody } from "../people/registrations.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import type { Position } from "../rbac/positions.ts";
import type { Queryable } from "../store/database.ts";
import { positionsInRequest } from "./sign-in/role-selection.ts";

/**
 * The claims CIS2 releases, by scope. oidc-provider filters what a request may see; the values
 * are computed from live data at every request, so a position granted or ended shows at once.
 */
export const scopeClaims = {
  openid: ["sub", "id_assurance_level", "authentication_assurance_level"],
  profile: ["name", "family_name", "given_name", "uid"],
  email: ["email"],
  nhsperson: ["nhsid_useruid", "title", "initials", "middle_names", "display_name", "idassurancelevel"],
  associatedorgs: ["nhsid_user_orgs"],
  nationalrbacaccess: ["nhsid_nrbac_roles"],
  organisationalmemberships: ["nhsid_org_memberships"],
  professionalmemberships: ["nhsid_professional_memberships"],
  selectedrole: ["selected_roleid"],
} as const;

export type AuthenticationContext = {
  aal: number | undefined;
  selectedRoleId: () => Promise<string | undefined>;
};

/** Scopes whose claims need the person's positions; others are answered from the profile alone. */
const positionScopes = ["nationalrbacaccess", "associatedorgs", "organisationalmemberships", "selectedrole"];

/** SDS style: surname, given and middle names, title last ("Nurse Flo Mrs"). */
export function sdsName(person: Person): string {
  return [person.familyName, person.givenName, person.middleNames, person.title].filter(Boolean).join(" ");
}

/** One `nhsid_nrbac_roles` entry; optional arrays are left out when empty, as CIS2 does. */
export function nationalRbacRole(position: Position): Record<string, unknown> {
  const optional = (name: string, values: string[]) => (values.length > 0 ? { [name]: values } : {});
  return {
    person_orgid: position.personOrgId,
    person_roleid: position.roleProfileId,
    org_code: position.odsCode,
    role_code: position.jobRole.code,
    role_name: position.jobRole.name,
    ...optional(
      "activities",
      position.activities.map((activity) => activity.name),
    ),
    ...optional(
      "activity_codes",
      position.activities.map((activity) => activity.code),
    ),
    ...optional(
      "workgroups",
      position.workgroups.map((workgroup) => workgroup.name),
    ),
    ...optional(
      "workgroups_codes",
      position.workgroups.map((workgroup) => workgroup.id),
    ),
    ...optional(
      "aow",
      position.areasOfWork.map((area) => area.name),
    ),
    ...optional(
      "aow_codes",
      position.areasOfWork.map((area) => area.code),
    ),
  };
}

function organisations(positions: Position[]) {
  const byCode = new Map<string, Position>();
  for (const position of positions) if (!byCode.has(position.odsCode)) byCode.set(position.odsCode, position);
  return [...byCode.values()];
}

export async function accountClaims(
  queryable: Queryable,
  lists: CodeLists,
  person: Person,
  scope: string,
  context: AuthenticationContext,
): Promise<Record<string, unknown>> {
  const scopes = new Set(scope.split(" "));
  const uuid = person.uuid;
  const positions = positionScopes.some((name) => scopes.has(name))
    ? await positionsInRequest(queryable, lists, uuid)
    : [];
  const selectedRoleId = scopes.has("selectedrole") ? await context.selectedRoleId() : undefined;
  const memberships = organisations(positions);
  const initials = [person.givenName, ...(person.middleNames ?? "").split(" ")]
    .filter(Boolean)
    .map((name) => name[0])
    .join("");
  return {
    sub: uuid,
    uid: uuid,
    nhsid_useruid: uuid,
    id_assurance_level: String(person.identityAssuranceLevel),
    authentication_assurance_level: context.aal === undefined ? undefined : String(context.aal),
    name: sdsName(person),
    family_name: person.familyName,
    given_name: person.givenName,
    email: person.email ?? undefined,
    title: person.title ?? undefined,
    initials,
    middle_names: person.middleNames ?? undefined,
    display_name: [person.title, person.givenName, person.familyName].filter(Boolean).join(" "),
    idassurancelevel: String(person.identityAssuranceLevel),
    nhsid_user_orgs: memberships.map((position) => ({
      org_code: position.odsCode,
      org_name: position.organisationName,
    })),
    nhsid_nrbac_roles: positions.map(nationalRbacRole),
    nhsid_org_memberships: memberships.map((position) => ({
      person_orgid: position.personOrgId,
      org_code: position.odsCode,
      org_name: position.organisationName,
    })),
    nhsid_professional_memberships: person.registrations.map((registration) => ({
      body: registration.body,
      number: registration.number,
      system: registrationBody(registration.body)?.fhirSystem,
    })),
    selected_roleid: positions.some((position) => position.roleProfileId === selectedRoleId)
      ? selectedRoleId
      : undefined,
  };
}
