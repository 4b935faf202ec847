import type { DirectoryOrganisation } from "../organisation-search.ts";
import { extensions, systems } from "./identifier-systems.ts";

/**
 * An organisation as the ODS FHIR API shows it: the ODS code is its id and identifier, and its
 * role is an OrganisationRole extension carrying the role code, the Legal and Operational
 * periods (both from the date the directory first recorded it) and whether it is active.
 */
export function organization(organisation: DirectoryOrganisation) {
  const typedPeriod = (dateType: "Legal" | "Operational") => ({
    url: extensions.typedPeriod,
    extension: [
      { url: "dateType", valueCoding: { system: systems.periodType, code: dateType, display: dateType } },
      { url: "period", valuePeriod: { start: organisation.openedOn } },
    ],
  });
  const { lines, city, postcode } = organisation.address;
  return {
    resourceType: "Organization",
    id: organisation.odsCode,
    extension: [
      {
        url: extensions.organisationRole,
        extension: [
          {
            url: "roleCode",
            valueCoding: {
              system: systems.odsOrganisationRole,
              code: organisation.roleCode,
              display: organisation.roleName,
            },
          },
          { url: "primaryRole", valueBoolean: true },
          typedPeriod("Legal"),
          typedPeriod("Operational"),
          { url: "active", valueBoolean: organisation.active },
        ],
      },
    ],
    identifier: [{ system: systems.odsOrganisationCode, value: organisation.odsCode }],
    active: organisation.active,
    name: organisation.name,
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
