import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { readCodeLists } from "../../src/rbac/code-lists.ts";
import { grantPosition } from "../../src/rbac/positions.ts";
import { formToken, signInToCim } from "../registration/cim-browser.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { exchange, redirectUri, signIn } from "./journey.ts";

test("a pipeline registers a client with an initial access token from the pages (RFC 7591), manages it (RFC 7592) and signs in with it", async (t) => {
  const server = await startCis2Server(t);
  const person = await server.store.db
    .selectFrom("people")
    .select("uuid")
    .where("email", "=", "oliver.bennett@nhs.net")
    .executeTakeFirstOrThrow();
  await grantPosition(server.store.db, operatorActor(), await readCodeLists(server.store.db), {
    uuid: person.uuid,
    odsCode: "RZZ",
    jobRole: "R8000",
    activities: ["B9903"],
    startDate: "2020-01-01",
  });
  const { browser } = await signInToCim(server, "oliver.bennett@nhs.net");
  const list = await (await browser.get(`${server.origin}/cim/relying-parties`)).text();
  const issued = await (
    await browser.post(`${server.origin}/cim/relying-parties/registration-tokens`, {
      _form: formToken(list),
      organisationCode: "RZZ",
    })
  ).text();
  const initialAccessToken = /id="initial-access-token">([^<]+)</.exec(issued)?.[1] ?? "";
  assert.ok(initialAccessToken.length >= 40);

  // openid-client has no registration API: the request is RFC 7591's, at the discovered endpoint.
  const discovered = await client.discovery(
    new URL(server.issuer),
    "unregistered",
    undefined,
    client.None(),
    {
      execute: [client.allowInsecureRequests],
    },
  );
  const registrationEndpoint = String(discovered.serverMetadata().registration_endpoint);
  const register = (body: Record<string, unknown>, token = initialAccessToken) =>
    fetch(registrationEndpoint, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  const wanted = {
    client_name: "Pipeline test client",
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: "client_secret_post",
    scope: "openid profile",
    default_acr_values: ["AAL1_USERPASS"],
  };

  const withoutToken = await register(wanted, "not-a-token");
  assert.equal(withoutToken.status, 401);
  assert.equal(((await withoutToken.json()) as { error: string }).error, "invalid_token");
  const wildcard = await register({ ...wanted, redirect_uris: ["https://*.example/cb"] });
  assert.equal(wildcard.status, 400);
  assert.deepEqual(await wildcard.json(), {
    error: "invalid_redirect_uri",
    error_description: "redirect_uris must not contain wildcards: https://*.example/cb",
  });

  const created = await register(wanted);
  assert.equal(created.status, 201);
  const registered = (await created.json()) as Record<string, string>;
  assert.match(registered.client_id ?? "", /^[0-9]{12}\.apps\.national$/);
  assert.equal(registered.careid_organisation, "RZZ");
  assert.equal(registered.careid_environment, "development");
  const row = await server.store.db
    .selectFrom("oidc_clients")
    .select(["organisation_code", "sealed_secret", "metadata"])
    .where("client_id", "=", registered.client_id ?? "")
    .executeTakeFirstOrThrow();
  assert.equal(row.organisation_code, "RZZ");
  assert.ok(row.sealed_secret && !JSON.stringify(row.metadata).includes(registered.client_secret ?? "?"));

  const configuration = await client.discovery(
    new URL(server.issuer),
    registered.client_id ?? "",
    undefined,
    client.ClientSecretPost(registered.client_secret ?? ""),
    { execute: [client.allowInsecureRequests] },
  );
  const journey = await signIn(server, configuration, {
    identifier: "margaret.oconnell@nhs.net",
    acr: "AAL1_USERPASS",
  });
  const tokens = await exchange(configuration, journey);
  assert.equal(tokens.claims()?.aud, registered.client_id);

  // RFC 7592: read, then change within the same rules, then delete.
  const management = { authorization: `Bearer ${registered.registration_access_token}` };
  const read = await fetch(registered.registration_client_uri ?? "", { headers: management });
  assert.equal(read.status, 200);
  const refusedChange = await fetch(registered.registration_client_uri ?? "", {
    method: "PUT",
    headers: { ...management, "content-type": "application/json" },
    body: JSON.stringify({ ...wanted, client_id: registered.client_id, redirect_uris: ["ftp://example/cb"] }),
  });
  assert.equal(refusedChange.status, 400);
  const removed = await fetch(registered.registration_client_uri ?? "", {
    method: "DELETE",
    headers: management,
  });
  assert.equal(removed.status, 204);
  assert.equal(
    await server.store.db
      .selectFrom("oidc_clients")
      .select("client_id")
      .where("client_id", "=", registered.client_id ?? "")
      .executeTakeFirst(),
    undefined,
  );
  const actions = await server.store.db
    .selectFrom("audit_events")
    .select("action")
    .where((eb) => eb.or([eb("subject_id", "=", registered.client_id ?? ""), eb("subject_id", "=", "RZZ")]))
    .where("action", "like", "client.%")
    .orderBy("seq")
    .execute();
  assert.deepEqual(
    actions.map((event) => event.action),
    ["client.registration-token-issued", "client.registered", "client.removed"],
  );
  assert.ok(
    !JSON.stringify(await server.store.db.selectFrom("audit_events").select("after").execute()).includes(
      initialAccessToken,
    ),
    "the audit log never holds the token",
  );
});
