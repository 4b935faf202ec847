import assert from "node:assert/strict";
import { test } from "node:test";
import { SignJWT } from "jose";
import { demoClientId, demoClientSecret } from "../../src/seed/demo-sign-in.ts";
import { type Cis2Server, startCis2Server } from "../support/cis2-server.ts";
import { clientId, demoClientConfiguration, redirectUri, registerKeyClient, signIn } from "./journey.ts";

/**
 * A token request's writes (the assertion's jti, the code's consumption, the tokens) are made in
 * one statement at the end of the request, each depending on the one before. These tests hold
 * the guarantees that design must keep.
 */
const person = "margaret.oconnell@nhs.net";

async function codeFor(server: Cis2Server) {
  const journey = await signIn(server, await demoClientConfiguration(server), { identifier: person });
  return { code: journey.callback.searchParams.get("code") ?? "", verifier: journey.verifier };
}

function exchange(server: Cis2Server, form: Record<string, string>) {
  return fetch(`${server.issuer}/access_token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", redirect_uri: redirectUri, ...form }),
  }).then(async (response) => ({
    status: response.status,
    body: (await response.json()) as Record<string, string>,
  }));
}

async function userinfo(server: Cis2Server, accessToken: string) {
  return (await fetch(`${server.issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } }))
    .status;
}

test("a code sent four times at once is exchanged once: the others are invalid_grant and the code's tokens are revoked", async (t) => {
  const server = await startCis2Server(t);
  const { code, verifier } = await codeFor(server);
  const form = { code, code_verifier: verifier, client_id: demoClientId, client_secret: demoClientSecret };
  const answers = await Promise.all(Array.from({ length: 4 }, () => exchange(server, form)));
  const winners = answers.filter((answer) => answer.status === 200);
  const losers = answers.filter((answer) => answer.status !== 200);
  assert.equal(winners.length, 1, JSON.stringify(answers));
  for (const loser of losers)
    assert.deepEqual(loser, {
      status: 400,
      body: { error: "invalid_grant", error_description: "grant request is invalid" },
    });
  const accessToken = winners[0]?.body.access_token ?? "";
  assert.equal(await userinfo(server, accessToken), 401, "the reused code's access token is revoked");

  const stored = await server.store.db
    .selectFrom("oidc_models")
    .select("kind")
    .where("kind", "=", "AccessToken")
    .execute();
  assert.equal(stored.length, 0, "no access token of the code is left");
});

test("a code used again later is refused and what it issued is revoked", async (t) => {
  const server = await startCis2Server(t);
  const { code, verifier } = await codeFor(server);
  const form = { code, code_verifier: verifier, client_id: demoClientId, client_secret: demoClientSecret };
  const first = await exchange(server, form);
  assert.equal(first.status, 200);
  assert.equal(await userinfo(server, first.body.access_token ?? ""), 200);
  const again = await exchange(server, form);
  assert.equal(again.body.error, "invalid_grant");
  assert.equal(await userinfo(server, first.body.access_token ?? ""), 401);
});

test("a replayed client assertion consumes nothing: the code then exchanges with a fresh assertion", async (t) => {
  const server = await startCis2Server(t);
  const { privateKey, kid } = await registerKeyClient(server, "RS256");
  const configuration = await demoClientConfiguration(server, undefined, clientId);
  const assertion = () =>
    new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "RS256", kid })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(`${server.issuer}/access_token`)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
  const withAssertion = (journey: { code: string; verifier: string }, clientAssertion: string) =>
    exchange(server, {
      code: journey.code,
      code_verifier: journey.verifier,
      client_id: clientId,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: clientAssertion,
    });
  const codeOf = async () => {
    const journey = await signIn(server, configuration, { identifier: person });
    return { code: journey.callback.searchParams.get("code") ?? "", verifier: journey.verifier };
  };

  const used = await assertion();
  assert.equal((await withAssertion(await codeOf(), used)).status, 200);
  const second = await codeOf();
  assert.deepEqual(await withAssertion(second, used), {
    status: 401,
    body: { error: "invalid_client", error_description: "JWT is not valid" },
  });
  const fresh = await withAssertion(second, await assertion());
  assert.equal(fresh.status, 200, "the replay did not consume the code");
  assert.equal(await userinfo(server, fresh.body.access_token ?? ""), 200);
});
