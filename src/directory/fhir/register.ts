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
  // One counter for the three APIs: one flush a second, each API's keys counted apart.
  const rateLimits = new FleetRateLimits(store.db);
  app.addHook("onClose", async () => rateLimits.stop());
  registerFhirApi(app, {
    prefix: healthcareWorkerPrefix,
    rateLimits,
    description: healthcareWorkerDescription,
    keys,
    routes: healthcareWorkerRoutes(store, lists),
  });
  registerFhirApi(app, {
    prefix: organisationPrefix,
    rateLimits,
    description: organisationDescription,
    keys,
    routes: organisationRoutes(store),
  });
  registerFhirApi(app, {
    prefix: spineDirectoryPrefix,
    rateLimits,
    description: spineDirectoryDescription,
    keys,
    routes: spineDirectoryRoutes(store),
  });
}
