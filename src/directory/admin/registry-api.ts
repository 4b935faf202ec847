import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Actor } from "../../audit/actor.ts";
import type { Store } from "../../store/database.ts";
import type { ApplicationKeyCache } from "../applications/key-cache.ts";
import {
  addAccreditedSystem,
  findAccreditedSystems,
  getAccreditedSystem,
  type NewAccreditedSystem,
  removeAccreditedSystem,
} from "../systems/accredited-systems.ts";
import {
  addMessagingEndpoint,
  findMessagingEndpoints,
  getMessagingEndpoint,
  type NewMessagingEndpoint,
  removeMessagingEndpoint,
} from "../systems/messaging-endpoints.ts";

/** A refusal the shared problem+json handler reports with its own status (401 or 403). */
class AccessRefused extends Error {
  readonly statusCode: number;
  constructor(statusCode: 401 | 403, message: string) {
    super(message);
    this.statusCode = statusCode;
    this.name = statusCode === 401 ? "Unauthorized" : "Forbidden";
  }
}

/**
 * The accredited systems registry as a JSON API for administrators. Every route needs the API
 * key of an application issued with `careid apps add --admin`; changes are audited as that
 * application. Errors are the service's usual problem+json.
 */
export function registerRegistryAdmin(app: FastifyInstance, store: Store, keys: ApplicationKeyCache): void {
  app.register(
    async (admin) => {
      admin.addHook("onRequest", async (request) => {
        const key = request.headers.apikey;
        if (typeof key !== "string" || key === "")
          throw new AccessRefused(401, "Send an admin application's API key in the apikey header");
        const application = await keys.lookup(key);
        if (!application) throw new AccessRefused(401, "The API key is not valid, or has been revoked");
        if (!application.admin)
          throw new AccessRefused(403, "This application may read the directory but not change the registry");
        request.application = application;
      });
      const actorOf = (request: FastifyRequest): Actor => ({
        kind: "system",
        id: `application:${request.application?.id}`,
        source: "API",
        correlationId: request.id,
      });
      const reasonOf = (request: FastifyRequest) =>
        String((request.query as { reason?: unknown }).reason ?? "");

      admin.get("/systems", async (request) =>
        findAccreditedSystems(store.db, {
          odsCode: (request.query as { odsCode?: string }).odsCode?.toUpperCase(),
        }),
      );
      admin.post<{ Body: NewAccreditedSystem }>("/systems", async (request, reply) =>
        reply.code(201).send(await addAccreditedSystem(store.db, actorOf(request), request.body ?? {})),
      );
      admin.get<{ Params: { asid: string } }>("/systems/:asid", async (request) =>
        getAccreditedSystem(store.db, request.params.asid),
      );
      admin.delete<{ Params: { asid: string } }>("/systems/:asid", async (request) =>
        removeAccreditedSystem(store.db, actorOf(request), request.params.asid, reasonOf(request)),
      );
      admin.get("/endpoints", async (request) => {
        const query = request.query as { odsCode?: string; partyKey?: string; interaction?: string };
        return findMessagingEndpoints(store.db, {
          odsCode: query.odsCode?.toUpperCase(),
          partyKey: query.partyKey,
          interaction: query.interaction,
        });
      });
      admin.post<{ Body: NewMessagingEndpoint }>("/endpoints", async (request, reply) =>
        reply.code(201).send(await addMessagingEndpoint(store.db, actorOf(request), request.body ?? {})),
      );
      admin.get<{ Params: { id: string } }>("/endpoints/:id", async (request) =>
        getMessagingEndpoint(store.db, request.params.id),
      );
      admin.delete<{ Params: { id: string } }>("/endpoints/:id", async (request) =>
        removeMessagingEndpoint(store.db, actorOf(request), request.params.id, reasonOf(request)),
      );
    },
    { prefix: "/api/directory" },
  );
}
