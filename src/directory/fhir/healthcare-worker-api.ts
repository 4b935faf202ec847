import type { FastifyInstance, FastifyRequest } from "fastify";
import type { CodeLists } from "../../rbac/code-lists.ts";
import type { Store } from "../../store/database.ts";
import { isCareIdentifier } from "../../store/identifiers.ts";
import { currentPositions, lookUpWorker, publishedPosition } from "../healthcare-workers.ts";
import { organisationsByCode } from "../organisation-search.ts";
import { type Resource, searchset } from "./bundle.ts";
import type { ApiDescription } from "./capability.ts";
import { searchContext } from "./fhir-api.ts";
import { systems } from "./identifier-systems.ts";
import { FhirError } from "./operation-outcome.ts";
import { organization } from "./organisation-resource.ts";
import { SearchParameters, tokenValue } from "./search-parameters.ts";
import { practitioner, practitionerRole } from "./worker-resources.ts";

export const healthcareWorkerPrefix = "/healthcare-worker/FHIR/R4";

export const healthcareWorkerDescription: ApiDescription = {
  name: "HealthcareWorkerApi",
  title: "Healthcare Worker FHIR API",
  description: "Care Identities (Practitioner) and their current positions (PractitionerRole).",
  resources: [
    {
      type: "Practitioner",
      read: true,
      searchParams: [
        { name: "identifier", type: "token", documentation: `${systems.sdsUserId}|<UUID>, or the UUID` },
      ],
      searchRevInclude: ["PractitionerRole:practitioner"],
    },
    {
      type: "PractitionerRole",
      read: true,
      searchParams: [
        {
          name: "practitioner.identifier",
          type: "token",
          documentation: `${systems.sdsUserId}|<UUID>, or the UUID`,
        },
      ],
      searchInclude: ["PractitionerRole:organization", "PractitionerRole:practitioner"],
    },
  ],
};

function uuidFrom(parameter: string, token: string): string {
  const uuid = tokenValue(parameter, token, systems.sdsUserId);
  if (!isCareIdentifier(uuid))
    throw FhirError.invalidParameter(`${parameter} must be a 12-digit Care Identity UUID`);
  return uuid;
}

function onlyValues(parameters: SearchParameters, name: string, allowed: string[]): Set<string> {
  const values = parameters.all(name).flatMap((value) => value.split(","));
  const unknown = values.filter((value) => !allowed.includes(value));
  if (unknown.length > 0) throw FhirError.invalidParameter(`${name} may only be ${allowed.join(" or ")}`);
  return new Set(values);
}

/** Routes of the Healthcare Worker API; each reads as the steps of its interaction. */
export function healthcareWorkerRoutes(store: Store, lists: CodeLists) {
  const publishedWorker = async (uuid: string) => {
    const worker = await lookUpWorker(store.db, uuid);
    if (worker.kind === "closed") throw FhirError.gone(`The Care Identity ${uuid} has been closed`);
    return worker.kind === "published" ? worker.person : undefined;
  };

  const searchPractitioner = async (request: FastifyRequest) => {
    const parameters = new SearchParameters(request.query, ["identifier", "_revinclude"]);
    const uuid = uuidFrom("identifier", parameters.single("identifier", true));
    const revinclude = onlyValues(parameters, "_revinclude", ["PractitionerRole:practitioner"]);
    const person = await publishedWorker(uuid);
    const matches: Resource[] = person ? [practitioner(person)] : [];
    const includes: Resource[] =
      person && revinclude.size > 0
        ? (await currentPositions(store.db, lists, uuid)).map((position) =>
            practitionerRole(position, person),
          )
        : [];
    return searchset(searchContext(request, healthcareWorkerPrefix, "Practitioner", parameters), {
      matches,
      total: matches.length,
      includes,
    });
  };

  const searchPractitionerRole = async (request: FastifyRequest) => {
    const parameters = new SearchParameters(request.query, ["practitioner.identifier", "_include"]);
    const uuid = uuidFrom("practitioner.identifier", parameters.single("practitioner.identifier", true));
    const include = onlyValues(parameters, "_include", [
      "PractitionerRole:organization",
      "PractitionerRole:practitioner",
    ]);
    const person = await publishedWorker(uuid);
    const positions = person ? await currentPositions(store.db, lists, uuid) : [];
    const matches: Resource[] = person ? positions.map((position) => practitionerRole(position, person)) : [];
    const includes: Resource[] = [];
    if (person && positions.length > 0 && include.has("PractitionerRole:practitioner"))
      includes.push(practitioner(person));
    if (include.has("PractitionerRole:organization")) {
      const codes = [...new Set(positions.map((position) => position.odsCode))];
      includes.push(...(await organisationsByCode(store.db, codes)).map(organization));
    }
    return searchset(searchContext(request, healthcareWorkerPrefix, "PractitionerRole", parameters), {
      matches,
      total: matches.length,
      includes,
    });
  };

  const readPractitioner = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    new SearchParameters(request.query, []);
    const { id } = request.params;
    if (!isCareIdentifier(id))
      throw FhirError.invalidParameter("The Practitioner id must be a 12-digit Care Identity UUID");
    const person = await publishedWorker(id);
    if (!person) throw FhirError.notFound(`No published Care Identity has UUID ${id}`);
    return practitioner(person);
  };

  const readPractitionerRole = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    new SearchParameters(request.query, []);
    const { id } = request.params;
    if (!isCareIdentifier(id))
      throw FhirError.invalidParameter("The PractitionerRole id must be a 12-digit role profile id");
    const published = await publishedPosition(store.db, lists, id);
    if (!published) throw FhirError.notFound(`No current position has role profile id ${id}`);
    return practitionerRole(published.position, published.person);
  };

  return (api: FastifyInstance) => {
    api.get("/Practitioner", searchPractitioner);
    api.get("/Practitioner/:id", readPractitioner);
    api.get("/PractitionerRole", searchPractitionerRole);
    api.get("/PractitionerRole/:id", readPractitionerRole);
  };
}
