import type { FastifyInstance } from "fastify";

/** Names a browser may use for this machine's loopback; cookies and redirect URIs tell them apart. */
const loopbackNames = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The demo answers at one host name, the issuer's: CIM's cookies, its CIS2 callback and the
 * WebAuthn relying party (which cannot be an IP address) all live there. A browser that opens a
 * page at another name of the same loopback, on the same port, is sent to the issuer's name
 * before any cookie is set, so every part works whichever name was typed.
 */
export function registerOneHostName(app: FastifyInstance, issuer: string): void {
  const canonical = new URL(issuer);
  if (!loopbackNames.has(canonical.hostname)) return;
  app.addHook("onRequest", async (request, reply) => {
    if (request.method !== "GET" && request.method !== "HEAD") return;
    if (!String(request.headers.accept ?? "").includes("text/html")) return;
    if (!URL.canParse(`http://${request.host}`)) return;
    const asked = new URL(`http://${request.host}`);
    if (asked.hostname === canonical.hostname || !loopbackNames.has(asked.hostname)) return;
    if (asked.port !== canonical.port) return;
    return reply.redirect(`${canonical.origin}${request.url}`, 308);
  });
}
