import type { Person } from "../../people/people.ts";
import { registrationBody } from "../../people/registrations.ts";
import type { Position } from "../../rbac/positions.ts";
import { systems } from "./identifier-systems.ts";

/** A published Care Identity as a Practitioner: the UUID is its id and its sds-user-id. */
export function practitioner(person: Person) {
  const registrations = person.registrations.flatMap((registration) => {
    const body = registrationBody(registration.body);
    return body ? [{ system: body.fhirSystem, value: registration.number }] : [];
  });
  return {
    resourceType: "Practitioner",
    id: person.uuid,
    identifier: [{ system: systems.sdsUserId, value: person.uuid }, ...registrations],
    active: person.status === "active",
    name: [
      {
        use: "usual",
        family: person.familyName,
        given: [person.givenName, ...(person.middleNames?.split(/\s+/).filter(Boolean) ?? [])],
        ...(person.title ? { prefix: [person.title] } : {}),
      },
    ],
  };
}

export function displayName(person: Person): string {
  return [person.title, person.givenName, person.familyName].filter(Boolean).join(" ");
}

/** A current position as a PractitionerRole: the role profile id is its id. */
export function practitionerRole(position: Position, person: Person) {
  return {
    resourceType: "PractitionerRole",
    id: position.roleProfileId,
    identifier: [{ system: systems.sdsRoleProfileId, value: position.roleProfileId }],
    active: true,
    period: { start: position.startDate, ...(position.endDate ? { end: position.endDate } : {}) },
    practitioner: {
      reference: `Practitioner/${person.uuid}`,
      identifier: { system: systems.sdsUserId, value: person.uuid },
      display: displayName(person),
    },
    organization: {
      reference: `Organization/${position.odsCode}`,
      identifier: { system: systems.odsOrganisationCode, value: position.odsCode },
      display: position.organisationName,
    },
    code: [
      {
        coding: [
          { system: systems.jobRoleCode, code: position.jobRole.code, display: position.jobRole.name },
        ],
      },
    ],
  };
}
