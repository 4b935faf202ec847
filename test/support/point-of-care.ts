import { startPointOfCare } from "../../examples/point-of-care/app.ts";
import { scope } from "../../examples/point-of-care/cis2.ts";
import { operatorActor } from "../../src/audit/actor.ts";
import { addClient } from "../../src/cis2/clients.ts";
import { clientValidator } from "../../src/cis2/start.ts";
import type { Cis2Server } from "./cis2-server.ts";

/** The demo relying party (examples/point-of-care), registered with the CIS2 server as a client asking for `acr`. */
export async function startDemoRelyingParty(
  t: { after(cleanup: () => Promise<void>): void },
  server: Cis2Server,
  client: { clientId: string; clientSecret: string; acr: string },
) {
  const pointOfCare = await startPointOfCare({
    issuer: server.issuer,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    acrValues: client.acr,
    maxAge: 300,
    port: 0,
    host: "127.0.0.1",
    cookieSecret: "a-cookie-secret-for-the-journey-only",
    quiet: true,
  });
  t.after(() => pointOfCare.close());
  await addClient(
    server.store.db,
    operatorActor(),
    server.cis2.sealer,
    {
      client_id: client.clientId,
      client_secret: client.clientSecret,
      token_endpoint_auth_method: "client_secret_post",
      redirect_uris: [`${pointOfCare.url}/callback`],
      post_logout_redirect_uris: [`${pointOfCare.url}/`],
      scope,
      default_acr_values: [client.acr],
    },
    clientValidator(server.cis2.host),
  );
  return pointOfCare;
}
