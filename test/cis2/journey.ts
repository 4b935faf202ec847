import assert from "node:assert/strict";
import { exportJWK, generateKeyPair } from "jose";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { addClient } from "../../src/cis2/clients.ts";
import { clientValidator } from "../../src/cis2/start.ts";
import { demoClientId, demoClientSecret, demoPassword } from "../../src/seed/demo-sign-in.ts";
import { Browser, formAction } from "../support/browser.ts";
import type { Cis2Server } from "../support/cis2-server.ts";

export const redirectUri = "http://127.0.0.1:3001/callback";

export async function demoClientConfiguration(
  server: Cis2Server,
  auth?: client.ClientAuth,
  clientId = demoClientId,
) {
  return client.discovery(
    new URL(server.issuer),
    clientId,
    undefined,
    auth ?? client.ClientSecretPost(demoClientSecret),
    {
      execute: [client.allowInsecureRequests],
    },
  );
}

export type SignIn = {
  scope?: string;
  acr?: string;
  identifier: string;
  password?: string;
  /** The authenticator app's code, computed when its page is reached. */
  code?: () => string;
  /** The method chosen when several are offered. */
  method?: string;
  chooseRole?: (html: string) => string | undefined;
  extra?: Record<string, string>;
  browser?: Browser;
  /** The client's redirect URI, where the journey stops (the demo app's unless given). */
  redirectUri?: string;
  /** false: no PKCE challenge, as some CIS2 relying parties send none. */
  pkce?: boolean;
};

/** Starts a sign-in and stops on the identify page: its form's address, the journey's uid, the browser. */
export async function identifyStep(
  server: Cis2Server,
  acr: string,
  browser = new Browser(),
  configuration?: client.Configuration,
) {
  const url = client.buildAuthorizationUrl(configuration ?? (await demoClientConfiguration(server)), {
    redirect_uri: redirectUri,
    scope: "openid",
    acr_values: acr,
    state: client.randomState(),
    nonce: client.randomNonce(),
  });
  const { response, url: at } = await browser.follow(await browser.get(url.href), url.href, server.origin);
  const action = formAction(await response.text(), at);
  const uid = /\/signin\/([^/]+)\/identify$/.exec(action)?.[1] as string;
  return { browser, action, uid };
}

/** Drives the sign-in journey as a browser would, returning where the provider finally sent it. */
export async function signIn(server: Cis2Server, configuration: client.Configuration, options: SignIn) {
  const browser = options.browser ?? new Browser();
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: options.redirectUri ?? redirectUri,
    scope: options.scope ?? "openid profile",
    ...(options.pkce === false
      ? {}
      : { code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256" }),
    state,
    nonce,
    ...(options.acr ? { acr_values: options.acr } : {}),
    ...options.extra,
  });
  const stopAt = options.redirectUri ?? redirectUri;
  let { response, url: at } = await browser.follow(
    await browser.get(url.href),
    url.href,
    server.origin,
    stopAt,
  );
  let pages = 0;
  for (; pages < 6 && (response.status === 200 || response.status === 400); pages++) {
    const html = await response.text();
    const action = formAction(html, at);
    let form: Record<string, string>;
    if (action.endsWith("/identify")) form = { identifier: options.identifier };
    else if (action.endsWith("/password")) form = { password: options.password ?? demoPassword };
    else if (action.endsWith("/app"))
      form = { password: options.password ?? demoPassword, code: options.code?.() ?? "" };
    else if (action.endsWith("/method")) form = { method: options.method ?? "" };
    else if (action.endsWith("/role")) form = { role: options.chooseRole?.(html) ?? "" };
    else throw new Error(`unexpected form ${action}`);
    ({ response, url: at } = await browser.follow(
      await browser.post(action, form),
      action,
      server.origin,
      stopAt,
    ));
  }
  let refusalPage: string | undefined;
  if (response.status === 403) {
    // A refusal the person can act on is a page first; its link takes them back to the service.
    refusalPage = await response.text();
    const back = /<a href="([^"]+)" id="return-to-service"/.exec(refusalPage)?.[1];
    assert.ok(back, "the refusal page links back to the service");
    const link = new Response(null, { status: 303, headers: { location: back.replaceAll("&amp;", "&") } });
    ({ response, url: at } = await browser.follow(link, at, server.origin, stopAt));
  }
  assert.ok(
    response.status >= 300 && response.status < 400,
    `the journey ends in a redirect, not ${response.status}`,
  );
  return {
    refusalPage,
    callback: new URL(at),
    verifier,
    state,
    nonce,
    browser,
    lastResponse: response,
    pages,
  };
}

export async function exchange(
  configuration: client.Configuration,
  journey: Awaited<ReturnType<typeof signIn>>,
) {
  return client.authorizationCodeGrant(configuration, journey.callback, {
    pkceCodeVerifier: journey.verifier,
    expectedState: journey.state,
    expectedNonce: journey.nonce,
    idTokenExpected: true,
  });
}

/** A supplier's client that authenticates with private_key_jwt. */
export const clientId = "123456789012.apps.supplier";

export async function registerKeyClient(server: Cis2Server, alg: "RS256" | "RS512") {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: `key-${alg}`, alg, use: "sig" };
  await addClient(
    server.store.db,
    operatorActor(),
    server.cis2.sealer,
    {
      client_id: clientId,
      client_name: "Supplier app",
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: alg,
      jwks: { keys: [jwk] },
      default_acr_values: ["AAL1_USERPASS"],
    },
    clientValidator(server.cis2.host),
  );
  return { privateKey, kid: jwk.kid, alg };
}
