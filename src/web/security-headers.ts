import { randomFillSync } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import helmet, { type HelmetOptions } from "helmet";
import type { Config } from "../config.ts";

declare module "fastify" {
  interface FastifyReply {
    /** The nonces this answer's policy allows a script and a style by (null where it has none). */
    cspNonce: { script: string; style: string } | null;
  }
  interface FastifyContextConfig {
    /** A route that sends security headers of its own (the FHIR APIs) skips the service's. */
    helmet?: false | { skipRoute: true };
  }
}

/** The service's security headers, as helmet is given them (with a nonce for scripts and styles). */
export function securityHeaderOptions(config: Pick<Config, "smartcardAgentUrl">): HelmetOptions {
  return {
    // Set by registerStrictTransportSecurity: only on answers to requests that came over https.
    strictTransportSecurity: false,
    // A sign-in form ends in a redirect to the relying party, which form-action also governs.
    // upgrade-insecure-requests would send a plain-HTTP development server's assets to https.
    // 'self' lets the design system's own stylesheet and script load; each page's own scripts
    // are allowed by the answer's nonce (registerSecurityHeaders adds it).
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
 * Helmet's headers for these options, named and in the order it sets them, from its middleware
 * run once on a stand-in response.
 */
function helmetHeaders(options: HelmetOptions): [string, string][] {
  const headers: [string, string][] = [];
  const response = {
    setHeader: (name: string, value: string) => headers.push([name, value]),
    // X-Powered-By, which neither Fastify nor oidc-provider sets.
    removeHeader: () => {},
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}

/**
 * Options with a stand-in for each nonce at the end of script-src and style-src, where
 * @fastify/helmet put its nonces.
 */
function withNonceMarks(options: HelmetOptions): HelmetOptions {
  const policy = (options.contentSecurityPolicy || {}) as { directives?: Record<string, string[] | null> };
  const directives = policy.directives ?? {};
  return {
    ...options,
    contentSecurityPolicy: {
      ...policy,
      directives: {
        ...directives,
        scriptSrc: [...(directives.scriptSrc ?? []), "'nonce-scriptNonceMark'"],
        styleSrc: [...(directives.styleSrc ?? []), "'nonce-styleNonceMark'"],
      },
    },
  };
}

/**
 * Nonces drawn from random bytes taken a pool at a time, each byte used once: a draw from
 * OpenSSL costs far more than the 16 bytes it gives (two draws per answer were 1.5 % of a
 * sign-in's CPU); crypto.randomUUID keeps such a pool too. 128 bits each, as CSP asks.
 */
const pool = Buffer.alloc(32 * 256);
let drawn = pool.length;
function freshNonces(): { script: string; style: string } {
  if (drawn === pool.length) {
    randomFillSync(pool);
    drawn = 0;
  }
  const script = pool.toString("hex", drawn, drawn + 16);
  const style = pool.toString("hex", drawn + 16, drawn + 32);
  drawn += 32;
  return { script, style };
}

/**
 * Helmet's headers for these options on every answer, with two fresh nonces in its policy
 * (script-src and style-src), as @fastify/helmet gave them: it built helmet's whole middleware
 * from the options again for every request (about 4 % of a sign-in's CPU with its nonces).
 * Here helmet computes them once, at start, with stand-ins for the nonces; an answer sets them
 * with its own nonces in place (`reply.cspNonce` for the pages' scripts). Two nonces, not one,
 * as before: a style nonce never lets a script run. On the raw response before any route runs,
 * so the answers oidc-provider writes itself carry them too; a route that sends its own
 * (`config.helmet`) gets none.
 */
export function registerSecurityHeaders(app: FastifyInstance, options: HelmetOptions): void {
  const headers = helmetHeaders(withNonceMarks(options));
  const [policyName, policy] = headers.find(([name]) => /^content-security-policy$/i.test(name)) ?? ["", ""];
  const [beforeScript, betweenNonces, afterStyle, ...more] = policy.split(/scriptNonceMark|styleNonceMark/);
  if (afterStyle === undefined || more.length > 0 || !/scriptNonceMark.*styleNonceMark/.test(policy))
    throw new Error(`the content security policy has no place for nonces: ${policy}`);
  app.decorateReply("cspNonce", null);
  app.addHook("onRoute", (route) => {
    const own = route.config?.helmet as unknown;
    if (own !== undefined && own !== false && (own as { skipRoute?: unknown }).skipRoute !== true)
      throw new Error(`${route.url}: a route's own helmet options are not applied; it may only skip them`);
  });
  app.addHook("onRequest", (request, reply, done) => {
    const own = request.routeOptions.config.helmet;
    if (own === false || own?.skipRoute) return done();
    const nonces = freshNonces();
    reply.cspNonce = nonces;
    const response = reply.raw;
    for (const [name, value] of headers)
      response.setHeader(
        name,
        name === policyName
          ? beforeScript + nonces.script + betweenNonces + nonces.style + afterStyle
          : value,
      );
    done();
  });
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
 * Referrer-Policy; HSTS is set for every answer by `registerStrictTransportSecurity`. Computed
 * once, by helmet itself; each header written (and read by the client) costs again.
 */
export function apiSecurityHeaders(options: HelmetOptions): Record<string, string> {
  const headers = helmetHeaders(options).map(([name, value]) => [name.toLowerCase(), value] as const);
  return Object.fromEntries(headers.filter(([name]) => !documentOnlyHeaders.has(name)));
}
