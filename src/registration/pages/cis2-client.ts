import * as client from "openid-client";
import { type ClientMetadata, readClientMetadata } from "../../cis2/clients.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Db } from "../../store/database.ts";

/**
 * Care Identity Management signs its users in through CIS2 Authentication as any relying party
 * does: discovery of our own issuer, the authorization-code flow with PKCE, state and nonce,
 * and RP-initiated logout. Its client secret is the one sealed in the client registry, so no
 * copy of it lives in configuration.
 */
export const cimPath = "/cim";
const scope = "openid profile";

/** Where browsers reach CIM: beside the issuer, on the same origin as CIS2's pages. */
export function cimBaseUrl(issuer: string): string {
  return `${new URL(issuer).origin}${cimPath}`;
}

/** The registration CIM needs at CIS2; the demo seed registers it, an operator with careid clients add. */
export function cimClientMetadata(issuer: string, clientId: string, secret: string): ClientMetadata {
  const base = cimBaseUrl(issuer);
  return {
    client_id: clientId,
    client_name: "Care Identity Management",
    client_secret: secret,
    token_endpoint_auth_method: "client_secret_post",
    redirect_uris: [`${base}/callback`],
    post_logout_redirect_uris: [`${base}/signed-out`],
    scope,
    default_acr_values: ["AAL3_ANY"],
  };
}

/** What a sign-in remembers between sending the browser to CIS2 and the callback. */
export type PendingSignIn = { verifier: string; state: string; nonce: string; until: number };

export type SignedInUser = { uuid: string; sid: string | undefined; idToken: string; acr: string };

/** A sign-in CIM refuses, with the reason shown to the user. */
export class SignInRefused extends Error {}

export type Cis2Client = {
  startSignIn(): Promise<{ url: URL; pending: PendingSignIn }>;
  finishSignIn(callbackUrl: URL, pending: PendingSignIn): Promise<SignedInUser>;
  endSessionUrl(idToken: string): Promise<URL>;
};

export function cis2Client(options: {
  issuer: string;
  clientId: string;
  acrValues: string;
  db: Db;
  sealer: Sealer;
}): Cis2Client {
  const base = cimBaseUrl(options.issuer);
  let configuration: Promise<client.Configuration> | undefined;

  /** Discovery on first use: CIM starts in the same process as the provider, before it listens. */
  const discover = () => {
    configuration ??= (async () => {
      const registered = await readClientMetadata(options.db, options.sealer, options.clientId);
      if (!registered?.client_secret)
        throw new SignInRefused(
          `Care Identity Management is not registered at CIS2 as ${options.clientId}: register it with careid clients add.`,
        );
      return client.discovery(
        new URL(options.issuer),
        options.clientId,
        undefined,
        client.ClientSecretPost(registered.client_secret),
        // Only a development issuer is plain HTTP; a real one is always HTTPS.
        options.issuer.startsWith("http:") ? { execute: [client.allowInsecureRequests] } : undefined,
      );
    })().catch((error: unknown) => {
      configuration = undefined;
      throw error;
    });
    return configuration;
  };

  return {
    async startSignIn() {
      const config = await discover();
      const pending: PendingSignIn = {
        verifier: client.randomPKCECodeVerifier(),
        state: client.randomState(),
        nonce: client.randomNonce(),
        until: Date.now() + 10 * 60_000,
      };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: `${base}/callback`,
        scope,
        code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: "S256",
        state: pending.state,
        nonce: pending.nonce,
        acr_values: options.acrValues,
      });
      return { url, pending };
    },

    async finishSignIn(callbackUrl, pending) {
      if (pending.until < Date.now()) throw new SignInRefused("This sign-in took too long. Sign in again.");
      const config = await discover();
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims || !tokens.id_token) throw new SignInRefused("CIS2 sent no ID token.");
      // openid-client does not compare acr with what was asked for: a weaker sign-in is refused here.
      const acr = typeof claims.acr === "string" ? claims.acr : "";
      if (!options.acrValues.split(" ").includes(acr))
        throw new SignInRefused(
          `Care Identity Management needs a sign-in at ${options.acrValues.split(" ").join(" or ")}; you signed in at ${acr || "an unknown level"}.`,
        );
      return {
        uuid: claims.sub,
        sid: typeof claims.sid === "string" ? claims.sid : undefined,
        idToken: tokens.id_token,
        acr,
      };
    },

    async endSessionUrl(idToken) {
      return client.buildEndSessionUrl(await discover(), {
        id_token_hint: idToken,
        post_logout_redirect_uri: `${base}/signed-out`,
      });
    },
  };
}
