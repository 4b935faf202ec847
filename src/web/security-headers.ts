import fastifyHelmet, { type FastifyHelmetOptions } from "@fastify/helmet";
import Fastify from "fastify";
import type { Config } from "../config.ts";

/** The service's security headers, as @fastify/helmet is given them for every answer. */
export function securityHeaderOptions(config: Pick<Config, "smartcardAgentUrl">): FastifyHelmetOptions {
  return {
    enableCSPNonces: true,
    // Set by registerStrictTransportSecurity: only on answers to requests that came over https.
    hsts: false,
    // A sign-in form ends in a redirect to the relying party, which form-action also governs.
    // upgrade-insecure-requests would send a plain-HTTP development server's assets to https.
    // With nonces on, helmet's script-src and style-src hold only the nonce: 'self' lets the
    // design system's own stylesheet and script load.
    contentSecurityPolicy: {
      directives: {
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        // The smartcard sign-in page asks the agent on the user's own computer to sign.
        connectSrc: ["'self'", new URL(config.smartcardAgentUrl).origin],
        formAction: ["'self'", "http:", "https:"],
        upgradeInsecureRequests: null,
      },
    },
  };
}

/**
 * Helmet's headers that govern only a document a browser renders: the window it opens in
 * (Cross-Origin-Opener-Policy, Origin-Agent-Cluster), what its HTML prefetches
 * (X-DNS-Prefetch-Control), Internet Explorer's handling of a downloaded page
 * (X-Download-Options) and its XSS filter (X-XSS-Protection), and the cross-domain policy files
 * of Flash and Acrobat (X-Permitted-Cross-Domain-Policies). A JSON answer is never such a
 * document, so it goes without them (OWASP's REST Security Cheat Sheet asks no more of an API).
 */
const documentOnlyHeaders = new Set([
  "cross-origin-opener-policy",
  "origin-agent-cluster",
  "x-dns-prefetch-control",
  "x-download-options",
  "x-permitted-cross-domain-policies",
  "x-xss-protection",
]);

/**
 * The headers those options give an answer that is never a page (a JSON API's): helmet's, with
 * no nonce, since no script or style is ever loaded from such an answer (so script-src and
 * style-src are 'self' alone, stricter than with a nonce), and without those that only a
 * document heeds. What stays: the content security policy (frame-ancestors included),
 * X-Content-Type-Options: nosniff, X-Frame-Options, Cross-Origin-Resource-Policy and
 * Referrer-Policy; HSTS is set for every answer by `registerStrictTransportSecurity`.
 * @fastify/helmet builds helmet's whole middleware from its options on every request, and picks
 * nonces for the page that may be rendered; for the directory's FHIR reads that was about a
 * twentieth of the service's CPU per request, and each header written (and read by the client)
 * costs again. Computed once, by helmet itself, on a throwaway instance.
 */
export async function apiSecurityHeaders(options: FastifyHelmetOptions): Promise<Record<string, string>> {
  const probe = Fastify();
  await probe.register(fastifyHelmet, { ...options, enableCSPNonces: false });
  probe.get("/", async (_request, reply) => reply.raw.getHeaders());
  const answer = await probe.inject("/");
  await probe.close();
  const headers = answer.json() as Record<string, string | string[]>;
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => !documentOnlyHeaders.has(name))
      .map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : String(value)]),
  );
}
