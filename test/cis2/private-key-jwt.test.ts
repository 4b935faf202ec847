import assert from "node:assert/strict";
import { test } from "node:test";
import { generateKeyPair, SignJWT } from "jose";
import * as client from "openid-client";
import { startCis2Server } from "../support/cis2-server.ts";
import { clientId, exchange, redirectUri, registerKeyClient, signIn } from "./journey.ts";

for (const alg of ["RS256", "RS512"] as const) {
  test(`openid-client signs in with private_key_jwt (${alg})`, async (t) => {
    const server = await startCis2Server(t);
    const key = await registerKeyClient(server, alg);
    const configuration = await client.discovery(
      new URL(server.issuer),
      clientId,
      undefined,
      client.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const journey = await signIn(server, configuration, { identifier: "margaret.oconnell@nhs.net" });
    const tokens = await exchange(configuration, journey);
    assert.equal(tokens.claims()?.aud, clientId);
  });
}

test("a bad, expired or replayed client assertion answers invalid_client, JWT is not valid", async (t) => {
  const server = await startCis2Server(t);
  const key = await registerKeyClient(server, "RS256");
  const configuration = await client.discovery(new URL(server.issuer), clientId, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const tokenEndpoint = configuration.serverMetadata().token_endpoint as string;
  const assertion = (claims: Record<string, unknown>, signingKey = key.privateKey) =>
    new SignJWT({ jti: crypto.randomUUID(), ...claims })
      .setProtectedHeader({ alg: "RS256", kid: key.kid })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(tokenEndpoint)
      .setIssuedAt()
      .setExpirationTime((claims.exp as number | undefined) ?? "5m")
      .sign(signingKey);
  const exchangeWith = async (clientAssertion: string) => {
    const journey = await signIn(server, configuration, { identifier: "margaret.oconnell@nhs.net" });
    const response = await fetch(tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: journey.callback.searchParams.get("code") ?? "",
        redirect_uri: redirectUri,
        code_verifier: journey.verifier,
        client_id: clientId,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: clientAssertion,
      }),
    });
    return { status: response.status, body: await response.json() };
  };

  const good = await assertion({});
  assert.equal((await exchangeWith(good)).status, 200);
  const replayed = await exchangeWith(good);
  assert.deepEqual(replayed, {
    status: 401,
    body: { error: "invalid_client", error_description: "JWT is not valid" },
  });

  const stranger = (await generateKeyPair("RS256")).privateKey;
  const wrongKey = await exchangeWith(await assertion({}, stranger));
  assert.deepEqual(wrongKey.body, { error: "invalid_client", error_description: "JWT is not valid" });

  const expired = await exchangeWith(await assertion({ exp: Math.floor(Date.now() / 1000) - 120 }));
  assert.deepEqual(expired.body, { error: "invalid_client", error_description: "JWT is not valid" });

  const remembered = await server.store.db
    .selectFrom("oidc_models")
    .select("expires_at")
    .where("kind", "=", "ReplayDetection")
    .execute();
  assert.ok(remembered.length >= 1, "the assertion's jti is remembered");
  assert.ok(
    remembered.every((row) => row.expires_at && row.expires_at.getTime() > Date.now()),
    "until the assertion expires",
  );
});
