import { hkdfSync } from "node:crypto";
import type { Actor } from "../../audit/actor.ts";
import { type ClientMetadata, ensureClient } from "../../cis2/clients.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import { type Db, inTransaction } from "../../store/database.ts";
import { takeStartUpLock } from "../../store/start-up-lock.ts";
import { issuerIsHttps } from "../https.ts";

/**
 * A first-party app: a part of this service that signs its users in through our own CIS2 as any
 * relying party does. Its client is registered (or corrected) at every start with a secret
 * derived from the master key, so every node knows it and no copy of it is stored anywhere new.
 */
export type FirstPartyApp = {
  /** Names the app's sessions and its secret's derivation; never changes. */
  name: string;
  clientId: string;
  clientName: string;
  /** Where the app lives; CIS2 returns to `${path}/callback`. */
  path: string;
  scope: string;
  /** The acr_values asked for at sign-in. */
  acrValues: string;
  /** prompt=login: a fresh authentication, whatever CIS2 session the browser has. */
  freshSignIn: boolean;
  /** How the sign-in is checked: acr among those asked for, or a known sign-in method in amr. */
  requires: "acr" | "amr";
  /** Where RP-initiated logout returns to, if the app signs out of CIS2 too. */
  signedOutPath?: string;
  idleMinutes: number;
  longestMinutes: number;
};

export function appOrigin(issuer: string): string {
  return new URL(issuer).origin;
}

export function firstPartyClientSecret(masterKey: Buffer, app: FirstPartyApp): string {
  return Buffer.from(hkdfSync("sha256", masterKey, "careid", `${app.name}-client-secret`, 32)).toString(
    "base64url",
  );
}

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
