import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/**
 * The browser side of the WebAuthn ceremonies: our two small modules and SimpleWebAuthn's ES
 * modules they import, served from this origin so the pages' script-src 'self' allows them.
 */
export const scriptsPrefix = "/authenticators/scripts/";
const simpleWebAuthnRoot = join(
  dirname(createRequire(import.meta.url).resolve("@simplewebauthn/browser")),
  "..",
  "esm",
);

export async function registerWebAuthnScripts(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL("./browser/", import.meta.url)),
    prefix: scriptsPrefix,
    decorateReply: false,
    maxAge: "1h",
  });
  await app.register(fastifyStatic, {
    root: simpleWebAuthnRoot,
    prefix: `${scriptsPrefix}simplewebauthn/`,
    decorateReply: false,
    allowedPath: (path) => path.endsWith(".js"),
    maxAge: "1h",
  });
}
