import type { Affiliation } from "../organisation-affiliations.ts";
import { systems } from "./identifier-systems.ts";

function organisationReference(odsCode: string) {
  return {
    reference: `Organization/${odsCode}`,
    identifier: { system: systems.odsOrganisationCode, value: odsCode },
  };
}

/** A relationship between two organisations as an R4 OrganizationAffiliation. */
export function organizationAffiliation(affiliation: Affiliation) {
  const period = {
    ...(affiliation.startDate ? { start: affiliation.startDate } : {}),
    ...(affiliation.endDate ? { end: affiliation.endDate } : {}),
  };
  return {
    resourceType: "OrganizationAffiliation",
    id: affiliation.id,
    active: affiliation.active,
    ...(Object.keys(period).length > 0 ? { period } : {}),
    organization: organisationReference(affiliation.primaryOdsCode),
    participatingOrganization: organisationReference(affiliation.participatingOdsCode),
    code: [
      {
        coding: [
          {
            system: systems.odsRelationshipType,
            code: affiliation.relationshipCode,
            display: affiliation.relationshipName,
          },
        ],
      },
    ],
  };
}
