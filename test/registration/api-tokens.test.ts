import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { addClient } from "../../src/cis2/clients.ts";
import { clientValidator } from "../../src/cis2/start.ts";
import { demoClient } from "../../src/seed/demo-sign-in.ts";
import { demoClientConfiguration, exchange, redirectUri, signIn } from "../cis2/journey.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { accessTokenFor, caller, pointOfCareApp } from "./cim-api.ts";

const agent = "tunde.adebayo@nhs.net";
const integratorId = "222222222222.apps.supplier";

test("the CIM API takes the tokens of CIM's clients and refuses another relying party's", async (t) => {
  const server = await startCis2Server(t, {
    CAREID_CIM_API_CLIENTS: `care-identity-management, ${integratorId}`,
  });
  await addClient(
    server.store.db,
    operatorActor(),
    server.cis2.sealer,
    { ...demoClient(), client_id: integratorId, client_name: "An RA integration" },
    clientValidator(server.cis2.host),
  );

  const cim = caller(server, await accessTokenFor(server, agent));
  const found = await cim("GET", "/profiles?name=benn");
  assert.equal(found.status, 200, "CIM's own token");
  assert.equal(found.body[0].familyName, "Bennett");

  const integration = await demoClientConfiguration(server, undefined, integratorId);
  const integrator = caller(
    server,
    await accessTokenFor(server, agent, { relyingParty: { configuration: integration, redirectUri } }),
  );
  assert.equal(
    (await integrator("GET", "/profiles?name=benn")).status,
    200,
    "a client listed in the setting",
  );
  // A refreshed token keeps the class of the sign-in it came from.
  const offline = await exchange(
    integration,
    await signIn(server, integration, {
      identifier: agent,
      scope: "openid profile offline_access",
      acr: "AAL1_USERPASS",
      extra: { prompt: "consent" },
    }),
  );
  const refreshed = await client.refreshTokenGrant(integration, offline.refresh_token as string);
  assert.equal((await caller(server, refreshed.access_token)("GET", "/profiles?name=benn")).status, 200);

  // The same RA signed in to a point-of-care app: that app must not hold their RA powers.
  const other = caller(
    server,
    await accessTokenFor(server, agent, { relyingParty: await pointOfCareApp(server) }),
  );
  const refused = await other("GET", "/profiles?name=benn");
  assert.equal(refused.status, 401);
  assert.match(refused.type, /^application\/problem\+json/);
  assert.match(String(refused.headers.get("www-authenticate")), /^Bearer realm="cim", error="invalid_token"/);
  assert.equal(refused.body.type, "https://careid.example/problems/unauthenticated");
  assert.match(refused.body.detail, /client that may not use/);
  const write = await other("POST", "/profiles/555000000010/close", { reason: "not allowed" });
  assert.equal(write.status, 401, "nor write");
});

test("a token from a sign-in weaker than CIM's acr asks for a step-up (RFC 9470)", async (t) => {
  const server = await startCis2Server(t, { CAREID_CIM_ACR: "AAL3_ANY AAL2_OR_AAL3_ANY" });
  const weak = caller(server, await accessTokenFor(server, agent, { acr: "AAL1_USERPASS" }));
  const refused = await weak("GET", "/profiles?name=benn");
  assert.equal(refused.status, 401);
  assert.match(refused.type, /^application\/problem\+json/);
  const challenge = String(refused.headers.get("www-authenticate"));
  assert.match(challenge, /^Bearer realm="cim", error="insufficient_user_authentication"/);
  assert.match(challenge, /acr_values="AAL3_ANY AAL2_OR_AAL3_ANY"/);
  assert.equal(refused.body.type, "https://careid.example/problems/insufficient-user-authentication");
  assert.match(refused.body.detail, /AAL1_USERPASS/);
});
