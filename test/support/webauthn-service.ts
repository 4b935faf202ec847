import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";
import { trustVirtualAuthenticators } from "./attestation-ca.ts";
import {
  addAuthenticator,
  launchChromium,
  removeAuthenticator,
  virtualAttestationCertificate,
} from "./chromium.ts";
import { startCis2Server } from "./cis2-server.ts";

/**
 * Chromium, and a running service (on localhost, as WebAuthn needs a host name) that trusts
 * Chromium's virtual authenticators' attestations through a test MDS3 BLOB. The attestation
 * root is learnt from one scratch registration on a blank page of a scratch server.
 */
export async function serviceTrustingChromium(
  t: TestContext,
  options: { bypassCSP?: boolean; environment?: Record<string, string> } = {},
) {
  const scratchServer = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>scratch</title>");
  });
  await new Promise<void>((resolve) => scratchServer.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    scratchServer.closeAllConnections();
    scratchServer.close();
  });
  const { context, page } = await launchChromium(t, options);
  const scratch = await addAuthenticator(context, page);
  const origin = `http://localhost:${(scratchServer.address() as AddressInfo).port}`;
  const attestationRoot = await virtualAttestationCertificate(page, origin, scratch);
  await removeAuthenticator(scratch);
  const server = await startCis2Server(
    t,
    { ...(await trustVirtualAuthenticators(attestationRoot)), ...options.environment },
    "localhost",
  );
  return { server, context, page };
}
