import assert from "node:assert/strict";
import { test } from "node:test";
import { exportJWK, generateKeyPair } from "jose";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { addClient } from "../../src/cis2/clients.ts";
import { clientValidator } from "../../src/cis2/start.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { exchange, redirectUri, signIn } from "./journey.ts";

test("discovery says how to authenticate at revocation and introspection, and advertises only what works", async (t) => {
  const server = await startCis2Server(t);
  const metadata = (await (
    await fetch(`${server.issuer}/.well-known/openid-configuration`)
  ).json()) as Record<string, unknown>;
  for (const endpoint of ["revocation", "introspection"]) {
    assert.deepEqual(
      metadata[`${endpoint}_endpoint_auth_methods_supported`],
      metadata.token_endpoint_auth_methods_supported,
      endpoint,
    );
    assert.deepEqual(
      metadata[`${endpoint}_endpoint_auth_signing_alg_values_supported`],
      metadata.token_endpoint_auth_signing_alg_values_supported,
      endpoint,
    );
  }
  assert.equal(metadata.request_uri_parameter_supported, false);
  assert.equal(typeof metadata.pushed_authorization_request_endpoint, "string");
  assert.equal(metadata.dpop_signing_alg_values_supported, undefined, "DPoP is off, so not advertised");
  assert.match(String(metadata.registration_endpoint), /\/reg$/);
  // What discovery advertises for PAR works: a pushed request gives a request_uri.
  const pushed = await fetch(String(metadata.pushed_authorization_request_endpoint), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      client_id: "999999999999.apps.national",
      client_secret: "demo-client-secret-for-the-example-app-only",
      response_type: "code",
      scope: "openid",
      redirect_uri: redirectUri,
    }),
  });
  assert.equal(pushed.status, 201);
  assert.match(
    ((await pushed.json()) as { request_uri: string }).request_uri,
    /^urn:ietf:params:oauth:request_uri:/,
  );
});

test("a private_key_jwt client revokes its token using only what discovery says", async (t) => {
  const server = await startCis2Server(t);
  const clientId = "123456789013.apps.national";
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "revoker", use: "sig" };
  await addClient(
    server.store.db,
    operatorActor(),
    server.cis2.sealer,
    {
      client_id: clientId,
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: "private_key_jwt",
      jwks: { keys: [jwk] },
      default_acr_values: ["AAL1_USERPASS"],
    },
    clientValidator(server.cis2.host),
  );
  const discovered = await client.discovery(new URL(server.issuer), clientId, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const advertised = discovered.serverMetadata();
  // As an integrator's library does: choose the method and algorithm the revocation endpoint lists.
  assert.ok(advertised.revocation_endpoint_auth_methods_supported?.includes("private_key_jwt"));
  assert.ok(advertised.revocation_endpoint_auth_signing_alg_values_supported?.includes("RS256"));
  const configuration = new client.Configuration(
    advertised,
    clientId,
    undefined,
    client.PrivateKeyJwt({ key: privateKey, kid: jwk.kid }),
  );
  client.allowInsecureRequests(configuration);
  const journey = await signIn(server, configuration, { identifier: "margaret.oconnell@nhs.net" });
  const tokens = await exchange(configuration, journey);
  assert.equal((await client.tokenIntrospection(configuration, tokens.access_token)).active, true);
  await client.tokenRevocation(configuration, tokens.access_token);
  assert.equal((await client.tokenIntrospection(configuration, tokens.access_token)).active, false);
});
