import type { DirectoryOrganisation, DirectoryRole } from "../organisation-search.ts";
import { extensions, systems } from "./identifier-systems.ts";

/**
 * An organisation as the ODS FHIR API shows it: the ODS code is its id and identifier; each of
 * its roles is an OrganisationRole extension carrying the role code, whether it is the primary
 * role, its Legal and Operational periods and whether it is active; successors and predecessors
 * are OrganisationSuccessor extensions; meta.lastUpdated is when this directory last changed it.
 */
export function organization(organisation: DirectoryOrganisation) {
  const { lines, city, postcode } = organisation.address;
  const roles: DirectoryRole[] =
    organisation.roles.length > 0
      ? organisation.roles
      : [
          {
            code: organisation.roleCode,
            name: organisation.roleName,
            primary: true,
            active: organisation.active,
            startDate: null,
            endDate: null,
          },
        ];
  return {
    resourceType: "Organization",
    id: organisation.odsCode,
    meta: { lastUpdated: organisation.lastUpdated },
    extension: [
      ...roles.map((role) => roleExtension(role, organisation)),
      ...organisation.successors.map((successor) => ({
        url: extensions.organisationSuccessor,
        extension: [
          {
            url: "type",
            valueCoding: { system: systems.successorType, code: successor.kind, display: successor.kind },
          },
          {
            url: "target",
            valueReference: {
              reference: `Organization/${successor.odsCode}`,
              identifier: { system: systems.odsOrganisationCode, value: successor.odsCode },
            },
          },
          ...(successor.startDate ? [typedPeriod("Legal", successor.startDate, null)] : []),
        ],
      })),
      ...(organisation.lastChangeDate
        ? [{ url: extensions.lastChangeDate, valueDate: organisation.lastChangeDate }]
        : []),
    ],
    identifier: [{ system: systems.odsOrganisationCode, value: organisation.odsCode }],
    active: organisation.active,
    name: organisation.name,
    ...(organisation.telephone ? { telecom: [{ system: "phone", value: organisation.telephone }] } : {}),
    address: [
      {
        use: "work",
        ...(lines.length > 0 ? { line: lines } : {}),
        ...(city ? { city } : {}),
        ...(postcode ? { postalCode: postcode } : {}),
        country: "ENGLAND",
      },
    ],
    ...(organisation.parentOdsCode
      ? {
          partOf: {
            reference: `Organization/${organisation.parentOdsCode}`,
            identifier: { system: systems.odsOrganisationCode, value: organisation.parentOdsCode },
          },
        }
      : {}),
  };
}

function typedPeriod(dateType: "Legal" | "Operational", start: string, end: string | null) {
  return {
    url: extensions.typedPeriod,
    extension: [
      { url: "dateType", valueCoding: { system: systems.periodType, code: dateType, display: dateType } },
      { url: "period", valuePeriod: { start, ...(end ? { end } : {}) } },
    ],
  };
}

/** One role; its periods run from the role's start (else the organisation's open date). */
function roleExtension(role: DirectoryRole, organisation: DirectoryOrganisation) {
  const start = role.startDate ?? organisation.openedOn;
  const end = role.endDate ?? (role.primary ? organisation.closedOn : null);
  return {
    url: extensions.organisationRole,
    extension: [
      {
        url: "roleCode",
        valueCoding: { system: systems.odsOrganisationRole, code: role.code, display: role.name },
      },
      { url: "primaryRole", valueBoolean: role.primary },
      typedPeriod("Legal", start, end),
      typedPeriod("Operational", start, end),
      { url: "active", valueBoolean: role.active },
    ],
  };
}
