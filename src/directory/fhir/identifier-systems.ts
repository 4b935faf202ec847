/** Identifier, code and extension systems of the national directory APIs, as clients expect them. */
export const systems = {
  sdsUserId: "https://fhir.nhs.uk/Id/sds-user-id",
  sdsRoleProfileId: "https://fhir.nhs.uk/Id/sds-role-profile-id",
  odsOrganisationCode: "https://fhir.nhs.uk/Id/ods-organization-code",
  jobRoleCode: "https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode",
  odsOrganisationRole:
    "https://digital.nhs.uk/services/organisation-data-service/CodeSystem/ODSOrganisationRole",
  odsRelationshipType:
    "https://digital.nhs.uk/services/organisation-data-service/CodeSystem/ODSRelationshipType",
  successorType: "https://fhir.nhs.uk/England/CodeSystem/England-OrganisationSuccessorType",
  periodType: "https://fhir.nhs.uk/England/CodeSystem/England-PeriodType",
  spineAsid: "https://fhir.nhs.uk/Id/nhsSpineASID",
  mhsPartyKey: "https://fhir.nhs.uk/Id/nhsMhsPartyKey",
  serviceInteractionId: "https://fhir.nhs.uk/Id/nhsServiceInteractionId",
  mhsFqdn: "https://fhir.nhs.uk/Id/nhsMhsFQDN",
  mhsCpaId: "https://fhir.nhs.uk/Id/nhsMhsCPAId",
  mhsId: "https://fhir.nhs.uk/Id/nhsMHSId",
  endpointConnectionType: "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
  endpointPayloadType: "http://terminology.hl7.org/CodeSystem/endpoint-payload-type",
} as const;

export const extensions = {
  organisationRole: "https://fhir.nhs.uk/England/StructureDefinition/Extension-England-OrganisationRole",
  typedPeriod: "https://fhir.nhs.uk/England/StructureDefinition/Extension-England-TypedPeriod",
  organisationSuccessor:
    "https://fhir.nhs.uk/England/StructureDefinition/Extension-England-OrganisationSuccessor",
  lastChangeDate: "https://fhir.nhs.uk/England/StructureDefinition/Extension-England-LastChangeDate",
  manufacturingOrganisation:
    "https://fhir.nhs.uk/StructureDefinition/Extension-SDS-ManufacturingOrganisation",
  serviceInteractionId: "https://fhir.nhs.uk/StructureDefinition/Extension-SDS-NhsServiceInteractionId",
  reliabilityConfiguration: "https://fhir.nhs.uk/StructureDefinition/Extension-SDS-ReliabilityConfiguration",
} as const;
