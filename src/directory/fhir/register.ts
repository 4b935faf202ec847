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

/** The directory's FHIR APIs, each under the base path its national counterpart uses. */
export function registerDirectoryFhir(
  app: FastifyInstance,
  store: Store,
  lists: CodeLists,
  keys: ApplicationKeyCache,
): void {
  const rateLimitsFor = (prefix: string) => {
    const limits = new FleetRateLimits(store.db, prefix);
    app.addHook("onClose", async () => limits.stop());
    return limits;
  };
  registerFhirApi(app, {
    prefix: healthcareWorkerPrefix,
    rateLimits: rateLimitsFor(healthcareWorkerPrefix),
    description: healthcareWorkerDescription,
    keys,
    routes: healthcareWorkerRoutes(store, lists),
  });
  registerFhirApi(app, {
    prefix: organisationPrefix,
    rateLimits: rateLimitsFor(organisationPrefix),
    description: organisationDescription,
    keys,
    routes: organisationRoutes(store),
  });
  registerFhirApi(app, {
    prefix: spineDirectoryPrefix,
    rateLimits: rateLimitsFor(spineDirectoryPrefix),
    description: spineDirectoryDescription,
    keys,
    routes: spineDirectoryRoutes(store),
  });
}
