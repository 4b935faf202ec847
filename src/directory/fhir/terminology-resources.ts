import { odsCodes } from "../../rbac/ods/ods-codes.ts";
import { systems } from "./identifier-systems.ts";

/** The code systems the organisation API publishes, by id: roles and relationship types. */
const codeSystems = {
  ODSOrganisationRole: {
    url: systems.odsOrganisationRole,
    title: "ODS organisation roles",
    concepts: odsCodes.roles,
  },
  ODSRelationshipType: {
    url: systems.odsRelationshipType,
    title: "ODS relationship types",
    concepts: odsCodes.relationships,
  },
} as const;

export type TerminologyId = keyof typeof codeSystems;

export const terminologyIds = Object.keys(codeSystems) as TerminologyId[];

const released = "2025-01-01";

/** A CodeSystem listing every code this service names, from src/rbac/data/ods-codes.json. */
export function codeSystem(id: TerminologyId) {
  const system = codeSystems[id];
  return {
    resourceType: "CodeSystem",
    id,
    url: system.url,
    name: id,
    title: system.title,
    status: "active",
    date: released,
    publisher: "Care Identity Service, from the Organisation Data Service",
    caseSensitive: true,
    content: "complete",
    count: Object.keys(system.concepts).length,
    concept: Object.entries(system.concepts).map(([code, display]) => ({ code, display })),
  };
}

/** The ValueSet of all of a code system's codes, expanded. */
export function valueSet(id: TerminologyId) {
  const system = codeSystems[id];
  return {
    resourceType: "ValueSet",
    id,
    url: system.url.replace("/CodeSystem/", "/ValueSet/"),
    name: id,
    title: system.title,
    status: "active",
    date: released,
    publisher: "Care Identity Service, from the Organisation Data Service",
    compose: { include: [{ system: system.url }] },
    expansion: {
      timestamp: `${released}T00:00:00Z`,
      total: Object.keys(system.concepts).length,
      contains: Object.entries(system.concepts).map(([code, display]) => ({
        system: system.url,
        code,
        display,
      })),
    },
  };
}

/** The terminology id whose CodeSystem (or ValueSet) has this canonical url. */
export function terminologyByUrl(url: string, kind: "CodeSystem" | "ValueSet"): TerminologyId | undefined {
  return terminologyIds.find((id) => (kind === "CodeSystem" ? codeSystem(id).url : valueSet(id).url) === url);
}
