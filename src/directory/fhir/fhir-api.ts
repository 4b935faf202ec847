import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Application } from "../applications/applications.ts";
import type { FleetRateLimits } from "../applications/fleet-rate-limits.ts";
import type { ApplicationKeyCache } from "../applications/key-cache.ts";
import type { SearchContext } from "./bundle.ts";
import { type ApiDescription, capabilityStatement } from "./capability.ts";
import { acceptsFhirJson, fhirJson } from "./content-negotiation.ts";
import { FhirError, operationOutcomeFor } from "./operation-outcome.ts";
import { SearchParameters } from "./search-parameters.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The application whose API key authenticated this request (FHIR APIs only). */
    application?: Application;
    /** The base path the request came by: the API's own, or its national counterpart's. */
    fhirApiPrefix?: string;
  }
}

const released = "2025-01-01";
const fhirJsonType = `${fhirJson}; charset=utf-8`;
const correlationIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * One FHIR R4 API under its own base path, with the conventions every national FHIR API
 * shares, as a pipeline of named steps: refuse an Accept it cannot satisfy, authenticate the
 * application's key, apply that application's rate limit, answer, and turn any failure into an
 * OperationOutcome. `/metadata` needs no key, as clients read it before they have one.
 *
 * Routes and handlers return what they answer rather than `reply.send(...)` it: an async
 * function that returns the reply makes Fastify wait on the reply as a promise, which watches
 * the response stream to its end with a set of listeners on every request.
 */
export function registerFhirApi(
  app: FastifyInstance,
  options: {
    prefix: string;
    /** The rate-limit counter's name: one API served at two base paths counts once. */
    limitName?: string;
    description: ApiDescription;
    keys: ApplicationKeyCache;
    /** Counted by the whole fleet, so a key's limit is not multiplied by the number of nodes. */
    rateLimits: FleetRateLimits;
    /** The service's security headers for an answer that is never a page (`apiSecurityHeaders`). */
    securityHeaders: Record<string, string>;
    routes: (api: FastifyInstance) => void;
  },
): void {
  // Not awaited: the plugin loads with the rest of the app, after server.ts has set its handlers.
  const metadataPath = `${options.prefix}/metadata`;
  // Every answer is FHIR JSON (errors are OperationOutcomes), so its type is fixed with the rest.
  const fixedHeaders = { ...options.securityHeaders, "content-type": fhirJsonType };
  app.register(
    async (api) => {
      // Helmet would build its middleware again on every request; these routes send the same
      // headers, fixed once, from the first step below.
      api.addHook("onRoute", (route) => {
        route.config = { ...route.config, helmet: { skipRoute: true } } as typeof route.config;
      });
      // One hook for the steps every request takes, in order (each hook costs a turn of its own);
      // it waits only when the key is not one this node remembers.
      api.addHook("onRequest", (request, reply, done) => {
        request.fhirApiPrefix = options.prefix;
        reply.headers(fixedHeaders);
        const refusal = unacceptableMediaType(request);
        if (refusal || pathOf(request.url) === metadataPath) done(refusal);
        else authenticateApplication(request, options.keys, done);
      });
      // After the NUL check (preValidation), as @fastify/rate-limit counted before it.
      const limitName = options.limitName ?? options.prefix;
      api.addHook("preHandler", (request, reply, done) =>
        done(overRateLimit(request, reply, options.rateLimits, limitName)),
      );
      api.addHook("onSend", echoCorrelationId);
      api.setErrorHandler((error, request, reply) => {
        const { status, outcome } = operationOutcomeFor(error);
        if (status >= 500) request.log.error({ err: error }, "FHIR request failed");
        reply.code(status).type(fhirJsonType);
        return outcome;
      });
      api.setNotFoundHandler((request, reply) => {
        const { status, outcome } = operationOutcomeFor(
          FhirError.notFound(`This API has nothing at ${request.method} ${request.url.split("?")[0]}`),
        );
        reply.code(status).type(fhirJsonType);
        return outcome;
      });
      api.get("/metadata", (request) => {
        new SearchParameters(request.query, []);
        return capabilityStatement(options.description, apiBase(request, options.prefix), released);
      });
      options.routes(api);
    },
    { prefix: options.prefix },
  );
}

function unacceptableMediaType(request: FastifyRequest): FhirError | undefined {
  if (acceptsFhirJson(request.headers.accept)) return undefined;
  return FhirError.notAcceptable(`This API answers only in ${fhirJson}, not ${request.headers.accept}`);
}

/**
 * Finds the application whose key the request carries, then calls `done` (with the refusal if
 * there is none): at once when this node remembers the key, after a lookup when it does not.
 * `/metadata` needs no key; any other path, known or not, does.
 */
function authenticateApplication(
  request: FastifyRequest,
  keys: ApplicationKeyCache,
  done: (refusal?: Error) => void,
): void {
  const key = request.headers.apikey;
  if (typeof key !== "string" || key === "") {
    done(FhirError.unauthorised("Send your application's API key in the apikey header"));
    return;
  }
  const authenticated = (application: Application | undefined) => {
    request.application = application;
    done(application ? undefined : FhirError.unauthorised("The API key is not valid, or has been revoked"));
  };
  const remembered = keys.remembered(key);
  if (remembered) authenticated(remembered);
  else keys.lookup(key).then(authenticated, done);
}

/** The fixed, aligned window each application's limit counts requests in. */
const rateWindowMilliseconds = 60_000;

/**
 * Counts a request with an application's key against that application's per-minute limit,
 * across the fleet, and tells the client where it stands in the headers @fastify/rate-limit
 * sent; over the limit, the refusal (429, with Retry-After). `/metadata` (no key) and paths the
 * API does not have are not counted. A step of the API's own rather than @fastify/rate-limit,
 * whose generic options (key, limit and window each possibly async, a callback store) cost
 * every request five promise turns; the count itself was always this synchronous one.
 */
function overRateLimit(
  request: FastifyRequest,
  reply: FastifyReply,
  limits: FleetRateLimits,
  limitName: string,
): FhirError | undefined {
  const application = request.application;
  if (!application || request.is404) return undefined;
  const max = application.rateLimitPerMinute;
  const { current, ttl } = limits.count(`${limitName}:${application.id}`, rateWindowMilliseconds);
  const resetSeconds = Math.ceil(ttl / 1000);
  reply.header("x-ratelimit-limit", max);
  reply.header("x-ratelimit-remaining", Math.max(0, max - current));
  reply.header("x-ratelimit-reset", resetSeconds);
  if (current <= max) return undefined;
  reply.header("retry-after", resetSeconds);
  return FhirError.tooManyRequests(
    `Rate limit of ${max} requests a minute exceeded; retry in ${durationInWords(resetSeconds)}`,
  );
}

/** "1 second", "45 seconds", "1 minute": as @fastify/rate-limit wrote the wait. */
function durationInWords(seconds: number): string {
  const [count, unit] = seconds < 60 ? [seconds, "second"] : [Math.round(seconds / 60), "minute"];
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

function echoCorrelationId(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (error: null, payload: unknown) => void,
): void {
  const correlationId = request.headers["x-correlation-id"];
  if (typeof correlationId === "string" && correlationIdPattern.test(correlationId))
    reply.header("x-correlation-id", correlationId);
  done(null, payload);
}

function pathOf(url: string): string {
  const question = url.indexOf("?");
  return question < 0 ? url : url.slice(0, question);
}

/** The absolute base of the API under `prefix` that this request reached. */
export function apiBase(request: FastifyRequest, prefix: string): string {
  return `${request.protocol}://${request.host}${prefix}`;
}

/** What a searchset Bundle needs to know about the search that produced it. */
export function searchContext(
  request: FastifyRequest,
  prefix: string,
  resourceType: string,
  parameters: SearchParameters,
): SearchContext {
  return { base: apiBase(request, request.fhirApiPrefix ?? prefix), path: resourceType, parameters };
}
