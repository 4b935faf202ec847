/**
 * The attribute types this directory knows, with the matching each supports. They mirror the
 * schema slapd is given (Debian's core, cosine and inetorgperson schemas plus sds.schema), so a
 * filter matches the same entries on both servers: an assertion the type has no rule for (a
 * substring on uniqueIdentifier, an ordering on uid) is Undefined, as in slapd.
 */
export type AttributeType = {
  name: string;
  substrings: boolean;
  ordering: boolean;
  /** Operational attributes are returned only when asked for by name or with "+". */
  operational: boolean;
};

const types = new Map<string, AttributeType>();

function define(names: string[], rules: { substrings: boolean; ordering: boolean; operational?: boolean }) {
  const type = {
    name: names[0] ?? "",
    substrings: rules.substrings,
    ordering: rules.ordering,
    operational: rules.operational ?? false,
  };
  for (const name of names) types.set(name.toLowerCase(), type);
}

const nameRules = { substrings: true, ordering: false };
const sdsRules = { substrings: true, ordering: true };

define(["objectClass"], { substrings: false, ordering: false });
for (const names of [
  ["cn", "commonName"],
  ["sn", "surname"],
  ["givenName", "gn"],
  ["o", "organizationName"],
  ["ou", "organizationalUnitName"],
  ["l", "localityName"],
  ["uid", "userid"],
  ["personalTitle"],
  ["street", "streetAddress"],
  ["postalCode"],
])
  define(names, nameRules);
define(["uniqueIdentifier"], { substrings: false, ordering: false });

/**
 * The SDS object classes, each with the attributes it must and may have, as sds.schema
 * defines them for slapd; sds-schema.test.ts checks the file against this table, and the LDAP
 * tree's sources publish from it.
 */
export const sdsObjectClasses = {
  nhsPerson: {
    must: ["uid"],
    may: [
      "cn",
      "sn",
      "givenName",
      "personalTitle",
      "nhsMiddleNames",
      "nhsPersonStatus",
      "nhsPrinOcc",
      "nhsGMC",
      "nhsNMC",
      "nhsGDC",
      "nhsGDP",
      "nhsRCN",
      "nhsRPSGB",
      "nhsGMP",
      "nhsConsultant",
      "nhsOcsPrCode",
    ],
  },
  nhsOrgPerson: {
    must: ["uniqueIdentifier", "nhsIDCode"],
    may: ["o", "nhsOrgOpenDate", "nhsOrgCloseDate", "nhsOpenDate", "nhsCloseDate"],
  },
  nhsOrgPersonRole: {
    must: ["uniqueIdentifier", "nhsIDCode"],
    may: [
      "nhsJobRole",
      "nhsJobRoleCode",
      "nhsBusinessFunctions",
      "nhsBusinessFunctionsCodes",
      "nhsOrgOpenDate",
      "nhsOrgCloseDate",
      "nhsOpenDate",
      "nhsCloseDate",
      "nhsAreaOfWork",
      "nhsAreaOfWorkCodes",
      "nhsWorkGroups",
      "nhsWorkGroupsCodes",
    ],
  },
  nhsOrg: {
    must: ["uniqueIdentifier", "nhsIDCode"],
    may: ["o", "nhsOrgType", "nhsOrgTypeCode", "nhsParentOrgCode", "street", "l", "postalCode"],
  },
  nhsAs: {
    must: ["uniqueIdentifier", "nhsIDCode"],
    may: [
      "nhsAsClient",
      "nhsMhsPartyKey",
      "nhsAsSvcIA",
      "nhsMhsManufacturerOrg",
      "nhsProductKey",
      "nhsProductName",
      "nhsProductVersion",
    ],
  },
  nhsMhs: {
    must: ["uniqueIdentifier", "nhsIDCode"],
    may: [
      "nhsMhsPartyKey",
      "nhsMhsSvcIA",
      "nhsMhsCPAId",
      "nhsMHSEndPoint",
      "nhsMhsFQDN",
      "nhsMHSSyncReplyMode",
      "nhsMHSRetryInterval",
      "nhsMHSRetries",
      "nhsMHSPersistDuration",
      "nhsMHSDuplicateElimination",
      "nhsMHSAckRequested",
      "nhsMHSActor",
      "nhsMhsIsAuthenticated",
    ],
  },
} as const satisfies Record<string, { must: readonly string[]; may: readonly string[] }>;

export type SdsObjectClass = keyof typeof sdsObjectClasses;

/** Every attribute an entry of the class may carry, objectClass first. */
export function classAttributes(objectClass: SdsObjectClass): string[] {
  const { must, may } = sdsObjectClasses[objectClass];
  return ["objectClass", ...must, ...may];
}

/**
 * The SDS attributes sds.schema defines (the classes' nhs* ones; the rest come from Debian's
 * core, cosine and inetorgperson schemas), each caseIgnore with substrings and ordering.
 */
export const sdsAttributeNames = [
  ...new Set(
    Object.values(sdsObjectClasses).flatMap(({ must, may }) =>
      [...must, ...may].filter((name) => name.startsWith("nhs")),
    ),
  ),
];

for (const name of sdsAttributeNames) define([name], sdsRules);

for (const name of [
  "namingContexts",
  "supportedLDAPVersion",
  "supportedControl",
  "supportedExtension",
  "supportedFeatures",
  "vendorName",
  "vendorVersion",
  "subschemaSubentry",
  "structuralObjectClass",
  "entryDN",
])
  define([name], { substrings: false, ordering: false, operational: true });

/** The type a name (or alias) denotes, in any letter case; undefined for an unknown type. */
export function attributeType(name: string): AttributeType | undefined {
  return types.get(stripOptions(name).toLowerCase());
}

/** Attribute options (";binary", ";lang-en") are not used in this directory. */
function stripOptions(name: string): string {
  const semicolon = name.indexOf(";");
  return semicolon < 0 ? name : name.slice(0, semicolon);
}

/**
 * caseIgnoreMatch's normal form (RFC 4518, simplified for this directory's values): letters in
 * one case, leading and trailing spaces dropped, inner runs of spaces made one.
 */
export function normalise(value: string): string {
  return value.trim().replace(/ +/g, " ").toLowerCase();
}
