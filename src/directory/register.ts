import type { FastifyInstance } from "fastify";
import type { CodeLists } from "../rbac/code-lists.ts";
import type { Store } from "../store/database.ts";
import { registerRegistryAdmin } from "./admin/registry-api.ts";
import { ApplicationKeyCache } from "./applications/key-cache.ts";
import { registerDirectoryFhir } from "./fhir/register.ts";

/**
 * The directory's HTTP faces: the three FHIR APIs and the registry's admin JSON API.
 * `securityHeaders` are the service's security headers for answers that are never pages
 * (`apiSecurityHeaders`), which the FHIR APIs send.
 */
export function registerDirectory(
  app: FastifyInstance,
  store: Store,
  lists: CodeLists,
  databaseUrl: string | undefined,
  securityHeaders: Record<string, string>,
): void {
  const keys = new ApplicationKeyCache(store.db, {
    databaseUrl: store.kind === "postgres" ? databaseUrl : undefined,
  });
  app.addHook("onClose", () => keys.close());
  registerDirectoryFhir(app, store, lists, keys, securityHeaders);
  registerRegistryAdmin(app, store, keys);
}
