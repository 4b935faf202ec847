import type { FastifyInstance, FastifyRequest } from "fastify";
import { odsCodePattern } from "../../rbac/organisations.ts";
import type { Store } from "../../store/database.ts";
import { findAccreditedSystems } from "../systems/accredited-systems.ts";
import { interactionPattern, partyKeyPattern } from "../systems/checks.ts";
import { findMessagingEndpoints } from "../systems/messaging-endpoints.ts";
import { searchset } from "./bundle.ts";
import type { ApiDescription } from "./capability.ts";
import { searchContext } from "./fhir-api.ts";
import { systems } from "./identifier-systems.ts";
import { FhirError } from "./operation-outcome.ts";
import { device, endpoint } from "./sds-resources.ts";
import { SearchParameters, tokenValue } from "./search-parameters.ts";

export const spineDirectoryPrefix = "/spine-directory/FHIR/R4";

const odsToken = `${systems.odsOrganisationCode}|<ODS code>`;
export const spineDirectoryDescription: ApiDescription = {
  name: "SpineDirectoryServiceApi",
  title: "Spine Directory Service FHIR API",
  description: "Accredited systems (Device) and messaging endpoints (Endpoint).",
  resources: [
    {
      type: "Device",
      read: false,
      searchParams: [
        { name: "organization", type: "token", documentation: `${odsToken}; required` },
        {
          name: "identifier",
          type: "token",
          documentation: `${systems.serviceInteractionId}|<interaction>, required; optionally ${systems.mhsPartyKey}|<party key>`,
        },
        { name: "manufacturing-organization", type: "token", documentation: odsToken },
      ],
    },
    {
      type: "Endpoint",
      read: false,
      searchParams: [
        { name: "organization", type: "token", documentation: odsToken },
        {
          name: "identifier",
          type: "token",
          documentation: `${systems.serviceInteractionId}|<interaction> and/or ${systems.mhsPartyKey}|<party key>`,
        },
      ],
    },
  ],
};

function odsCodeFrom(parameter: string, token: string): string {
  const odsCode = tokenValue(parameter, token, systems.odsOrganisationCode, { systemRequired: true });
  if (!odsCodePattern.test(odsCode)) throw FhirError.invalidParameter(`${parameter} must carry an ODS code`);
  return odsCode;
}

/** The interaction and party key among the identifier parameters, each at most once. */
function identifiersFrom(parameters: SearchParameters): { interaction?: string; partyKey?: string } {
  const found: { interaction?: string; partyKey?: string } = {};
  for (const token of parameters.all("identifier")) {
    const system = token.slice(0, Math.max(0, token.indexOf("|")));
    const value = token.slice(token.indexOf("|") + 1);
    if (system === systems.serviceInteractionId) {
      if (found.interaction) throw FhirError.invalidParameter("give one nhsServiceInteractionId identifier");
      if (!interactionPattern.test(value))
        throw FhirError.invalidParameter("the interaction id is not well formed");
      found.interaction = value;
    } else if (system === systems.mhsPartyKey) {
      if (found.partyKey) throw FhirError.invalidParameter("give one nhsMhsPartyKey identifier");
      if (!partyKeyPattern.test(value)) throw FhirError.invalidParameter("the party key is not well formed");
      found.partyKey = value;
    } else
      throw FhirError.invalidParameter(
        `identifier must use the system ${systems.serviceInteractionId} or ${systems.mhsPartyKey}`,
      );
  }
  return found;
}

export function spineDirectoryRoutes(store: Store) {
  const searchDevices = async (request: FastifyRequest) => {
    const parameters = new SearchParameters(request.query, [
      "organization",
      "identifier",
      "manufacturing-organization",
    ]);
    const odsCode = odsCodeFrom("organization", parameters.single("organization", true));
    const { interaction, partyKey } = identifiersFrom(parameters);
    if (!interaction)
      throw FhirError.missingParameter(
        `identifier=${systems.serviceInteractionId}|<interaction> is required`,
      );
    const manufacturer = parameters.single("manufacturing-organization");
    const found = await findAccreditedSystems(store.db, {
      odsCode,
      interaction,
      partyKey,
      manufacturerOdsCode: manufacturer ? odsCodeFrom("manufacturing-organization", manufacturer) : undefined,
    });
    return searchset(searchContext(request, spineDirectoryPrefix, "Device", parameters), {
      matches: found.map(device),
      total: found.length,
    });
  };

  const searchEndpoints = async (request: FastifyRequest) => {
    const parameters = new SearchParameters(request.query, ["organization", "identifier"]);
    const organisation = parameters.single("organization");
    const odsCode = organisation ? odsCodeFrom("organization", organisation) : undefined;
    const { interaction, partyKey } = identifiersFrom(parameters);
    // The combinations the national API accepts: any two of organisation, interaction and party key.
    const given = [odsCode, interaction, partyKey].filter(Boolean).length;
    if (given < 2)
      throw FhirError.missingParameter(
        "search by organization with an interaction and/or party key identifier, or by interaction and party key",
      );
    const found = await findMessagingEndpoints(store.db, { odsCode, interaction, partyKey });
    return searchset(searchContext(request, spineDirectoryPrefix, "Endpoint", parameters), {
      matches: found.map(endpoint),
      total: found.length,
    });
  };

  return (api: FastifyInstance) => {
    api.get("/Device", searchDevices);
    api.get("/Endpoint", searchEndpoints);
  };
}
