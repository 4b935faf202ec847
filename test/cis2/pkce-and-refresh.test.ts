import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "openid-client";
import { cimClient } from "../registration/cim-api.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { demoClientConfiguration, exchange, signIn } from "./journey.ts";

const person = "margaret.oconnell@nhs.net";

test("PKCE is optional, S256 only, and a code asked for with a challenge needs its verifier", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);

  const without = await signIn(server, configuration, { identifier: person, pkce: false });
  const tokens = await client.authorizationCodeGrant(configuration, without.callback, {
    expectedState: without.state,
    expectedNonce: without.nonce,
    idTokenExpected: true,
  });
  assert.ok(tokens.access_token, "a relying party that sends no challenge is served");

  const plain = await signIn(server, configuration, {
    identifier: person,
    pkce: false,
    extra: { code_challenge: client.randomPKCECodeVerifier(), code_challenge_method: "plain" },
  });
  assert.equal(plain.callback.searchParams.get("error"), "invalid_request");
  assert.match(String(plain.callback.searchParams.get("error_description")), /code_challenge_method/);

  const challenged = await signIn(server, configuration, { identifier: person });
  await assert.rejects(
    client.authorizationCodeGrant(configuration, challenged.callback, {
      expectedState: challenged.state,
      expectedNonce: challenged.nonce,
    }),
    (error: client.ResponseBodyError) => error.error === "invalid_grant",
  );
});

test("a refresh token only for offline_access, asked with prompt=consent by a client registered for it", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const tokensFor = async (scope: string, extra: Record<string, string> = {}) =>
    exchange(configuration, await signIn(server, configuration, { identifier: person, scope, extra }));

  assert.equal((await tokensFor("openid profile")).refresh_token, undefined, "no offline_access");
  assert.equal(
    (await tokensFor("openid profile offline_access")).refresh_token,
    undefined,
    "offline_access without prompt=consent is dropped (OpenID Connect Core 11)",
  );
  const offline = await tokensFor("openid profile offline_access", { prompt: "consent" });
  assert.ok(offline.refresh_token, "offline_access with prompt=consent");
  assert.match(String(offline.scope), /offline_access/);
  const refreshed = await client.refreshTokenGrant(configuration, offline.refresh_token as string);
  assert.ok(refreshed.access_token);

  // CIM's client is registered for the authorization code alone: no refresh token, whatever it asks.
  const cim = await cimClient(server);
  const cimTokens = await exchange(
    cim.configuration,
    await signIn(server, cim.configuration, {
      identifier: person,
      scope: "openid profile offline_access",
      acr: "AAL1_USERPASS",
      redirectUri: cim.redirectUri,
      extra: { prompt: "consent" },
    }),
  );
  assert.equal(cimTokens.refresh_token, undefined);
});
