import type { Actor } from "../audit/actor.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { type Db, inTransaction } from "../store/database.ts";
import { takeStartUpLock } from "../store/start-up-lock.ts";
import { appOrigin, type FirstPartyApp, firstPartyClientSecret } from "../web/first-party/app.ts";
import { issuerIsHttps } from "../web/https.ts";
import { type ClientMetadata, ensureClient } from "./clients.ts";

/** The clients of the service's own apps (src/web/first-party/app.ts), which CIS2 keeps as any other. */
export function firstPartyClientMetadata(issuer: string, app: FirstPartyApp, secret: string): ClientMetadata {
  const base = `${appOrigin(issuer)}${app.path}`;
  return {
    client_id: app.clientId,
    client_name: app.clientName,
    client_secret: secret,
    token_endpoint_auth_method: "client_secret_post",
    redirect_uris: [`${base}/callback`],
    ...(app.signedOutPath ? { post_logout_redirect_uris: [`${appOrigin(issuer)}${app.signedOutPath}`] } : {}),
    grant_types: ["authorization_code"],
    scope: app.scope,
    default_acr_values: app.acrValues.split(" ").slice(0, 1),
  };
}

/** Registers each app's client at CIS2, or corrects a registration that differs from it. */
export async function ensureFirstPartyClients(
  db: Db,
  actor: Actor,
  sealer: Sealer,
  settings: { issuer: string; masterKey: Buffer },
  apps: FirstPartyApp[],
  validate: (metadata: ClientMetadata) => Promise<void>,
): Promise<void> {
  for (const app of apps) {
    const wanted = firstPartyClientMetadata(
      settings.issuer,
      app,
      firstPartyClientSecret(settings.masterKey, app),
    );
    // Under the start-up lock, so nodes starting together check and correct it one at a time.
    await inTransaction(db, async (tx) => {
      await takeStartUpLock(tx);
      // The service's own apps live on the issuer's origin: plain http only where it is.
      const registration = {
        environment: issuerIsHttps(settings.issuer) ? ("production" as const) : ("development" as const),
        clientIdForm: "registry" as const,
      };
      await ensureClient(tx, actor, sealer, wanted, validate, registration, (stored) => {
        const fields = (metadata: ClientMetadata) =>
          JSON.stringify([metadata.redirect_uris, metadata.post_logout_redirect_uris, metadata.scope]);
        return fields(stored) !== fields(wanted) || stored.client_secret !== wanted.client_secret;
      });
    });
  }
}
