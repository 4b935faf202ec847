import type { FastifyInstance, FastifyRequest } from "fastify";

/**
 * Whether a request reached the service over TLS. With an https issuer, TLS ends in front of
 * every node (the issuer is the only address relying parties and browsers use), so every
 * request did, whatever the last hop was; otherwise Fastify's own view, which reads a trusted
 * proxy's X-Forwarded-Proto when CAREID_TRUST_PROXY is on. Cookies set in answer to such a
 * request are Secure, and the answer carries Strict-Transport-Security.
 */
export function overHttps(request: FastifyRequest, issuer: string): boolean {
  return issuerIsHttps(issuer) || request.protocol === "https";
}

/** Whether relying parties and browsers reach the service by https (TLS ends in front of every node). */
export function issuerIsHttps(issuer: string): boolean {
  return new URL(issuer).protocol === "https:";
}

/** A year, as the HSTS preload list asks; subdomains too, as nothing of the service is plain HTTP. */
const strictTransportSecurity = "max-age=31536000; includeSubDomains";

/**
 * HSTS on every answer to a request that came over https. Set on the raw response before any
 * route runs, so the answers oidc-provider writes itself (Fastify hands it the raw response)
 * carry it too.
 */
export function registerStrictTransportSecurity(app: FastifyInstance, issuer: string): void {
  const always = issuerIsHttps(issuer);
  app.addHook("onRequest", (request, reply, done) => {
    if (always || request.protocol === "https")
      reply.raw.setHeader("strict-transport-security", strictTransportSecurity);
    done();
  });
}
