import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "openid-client";
import { demoClientId, demoClientSecret } from "../../src/seed/demo-sign-in.ts";
import { Browser, interactionAddress } from "../support/browser.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { demoClientConfiguration, exchange, redirectUri, signIn } from "./journey.ts";

const rn = "margaret.oconnell@nhs.net";

function authorizeUrl(issuer: string, params: Record<string, string>): string {
  return `${issuer}/authorize?${new URLSearchParams({
    client_id: demoClientId,
    response_type: "code",
    scope: "openid",
    redirect_uri: redirectUri,
    state: "s1",
    ...params,
  })}`;
}

test("an unregistered redirect URI gets an error page, never a redirect", async (t) => {
  const server = await startCis2Server(t);
  const response = await new Browser().get(
    authorizeUrl(server.issuer, { redirect_uri: "https://evil.example/steal" }),
  );
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("location"), null);
  const html = await response.text();
  assert.match(html, /redirect_uri did not match any of the client&#39;s registered redirect_uris/);
  assert.match(html, /nhsuk-header/);
});

test("malformed acr_values are refused with invalid_request at the client's redirect URI", async (t) => {
  const server = await startCis2Server(t);
  const browser = new Browser();
  const start = authorizeUrl(server.issuer, { acr_values: "AAL9_NONSENSE" });
  const { url } = await browser.follow(await browser.get(start), start, server.origin);
  const callback = new URL(url);
  assert.equal(callback.origin + callback.pathname, redirectUri);
  assert.equal(callback.searchParams.get("error"), "invalid_request");
  assert.match(String(callback.searchParams.get("error_description")), /AAL9_NONSENSE/);
  assert.equal(callback.searchParams.get("state"), "s1");
});

test("an assurance class the user cannot meet ends in access_denied, not a hang", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const journey = await signIn(server, configuration, { identifier: rn, acr: "AAL3_ANY" });
  assert.equal(journey.callback.searchParams.get("error"), "access_denied");
  // The person read what to do before going back; the service heard the OAuth error all the same.
  assert.match(String(journey.refusalPage), /You need a stronger way to sign in to this service/);
  assert.match(String(journey.refusalPage), /Security key or Windows Hello/);
  assert.doesNotMatch(String(journey.refusalPage), /authentication assurance cannot be met/);
  const events = await server.store.db
    .selectFrom("audit_events")
    .select("action")
    .where("action", "=", "cis2.sign-in-refused")
    .execute();
  assert.equal(events.length, 1);
});

test("unknown scopes are ignored", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const journey = await signIn(server, configuration, {
    identifier: rn,
    acr: "AAL1_USERPASS",
    scope: "openid profile made-up-scope",
  });
  const tokens = await exchange(configuration, journey);
  assert.equal(tokens.scope?.includes("made-up-scope"), false);
});

test("a wrong password is refused on the page and nothing is granted", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  await assert.rejects(
    signIn(server, configuration, { identifier: rn, acr: "AAL1_USERPASS", password: "wrong-password-123" }),
    /unexpected form|journey ends/,
  );
});

test("a reused authorization code is refused and the tokens it produced are revoked", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const journey = await signIn(server, configuration, { identifier: rn, acr: "AAL1_USERPASS" });
  const tokens = await exchange(configuration, journey);
  await assert.rejects(exchange(configuration, journey), (error: client.ResponseBodyError) => {
    assert.equal(error.error, "invalid_grant");
    return true;
  });
  const userinfo = await fetch(configuration.serverMetadata().userinfo_endpoint as string, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  assert.equal(userinfo.status, 401);
  assert.match(String(userinfo.headers.get("www-authenticate")), /invalid_token/);
});

test("a PKCE verifier that does not match is refused", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const journey = await signIn(server, configuration, { identifier: rn, acr: "AAL1_USERPASS" });
  await assert.rejects(
    exchange(configuration, { ...journey, verifier: client.randomPKCECodeVerifier() }),
    (error: client.ResponseBodyError) => {
      assert.equal(error.error, "invalid_grant");
      return true;
    },
  );
});

test("a wrong client secret is invalid_client", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const journey = await signIn(server, configuration, { identifier: rn, acr: "AAL1_USERPASS" });
  const wrong = await demoClientConfiguration(server, client.ClientSecretPost(`${demoClientSecret}-not`));
  await assert.rejects(exchange(wrong, journey), (error: client.ResponseBodyError) => {
    assert.equal(error.error, "invalid_client");
    return true;
  });
});

test("a tampered interaction cookie leaves no half-made session", async (t) => {
  const server = await startCis2Server(t);
  const browser = new Browser();
  const start = authorizeUrl(server.issuer, { acr_values: "AAL1_USERPASS", nonce: "n" });
  const first = await browser.follow(await browser.get(start), start, server.origin);
  const url = interactionAddress(await first.response.text(), first.url);
  browser.clear("_interaction");
  const response = await browser.post(`${url}/identify`, { identifier: rn });
  assert.equal(response.status, 400);
  const html = await response.text();
  assert.equal((html.match(/<h1/g) ?? []).length, 1, "one heading");
  assert.match(html, /<h1 class="nhsuk-heading-xl">This sign-in has expired<\/h1>/);
  assert.doesNotMatch(html, /nhsuk-error-summary/, "no second heading in an error summary");
  assert.match(html, /This sign-in has expired or was started in another window/);
  const sessions = await server.store.db
    .selectFrom("oidc_models")
    .select("id")
    .where("kind", "=", "Session")
    .execute();
  assert.equal(sessions.length, 0);
});

/** What a bad request must get back at an OIDC endpoint, in OAuth's own conventions. */
type Expected =
  | { redirect: string }
  | { page: number; error: string }
  | { json: number; error: string }
  | { json: 200; body: Record<string, unknown> }
  /** RFC 7009: revoking what is not a token is a success with nothing to say. */
  | { empty: 200 };

test("a NUL byte or a huge number in any OIDC parameter is an OAuth error, never a 500", async (t) => {
  const server = await startCis2Server(t);
  const form = "application/x-www-form-urlencoded";
  const client = { client_id: demoClientId, client_secret: demoClientSecret };
  const authorize = (params: Record<string, string>) =>
    authorizeUrl(server.issuer, { nonce: "n", ...params });
  const cases: [string, { url: string; body?: Record<string, string> }, Expected][] = [
    [
      "authorize client_id",
      { url: authorize({ client_id: "999\0" }) },
      { page: 400, error: "invalid_client" },
    ],
    [
      "authorize redirect_uri",
      { url: authorize({ redirect_uri: `${redirectUri}\0` }) },
      { page: 400, error: "invalid_redirect_uri" },
    ],
    ["authorize state", { url: authorize({ state: "s\0" }) }, { redirect: "invalid_request" }],
    ["authorize nonce", { url: authorize({ nonce: "\0" }) }, { redirect: "invalid_request" }],
    ["authorize login_hint", { url: authorize({ login_hint: "\0" }) }, { redirect: "invalid_request" }],
    ["authorize scope", { url: authorize({ scope: "openid\0" }) }, { redirect: "invalid_scope" }],
    [
      "authorize max_age",
      { url: authorize({ max_age: "99999999999999999999" }) },
      { redirect: "invalid_request" },
    ],
    [
      "token code",
      {
        url: `${server.issuer}/access_token`,
        body: { ...client, grant_type: "authorization_code", code: "\0", redirect_uri: redirectUri },
      },
      { json: 400, error: "invalid_grant" },
    ],
    [
      "token client_id",
      {
        url: `${server.issuer}/access_token`,
        body: { ...client, client_id: `${demoClientId}\0`, grant_type: "authorization_code", code: "c" },
      },
      { json: 401, error: "invalid_client" },
    ],
    [
      "token refresh_token",
      {
        url: `${server.issuer}/access_token`,
        body: { ...client, grant_type: "refresh_token", refresh_token: "\0" },
      },
      { json: 400, error: "invalid_grant" },
    ],
    [
      "introspection token",
      { url: `${server.issuer}/introspect`, body: { ...client, token: "\0" } },
      { json: 200, body: { active: false } },
    ],
    [
      "revocation token",
      { url: `${server.issuer}/token/revoke`, body: { ...client, token: "\0" } },
      { empty: 200 },
    ],
    [
      "userinfo access_token",
      { url: `${server.issuer}/userinfo`, body: { access_token: "\0" } },
      { json: 401, error: "invalid_token" },
    ],
    [
      "end session client_id",
      { url: `${server.issuer}/connect/endSession?client_id=%00` },
      { json: 400, error: "invalid_client" },
    ],
    [
      "end session state",
      { url: `${server.issuer}/connect/endSession?client_id=${demoClientId}&state=%00` },
      { json: 400, error: "invalid_request" },
    ],
  ];
  for (const [name, request, expected] of cases) {
    const html = "page" in expected || "redirect" in expected;
    const response = await fetch(request.url, {
      method: request.body ? "POST" : "GET",
      headers: {
        accept: html ? "text/html" : "application/json",
        ...(request.body ? { "content-type": form } : {}),
      },
      body: request.body && new URLSearchParams(request.body),
      redirect: "manual",
    });
    const text = await response.text();
    if ("redirect" in expected) {
      assert.equal(response.status, 303, `${name}: ${text}`);
      const location = new URL(String(response.headers.get("location")));
      assert.equal(location.origin + location.pathname, redirectUri, name);
      assert.equal(location.searchParams.get("error"), expected.redirect, name);
    } else if ("page" in expected) {
      assert.equal(response.status, expected.page, `${name}: ${text}`);
      assert.equal(response.headers.get("location"), null, name);
      assert.match(text, /nhsuk-header/, name);
      assert.match(text, new RegExp(`\\(${expected.error}\\)`), name);
    } else if ("empty" in expected) {
      assert.equal(response.status, expected.empty, name);
      assert.equal(text, "", name);
    } else {
      assert.equal(response.status, expected.json, `${name}: ${text}`);
      assert.match(String(response.headers.get("content-type")), /^application\/json/, name);
      const body = JSON.parse(text);
      if ("error" in expected) assert.equal(body.error, expected.error, name);
      else assert.deepEqual(body, expected.body, name);
    }
  }
});

test("the sign-in pages refuse a NUL byte with the NHS error summary", async (t) => {
  const server = await startCis2Server(t);
  const browser = new Browser();
  const start = authorizeUrl(server.issuer, { acr_values: "AAL1_USERPASS", nonce: "n" });
  const first = await browser.follow(await browser.get(start), start, server.origin);
  const url = interactionAddress(await first.response.text(), first.url);
  for (const response of [
    await browser.post(`${url}/identify`, { identifier: "margaret\0@nhs.net" }),
    await fetch(`${server.origin}/cis2/signin/%00`, { headers: { accept: "text/html" } }),
  ]) {
    assert.equal(response.status, 400);
    const html = await response.text();
    assert.match(html, /nhsuk-error-summary/);
    assert.match(html, /must not contain a NUL byte/);
  }
});
