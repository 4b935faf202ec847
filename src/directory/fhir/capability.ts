/** What one resource type of an API supports, as its CapabilityStatement declares it. */
export type ResourceCapability = {
  type: string;
  read: boolean;
  searchParams: {
    name: string;
    type: "token" | "string" | "number" | "reference" | "date" | "uri";
    documentation: string;
  }[];
  searchInclude?: string[];
  searchRevInclude?: string[];
};

export type ApiDescription = {
  name: string;
  title: string;
  description: string;
  resources: ResourceCapability[];
};

/** The CapabilityStatement a FHIR API answers at GET /metadata, built from its route table. */
export function capabilityStatement(api: ApiDescription, base: string, released: string) {
  return {
    resourceType: "CapabilityStatement",
    id: api.name,
    url: `${base}/metadata`,
    name: api.name,
    title: api.title,
    status: "active",
    date: released,
    publisher: "Care Identity Service",
    description: api.description,
    kind: "instance",
    implementation: { description: api.title, url: base },
    // R4 as the official JSON schema names it (its version list stops at 4.0.0, the R4 release).
    fhirVersion: "4.0.0",
    format: ["application/fhir+json"],
    rest: [
      {
        mode: "server",
        security: {
          description: "Send the application's API key in the apikey header. /metadata needs no key.",
        },
        resource: api.resources.map((resource) => ({
          type: resource.type,
          interaction: [...(resource.read ? [{ code: "read" }] : []), { code: "search-type" }],
          ...(resource.searchInclude ? { searchInclude: resource.searchInclude } : {}),
          ...(resource.searchRevInclude ? { searchRevInclude: resource.searchRevInclude } : {}),
          searchParam: resource.searchParams,
        })),
      },
    ],
  };
}
