import type { FastifyInstance, FastifyRequest } from "fastify";
import { odsCodePattern } from "../../rbac/organisations.ts";
import type { Store } from "../../store/database.ts";
import { affiliationIdPattern, getAffiliation, searchAffiliations } from "../organisation-affiliations.ts";
import {
  type OrganisationCriteria,
  organisationsByCode,
  searchOrganisations,
} from "../organisation-search.ts";
import { organizationAffiliation } from "./affiliation-resource.ts";
import { searchset } from "./bundle.ts";
import type { ApiDescription } from "./capability.ts";
import { dateComparisons } from "./date-search.ts";
import { searchContext } from "./fhir-api.ts";
import { systems } from "./identifier-systems.ts";
import { FhirError } from "./operation-outcome.ts";
import { organization } from "./organisation-resource.ts";
import { SearchParameters, tokenValue } from "./search-parameters.ts";
import {
  codeSystem,
  type TerminologyId,
  terminologyByUrl,
  terminologyIds,
  valueSet,
} from "./terminology-resources.ts";

export const organisationPrefix = "/organisation/FHIR/R4";

const searchParameterNames = [
  "identifier",
  "name",
  "name:contains",
  "name:exact",
  "active",
  "address-postalcode",
  "address-city",
  "roleCode",
  "primaryRoleCode",
  "nonPrimaryRoleCode",
  "lastChangeDate",
  "_lastUpdated",
  "_count",
  "_offset",
];

const affiliationParameterNames = [
  "primary-organization",
  "participating-organization",
  "role",
  "active",
  "_count",
  "_offset",
];

const paging = [
  { name: "_count", type: "number", documentation: "Page size, 1 to 1000 (default 20)" },
  { name: "_offset", type: "number", documentation: "Matches to skip" },
] as const;

const terminologySearch = [
  { name: "url", type: "uri", documentation: "The canonical url; without it, all of them" },
] as const;

export const organisationDescription: ApiDescription = {
  name: "OrganisationApi",
  title: "Organisation FHIR API",
  description:
    "Organisations by ODS code, with their ODS roles and successors; the relationships between them (OrganizationAffiliation); the ODS role and relationship code systems.",
  resources: [
    {
      type: "Organization",
      read: true,
      searchParams: [
        {
          name: "identifier",
          type: "token",
          documentation: `${systems.odsOrganisationCode}|<ODS code>, or the code`,
        },
        {
          name: "name",
          type: "string",
          documentation: "Name starts with (case-insensitive); :contains and :exact",
        },
        { name: "active", type: "token", documentation: "true or false" },
        {
          name: "address-postalcode",
          type: "string",
          documentation: "Postcode starts with (spaces ignored)",
        },
        { name: "address-city", type: "string", documentation: "Town or city starts with" },
        { name: "roleCode", type: "token", documentation: "Any active ODS role, e.g. RO197" },
        { name: "primaryRoleCode", type: "token", documentation: "The active primary role" },
        { name: "nonPrimaryRoleCode", type: "token", documentation: "An active role other than the primary" },
        {
          name: "lastChangeDate",
          type: "date",
          documentation: "When ODS last changed it (YYYY-MM-DD, with eq, ne, gt, lt, ge or le)",
        },
        {
          name: "_lastUpdated",
          type: "date",
          documentation:
            "When this directory last changed it (a date or a date-time with zone, with a prefix)",
        },
        ...paging,
      ],
    },
    {
      type: "OrganizationAffiliation",
      read: true,
      searchParams: [
        {
          name: "primary-organization",
          type: "reference",
          documentation:
            "The organisation the relationship is to (Organization/<ODS>, <ODS> or system|<ODS>)",
        },
        {
          name: "participating-organization",
          type: "reference",
          documentation: "The organisation in the relationship, e.g. the site a trust operates",
        },
        { name: "role", type: "token", documentation: "ODS relationship type, e.g. RE6 (is operated by)" },
        { name: "active", type: "token", documentation: "true or false" },
        ...paging,
      ],
    },
    { type: "CodeSystem", read: true, searchParams: [...terminologySearch] },
    { type: "ValueSet", read: true, searchParams: [...terminologySearch] },
  ],
};

/** An organisation named by a reference or token parameter: `Organization/<ODS>`, `system|<ODS>` or the code. */
function organisationParameter(parameter: string, text: string): string {
  const code = (
    text.startsWith("Organization/")
      ? text.slice("Organization/".length)
      : tokenValue(parameter, text, systems.odsOrganisationCode)
  ).toUpperCase();
  if (!odsCodePattern.test(code))
    throw FhirError.invalidParameter(`${parameter} must name an organisation by its ODS code`);
  return code;
}

function activeParameter(parameters: SearchParameters): boolean | undefined {
  const active = parameters.single("active");
  if (active === undefined) return undefined;
  if (active !== "true" && active !== "false")
    throw FhirError.invalidParameter("active must be true or false");
  return active === "true";
}

function roleParameter(parameters: SearchParameters, name: string): string | undefined {
  const value = parameters.single(name);
  if (value === undefined) return undefined;
  const code = tokenValue(name, value, systems.odsOrganisationRole).toUpperCase();
  if (!/^RO[0-9]{1,4}$/.test(code))
    throw FhirError.invalidParameter(`${name} must be an ODS role code such as RO197`);
  return code;
}

function criteriaFrom(parameters: SearchParameters): OrganisationCriteria {
  const criteria: OrganisationCriteria = {};
  const identifier = parameters.single("identifier");
  if (identifier !== undefined) {
    criteria.odsCode = tokenValue("identifier", identifier, systems.odsOrganisationCode).toUpperCase();
    if (!odsCodePattern.test(criteria.odsCode))
      throw FhirError.invalidParameter("identifier must be an ODS code of 3 to 10 letters and digits");
  }
  const names = (["name", "name:contains", "name:exact"] as const).filter((name) => parameters.has(name));
  if (names.length > 1) throw FhirError.invalidParameter("give name only once, with at most one modifier");
  if (names[0]) {
    const match = names[0] === "name:exact" ? "exact" : names[0] === "name:contains" ? "contains" : "starts";
    criteria.name = { text: parameters.single(names[0], true), match };
  }
  criteria.active = activeParameter(parameters);
  criteria.postcode = parameters.single("address-postalcode");
  criteria.city = parameters.single("address-city");
  criteria.roleCode = roleParameter(parameters, "roleCode");
  criteria.primaryRoleCode = roleParameter(parameters, "primaryRoleCode");
  criteria.nonPrimaryRoleCode = roleParameter(parameters, "nonPrimaryRoleCode");
  criteria.lastUpdated = dateComparisons("_lastUpdated", parameters.all("_lastUpdated"), "instant");
  criteria.lastChangeDate = dateComparisons("lastChangeDate", parameters.all("lastChangeDate"), "date");
  return criteria;
}

function affiliationCriteriaFrom(parameters: SearchParameters) {
  const primary = parameters.single("primary-organization");
  const participating = parameters.single("participating-organization");
  const role = parameters.single("role");
  const relationshipCode =
    role === undefined ? undefined : tokenValue("role", role, systems.odsRelationshipType).toUpperCase();
  if (relationshipCode !== undefined && !/^RE[0-9]{1,4}$/.test(relationshipCode))
    throw FhirError.invalidParameter("role must be an ODS relationship type such as RE6");
  return {
    primary: primary === undefined ? undefined : organisationParameter("primary-organization", primary),
    participating:
      participating === undefined
        ? undefined
        : organisationParameter("participating-organization", participating),
    relationshipCode,
    active: activeParameter(parameters),
  };
}

export function organisationRoutes(store: Store) {
  const search = async (request: FastifyRequest) => {
    const parameters = new SearchParameters(request.query, searchParameterNames);
    const page = parameters.page(20, 1000);
    const { organisations, total } = await searchOrganisations(store.db, criteriaFrom(parameters), page);
    return searchset(searchContext(request, organisationPrefix, "Organization", parameters), {
      matches: organisations.map(organization),
      total,
      page,
    });
  };

  const read = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    new SearchParameters(request.query, []);
    const odsCode = request.params.id.toUpperCase();
    if (!odsCodePattern.test(odsCode))
      throw FhirError.invalidParameter("The Organization id must be an ODS code");
    const [found] = await organisationsByCode(store.db, [odsCode]);
    if (!found) throw FhirError.notFound(`No organisation has ODS code ${odsCode}`);
    return organization(found);
  };

  const searchAffiliation = async (request: FastifyRequest) => {
    const parameters = new SearchParameters(request.query, affiliationParameterNames);
    const page = parameters.page(20, 1000);
    const { affiliations, total } = await searchAffiliations(
      store.db,
      affiliationCriteriaFrom(parameters),
      page,
    );
    return searchset(searchContext(request, organisationPrefix, "OrganizationAffiliation", parameters), {
      matches: affiliations.map(organizationAffiliation),
      total,
      page,
    });
  };

  const readAffiliation = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    new SearchParameters(request.query, []);
    if (!affiliationIdPattern.test(request.params.id))
      throw FhirError.invalidParameter(
        "An OrganizationAffiliation id is <participating ODS>-<RE code>-<primary ODS>",
      );
    const found = await getAffiliation(store.db, request.params.id);
    if (!found) throw FhirError.notFound(`No OrganizationAffiliation has id ${request.params.id}`);
    return organizationAffiliation(found);
  };

  const terminology = (kind: "CodeSystem" | "ValueSet") => {
    const resource = (id: TerminologyId) => (kind === "CodeSystem" ? codeSystem(id) : valueSet(id));
    return {
      search: (request: FastifyRequest) => {
        const parameters = new SearchParameters(request.query, ["url"]);
        const url = parameters.single("url");
        const ids =
          url === undefined ? terminologyIds : [terminologyByUrl(url, kind)].filter((id) => id !== undefined);
        return searchset(searchContext(request, organisationPrefix, kind, parameters), {
          matches: ids.map(resource),
          total: ids.length,
        });
      },
      read: (request: FastifyRequest<{ Params: { id: string } }>) => {
        new SearchParameters(request.query, []);
        const id = terminologyIds.find((known) => known === request.params.id);
        if (!id)
          throw FhirError.notFound(
            `No ${kind} has id ${request.params.id}; there are ${terminologyIds.join(", ")}`,
          );
        return resource(id);
      },
    };
  };
  const codeSystems = terminology("CodeSystem");
  const valueSets = terminology("ValueSet");

  return (api: FastifyInstance) => {
    api.get("/OrganizationAffiliation", searchAffiliation);
    api.get("/OrganizationAffiliation/:id", readAffiliation);
    api.get("/CodeSystem", codeSystems.search);
    api.get("/CodeSystem/:id", codeSystems.read);
    api.get("/ValueSet", valueSets.search);
    api.get("/ValueSet/:id", valueSets.read);
    api.get("/Organization", search);
    api.get("/Organization/:id", read);
  };
}
