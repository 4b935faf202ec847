import fastifySwagger from "@fastify/swagger";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Actor } from "../../audit/actor.ts";
import type { ProviderHost } from "../../cis2/host.ts";
import type { CodeLists } from "../../rbac/code-lists.ts";
import type { Db } from "../../store/database.ts";
import { logFailure, problemFor } from "../../web/problem.ts";
import type { OtherReports } from "../reports.ts";
import { actorFromBearer, type BearerPolicy, UnauthenticatedError } from "./bearer.ts";
import { registerOrganisationRoutes } from "./organisation-routes.ts";
import { registerPositionRoutes } from "./position-routes.ts";
import { registerProfileRoutes } from "./profile-routes.ts";
import { registerRequestRoutes } from "./request-routes.ts";
import { registerSmartcardRoutes } from "./smartcard-routes.ts";

const cimApiPrefix = "/cim/api/v1";

export type CimApiContext = {
  db: Db;
  lists: CodeLists;
  /** The public origin, for links handed to people (enrolment links). */
  origin: string;
  /** The person the request acts for, from its access token. */
  actorOf(request: FastifyRequest): Actor;
  /** The reports whose figures another capability keeps. */
  otherReports: OtherReports;
};

/**
 * Care Identity Management's JSON API: the same domain actions as the pages, authorised by CIS2
 * access tokens and the same policy, with problem+json errors and an OpenAPI document at
 * /cim/api/v1/openapi.json. Encapsulated, so its OpenAPI document and error handling cover its
 * own routes only.
 */
export function registerCimApi(
  app: FastifyInstance,
  options: {
    db: Db;
    lists: CodeLists;
    host: ProviderHost;
    issuer: string;
    tokens: BearerPolicy;
    /**
     * Routes another capability adds to the API (Apply for Care ID's invitations, where the
     * service sends them), under its tokens, errors and OpenAPI document; wired by server.ts.
     */
    routes?: (api: FastifyInstance, context: CimApiContext) => void;
    otherReports: OtherReports;
  },
): void {
  app.register(
    async (api) => {
      await api.register(fastifySwagger, {
        openapi: {
          openapi: "3.1.0",
          info: {
            title: "Care Identity Management API",
            version: "1",
            description:
              "Registration Authority actions: profiles, positions, assignments, requests, authenticators, smartcards, Apply for Care ID invitations and reports. " +
              "Authorised by a CIS2 access token (Bearer) issued to a CIM client, from a sign-in at the assurance CIM's pages require, and the same RA policy as the pages. " +
              "A token of another client answers 401 invalid_token; a weaker sign-in 401 insufficient_user_authentication with the acr_values to ask for (RFC 9470). Errors are RFC 9457 problem+json. " +
              "A sponsor's action that needs approval answers 202 with the request it created. " +
              "An Idempotency-Key header (or submissionId field) makes a second identical submission fail with 409.",
          },
          components: { securitySchemes: { cis2: { type: "http", scheme: "bearer" } } },
          security: [{ cis2: [] }],
        },
      });
      const actors = new WeakMap<FastifyRequest, Actor>();
      api.addHook("onRequest", async (request) => {
        if (request.routeOptions.url === `${cimApiPrefix}/openapi.json`) return;
        actors.set(request, await actorFromBearer(request, options.host, options.tokens));
      });
      api.setErrorHandler((error, request, reply) => {
        if (error instanceof UnauthenticatedError) {
          reply.header("www-authenticate", error.challenge);
          return sendJsonProblem(request, reply, {
            type: `https://careid.example/problems/${error.code}`,
            title: error.code === "unauthenticated" ? "Unauthenticated" : "A stronger sign-in is needed",
            status: 401,
            detail: error.message,
          });
        }
        const problem = problemFor(error);
        logFailure(request, problem, error);
        return sendJsonProblem(request, reply, problem);
      });
      const context: CimApiContext = {
        db: options.db,
        lists: options.lists,
        origin: new URL(options.issuer).origin,
        actorOf: (request) => {
          const actor = actors.get(request);
          if (!actor) throw new UnauthenticatedError("A CIS2 access token is required", false);
          return actor;
        },
        otherReports: options.otherReports,
      };
      registerProfileRoutes(api, context);
      registerPositionRoutes(api, context);
      registerRequestRoutes(api, context);
      registerSmartcardRoutes(api, context);
      registerOrganisationRoutes(api, context);
      options.routes?.(api, context);
      api.get("/openapi.json", { schema: { hide: true } }, async () => api.swagger());
    },
    { prefix: cimApiPrefix },
  );
}

/** Always JSON, whatever the client accepts: this is an API, not a page. */
function sendJsonProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: ReturnType<typeof problemFor>,
) {
  return reply
    .code(problem.status)
    .type("application/problem+json")
    .send({ ...problem, instance: `urn:careid:request:${request.id}` });
}
