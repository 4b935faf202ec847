import type { FastifyInstance } from "fastify";
import * as client from "openid-client";
import { isMethod, type Method } from "../../assurance/methods.ts";
import { appOrigin, type FirstPartyApp } from "./app.ts";

/**
 * One first-party app's sign-in through CIS2: discovery of our own issuer, the authorization-code
 * flow with PKCE, state and nonce, and RP-initiated logout. openid-client's requests reach the
 * provider in-process (Fastify's inject): no network hop, and no wait for the server to listen.
 */

/** What a sign-in remembers between sending the browser to CIS2 and the callback. */
export type PendingSignIn = { verifier: string; state: string; nonce: string; until: number };

export type SignedInUser = {
  uuid: string;
  sid: string | undefined;
  idToken: string;
  acr: string;
  method: Method | undefined;
};

/** A sign-in the app refuses, with the reason shown to the user. */
export class SignInRefused extends Error {}

export type FirstPartySignIn = {
  callbackUrl: string;
  startSignIn(): Promise<{ url: URL; pending: PendingSignIn }>;
  finishSignIn(callbackUrl: URL, pending: PendingSignIn): Promise<SignedInUser>;
  endSessionUrl(idToken: string): Promise<URL>;
};

export function firstPartySignIn(
  server: FastifyInstance,
  options: { issuer: string; app: FirstPartyApp; clientSecret: string },
): FirstPartySignIn {
  const { app, issuer } = options;
  const callbackUrl = `${appOrigin(issuer)}${app.path}/callback`;
  let configuration: Promise<client.Configuration> | undefined;
  const discover = () => {
    configuration ??= client
      .discovery(new URL(issuer), app.clientId, undefined, client.ClientSecretPost(options.clientSecret), {
        [client.customFetch]: inProcess(server),
        // Only a development issuer is plain HTTP; a real one is always HTTPS.
        execute: issuer.startsWith("http:") ? [client.allowInsecureRequests] : [],
      })
      .catch((error: unknown) => {
        configuration = undefined;
        throw error;
      });
    return configuration;
  };

  return {
    callbackUrl,

    async startSignIn() {
      const config = await discover();
      const pending: PendingSignIn = {
        verifier: client.randomPKCECodeVerifier(),
        state: client.randomState(),
        nonce: client.randomNonce(),
        until: Date.now() + 10 * 60_000,
      };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: callbackUrl,
        scope: app.scope,
        acr_values: app.acrValues,
        ...(app.freshSignIn ? { prompt: "login" } : {}),
        code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: "S256",
        state: pending.state,
        nonce: pending.nonce,
      });
      return { url, pending };
    },

    async finishSignIn(url, pending) {
      if (!(pending.until >= Date.now()))
        throw new SignInRefused("This sign-in took too long. Sign in again.");
      const tokens = await client.authorizationCodeGrant(await discover(), url, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims || !tokens.id_token) throw new SignInRefused("CIS2 sent no ID token.");
      const acr = typeof claims.acr === "string" ? claims.acr : "";
      const method = Array.isArray(claims.amr) && isMethod(claims.amr[0]) ? claims.amr[0] : undefined;
      // openid-client does not compare acr with what was asked for: a weaker sign-in is refused here.
      const asked = app.acrValues.split(" ");
      if (app.requires === "acr" && !asked.includes(acr))
        throw new SignInRefused(
          `${app.clientName} needs a sign-in at ${asked.join(" or ")}; you signed in at ${acr || "an unknown level"}.`,
        );
      if (app.requires === "amr" && !method) throw new SignInRefused("You could not sign in. Try again.");
      return {
        uuid: claims.sub,
        sid: typeof claims.sid === "string" ? claims.sid : undefined,
        idToken: tokens.id_token,
        acr,
        method,
      };
    },

    async endSessionUrl(idToken) {
      return client.buildEndSessionUrl(await discover(), {
        id_token_hint: idToken,
        post_logout_redirect_uri: `${appOrigin(issuer)}${app.signedOutPath}`,
      });
    },
  };
}

/** openid-client's requests to the provider, answered by this server in-process. */
function inProcess(server: FastifyInstance) {
  return async (
    url: string,
    options: { method?: string; headers?: Record<string, string>; body?: unknown },
  ) => {
    const target = new URL(url);
    const response = await server.inject({
      method: (options.method ?? "GET") as "GET",
      url: `${target.pathname}${target.search}`,
      headers: {
        ...Object.fromEntries(new Headers(options.headers as ConstructorParameters<typeof Headers>[0])),
        host: target.host,
      },
      payload: options.body === undefined ? undefined : String(options.body),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers))
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : String(value));
    return new Response(response.rawPayload.length > 0 ? response.rawPayload : null, {
      status: response.statusCode,
      headers,
    });
  };
}
