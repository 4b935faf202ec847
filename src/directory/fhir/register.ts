import type { FastifyInstance } from "fastify";
import type { CodeLists } from "../../rbac/code-lists.ts";
import type { Store } from "../../store/database.ts";
import { FleetRateLimits } from "../applications/fleet-rate-limits.ts";
import type { ApplicationKeyCache } from "../applications/key-cache.ts";
import { registerFhirApi } from "./fhir-api.ts";
import {
  healthcareWorkerDescription,
  healthcareWorkerPrefix,
  healthcareWorkerRoutes,
} from "./healthcare-worker-api.ts";
import { organisationDescription, organisationPrefix, organisationRoutes } from "./organisation-api.ts";
import {
  spineDirectoryDescription,
  spineDirectoryPrefix,
  spineDirectoryRoutes,
} from "./spine-directory-api.ts";

/**
 * The base paths of the national counterparts (on api.service.nhs.uk), where ours differ: each
 * API answers at both, so clients written against the national API need only the host changed.
 * The Spine Directory Service FHIR API's path is already the same as ours.
 */
export const nationalPrefixes = {
  healthcareWorker: "/healthcare-worker",
  organisation: "/organisation-data-terminology-api/fhir",
} as const;

/**
 * The directory's FHIR APIs, each under this service's own base path and under the one its
 * national counterpart uses (README, "Directory FHIR APIs").
 */
export function registerDirectoryFhir(
  app: FastifyInstance,
  store: Store,
  lists: CodeLists,
  keys: ApplicationKeyCache,
  securityHeaders: Record<string, string>,
): void {
  // One counter for the three APIs: one flush a second, each API's keys counted apart.
  const rateLimits = new FleetRateLimits(store.db);
  app.addHook("onClose", async () => rateLimits.stop());
  for (const prefix of [healthcareWorkerPrefix, nationalPrefixes.healthcareWorker])
    registerFhirApi(app, {
      prefix,
      limitName: healthcareWorkerPrefix,
      rateLimits,
      securityHeaders,
      description: healthcareWorkerDescription,
      keys,
      routes: healthcareWorkerRoutes(store, lists),
    });
  for (const prefix of [organisationPrefix, nationalPrefixes.organisation])
    registerFhirApi(app, {
      prefix,
      limitName: organisationPrefix,
      rateLimits,
      securityHeaders,
      description: organisationDescription,
      keys,
      routes: organisationRoutes(store),
    });
  registerFhirApi(app, {
    prefix: spineDirectoryPrefix,
    rateLimits,
    securityHeaders,
    description: spineDirectoryDescription,
    keys,
    routes: spineDirectoryRoutes(store),
  });
}
