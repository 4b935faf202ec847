import type { FastifyInstance, FastifyRequest } from "fastify";
import { odsCodePattern } from "../../rbac/organisations.ts";
import type { Store } from "../../store/database.ts";
import {
  type OrganisationCriteria,
  organisationsByCode,
  searchOrganisations,
} from "../organisation-search.ts";
import { searchset } from "./bundle.ts";
import type { ApiDescription } from "./capability.ts";
import { fhirJson } from "./content-negotiation.ts";
import { searchContext } from "./fhir-api.ts";
import { systems } from "./identifier-systems.ts";
import { FhirError } from "./operation-outcome.ts";
import { organization } from "./organisation-resource.ts";
import { SearchParameters, tokenValue } from "./search-parameters.ts";

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
  "_count",
  "_offset",
];

export const organisationDescription: ApiDescription = {
  name: "OrganisationApi",
  title: "Organisation FHIR API",
  description: "Organisations by ODS code, with their ODS role.",
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
        { name: "roleCode", type: "token", documentation: "ODS role code, e.g. RO197" },
        { name: "_count", type: "number", documentation: "Page size, 1 to 1000 (default 20)" },
        { name: "_offset", type: "number", documentation: "Matches to skip" },
      ],
    },
  ],
};

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
  const active = parameters.single("active");
  if (active !== undefined) {
    if (active !== "true" && active !== "false")
      throw FhirError.invalidParameter("active must be true or false");
    criteria.active = active === "true";
  }
  criteria.postcode = parameters.single("address-postalcode");
  criteria.city = parameters.single("address-city");
  const roleCode = parameters.single("roleCode");
  if (roleCode !== undefined) {
    criteria.roleCode = tokenValue("roleCode", roleCode, systems.odsOrganisationRole).toUpperCase();
    if (!/^RO[0-9]{1,4}$/.test(criteria.roleCode))
      throw FhirError.invalidParameter("roleCode must be an ODS role code such as RO197");
  }
  return criteria;
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

  return (api: FastifyInstance) => {
    api.get("/Organization", async (request, reply) => reply.type(fhirJson).send(await search(request)));
    api.get<{ Params: { id: string } }>("/Organization/:id", async (request, reply) =>
      reply.type(fhirJson).send(await read(request)),
    );
  };
}
