import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { readCodeLists } from "../../src/rbac/code-lists.ts";
import { grantPosition } from "../../src/rbac/positions.ts";
import { formToken, pageText, signInToCim } from "../registration/cim-browser.ts";
import { type Cis2Server, startCis2Server } from "../support/cis2-server.ts";
import { exchange, signIn } from "./journey.ts";

const callback = "http://127.0.0.1:3001/callback";

/** Gives a demo person a position at RZZ carrying an activity (B9903 administers, B9904 approves). */
async function holdActivity(server: Cis2Server, email: string, activity: string): Promise<string> {
  const person = await server.store.db
    .selectFrom("people")
    .select("uuid")
    .where("email", "=", email)
    .executeTakeFirstOrThrow();
  await grantPosition(server.store.db, operatorActor(), await readCodeLists(server.store.db), {
    uuid: person.uuid,
    odsCode: "RZZ",
    jobRole: "R8000",
    activities: [activity],
    startDate: "2020-01-01",
  });
  return person.uuid;
}

async function registerFromPages(
  server: Cis2Server,
  browser: Awaited<ReturnType<typeof signInToCim>>["browser"],
  fields: Record<string, string>,
) {
  const form = await (await browser.get(`${server.origin}/cim/relying-parties/new`)).text();
  const response = await browser.post(`${server.origin}/cim/relying-parties`, {
    _form: formToken(form),
    organisationCode: "RZZ",
    name: "Ward app",
    environment: "development",
    redirectUris: callback,
    authMethod: "client_secret_post",
    scopes: "profile",
    defaultAcr: "AAL1_USERPASS",
    ...fields,
  });
  const html = await pageText(response);
  return {
    status: response.status,
    html,
    clientId: /id="client-id">([^<]+)</.exec(html)?.[1],
    secret: /id="client-secret">([^<]+)</.exec(html)?.[1],
  };
}

function configurationFor(server: Cis2Server, clientId: string, secret: string) {
  return client.discovery(new URL(server.issuer), clientId, undefined, client.ClientSecretPost(secret), {
    execute: [client.allowInsecureRequests],
  });
}

test("a relying-party administrator registers a development client on the pages, and it signs a person in", async (t) => {
  const server = await startCis2Server(t);
  await holdActivity(server, "oliver.bennett@nhs.net", "B9903");
  const { browser } = await signInToCim(server, "oliver.bennett@nhs.net");
  const registered = await registerFromPages(server, browser, {});
  assert.equal(registered.status, 200, registered.html);
  assert.match(registered.clientId ?? "", /^[0-9]{12}\.apps\.national$/);
  assert.ok(registered.secret && registered.secret.length >= 32, "the secret is shown once");

  const stored = await server.store.db
    .selectFrom("oidc_clients")
    .select(["metadata", "sealed_secret", "environment", "organisation_code"])
    .where("client_id", "=", registered.clientId ?? "")
    .executeTakeFirstOrThrow();
  assert.ok(
    !JSON.stringify(stored.metadata).includes(registered.secret),
    "the secret is not in the metadata",
  );
  assert.ok(!stored.sealed_secret?.includes(registered.secret), "it is sealed");
  assert.deepEqual([stored.environment, stored.organisation_code], ["development", "RZZ"]);
  const audited = await server.store.db
    .selectFrom("audit_events")
    .select(["action", "after"])
    .where("subject_id", "=", registered.clientId ?? "")
    .execute();
  assert.deepEqual(
    audited.map((event) => event.action),
    ["client.registered"],
  );
  assert.ok(!JSON.stringify(audited).includes(registered.secret), "the audit log never holds the secret");

  const configuration = await configurationFor(server, registered.clientId ?? "", registered.secret);
  const journey = await signIn(server, configuration, {
    identifier: "margaret.oconnell@nhs.net",
    acr: "AAL1_USERPASS",
    scope: "openid profile",
  });
  const tokens = await exchange(configuration, journey);
  const claims = tokens.claims();
  assert.equal(claims?.aud, registered.clientId);
  assert.equal(claims?.acr, "AAL1_USERPASS");
  assert.deepEqual(claims?.amr, ["pwd"]);
  const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, String(claims?.sub));
  assert.equal(userinfo.sub, claims?.sub);
  assert.equal(userinfo.family_name, "O'Connell");
});

test("bad client metadata on the pages gets the error summary and registers nothing", async (t) => {
  const server = await startCis2Server(t);
  await holdActivity(server, "oliver.bennett@nhs.net", "B9903");
  const { browser } = await signInToCim(server, "oliver.bennett@nhs.net");
  const cases: [Record<string, string>, RegExp][] = [
    [{ redirectUris: "https://*.ward.example/callback" }, /Redirect URIs must not contain wildcards/],
    [
      { environment: "production", redirectUris: "http://ward.example/cb" },
      /must be https outside development/,
    ],
    [
      { environment: "production", redirectUris: "https://ward.example/cb", defaultAcr: "AAL1_USERPASS" },
      /must not include AAL1_USERPASS/,
    ],
    [{ authMethod: "private_key_jwt" }, /needs the client&#39;s public keys|needs the client's public keys/],
    [
      { authMethod: "private_key_jwt", jwks: '{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}' },
      /RSA signing key/,
    ],
    [{ authMethod: "private_key_jwt", jwksUri: "http://127.0.0.1:9/jwks" }, /JWKS URL could not be read/],
    [{ name: "" }, /Name is required/],
  ];
  for (const [fields, message] of cases) {
    const answer = await registerFromPages(server, browser, fields);
    assert.equal(answer.status, 400, JSON.stringify(fields));
    assert.match(answer.html, /nhsuk-error-summary/);
    assert.match(answer.html, message, JSON.stringify(fields));
  }
  const count = await server.store.db
    .selectFrom("oidc_clients")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("organisation_code", "is not", null)
    .executeTakeFirstOrThrow();
  assert.equal(Number(count.n), 0);

  // Someone who administers no organisation may not register at all.
  const { browser: other } = await signInToCim(server, "grace.mensah@nhs.net");
  const refused = await registerFromPages(server, other, {});
  assert.equal(refused.status, 403);
});

test("a production client is refused until another person, a service administrator, approves it", async (t) => {
  const server = await startCis2Server(t);
  await holdActivity(server, "oliver.bennett@nhs.net", "B9903");
  await holdActivity(server, "oliver.bennett@nhs.net", "B9904");
  await holdActivity(server, "tunde.adebayo@nhs.net", "B9904");
  const { browser } = await signInToCim(server, "oliver.bennett@nhs.net");
  const registered = await registerFromPages(server, browser, {
    environment: "production",
    redirectUris: "https://ward.example/callback",
    defaultAcr: "AAL3_ANY",
  });
  assert.equal(registered.status, 200, registered.html);
  assert.match(registered.html, /can sign nobody in until a service administrator/);
  const clientId = registered.clientId ?? "";
  const authorize = () =>
    fetch(
      `${server.issuer}/authorize?${new URLSearchParams({ client_id: clientId, response_type: "code", scope: "openid", redirect_uri: "https://ward.example/callback" })}`,
      { redirect: "manual" },
    );
  const unapproved = await authorize();
  assert.equal(unapproved.status, 400);
  assert.match(await unapproved.text(), /invalid_client/);

  // Four eyes: the person who registered it cannot approve it, though a service administrator.
  const list = await (await browser.get(`${server.origin}/cim/relying-parties`)).text();
  const own = await browser.post(`${server.origin}/cim/relying-parties/${clientId}/approve`, {
    _form: formToken(list),
  });
  assert.equal(own.status, 403);
  assert.match(await own.text(), /another service administrator must approve it/);
  assert.equal((await authorize()).status, 400, "still refused");

  const { browser: approver } = await signInToCim(server, "tunde.adebayo@nhs.net");
  const page = await (await approver.get(`${server.origin}/cim/relying-parties`)).text();
  assert.match(page, new RegExp(`awaiting-${clientId.replaceAll(".", "\\.")}`));
  const approved = await approver.post(`${server.origin}/cim/relying-parties/${clientId}/approve`, {
    _form: formToken(page),
  });
  assert.equal(approved.status, 303);
  const served = await authorize();
  assert.equal(served.status, 200, "the provider now knows the client and starts the sign-in");
  assert.match(await served.text(), /Sign in with your Care Identity/);
  const events = await server.store.db
    .selectFrom("audit_events")
    .select(["action", "actor_id"])
    .where("subject_id", "=", clientId)
    .orderBy("seq")
    .execute();
  assert.deepEqual(
    events.map((event) => event.action),
    ["client.registered", "client.approved"],
  );
});
