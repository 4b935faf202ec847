import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { generateKeyPair, importJWK, type JWTPayload, SignJWT } from "jose";
import { startPointOfCare } from "../../examples/point-of-care/app.ts";
import { scope } from "../../examples/point-of-care/cis2.ts";
import { operatorActor } from "../../src/audit/actor.ts";
import { addClient } from "../../src/cis2/clients.ts";
import { keySchedule } from "../../src/cis2/keys.ts";
import { clientValidator } from "../../src/cis2/start.ts";
import { demoPassword } from "../../src/seed/demo-sign-in.ts";
import { Browser, formAction } from "../support/browser.ts";
import { type Cis2Server, startCis2Server } from "../support/cis2-server.ts";

const clientId = "123456789012.apps.supplier";
const clientSecret = "point-of-care-test-secret-0123456789abcdef";
/** Both the provider and the example app listen on 127.0.0.1, so a browser may follow every hop. */
const anyLocalOrigin = "http://127.0.0.1:";

async function registerClient(server: Cis2Server, id: string, secret: string, appUrl: string) {
  await addClient(
    server.store.db,
    operatorActor(),
    server.cis2.sealer,
    {
      client_id: id,
      client_name: "Point of care (test)",
      client_secret: secret,
      token_endpoint_auth_method: "client_secret_post",
      redirect_uris: [`${appUrl}/callback`],
      post_logout_redirect_uris: [`${appUrl}/`],
      backchannel_logout_uri: `${appUrl}/backchannel-logout`,
      scope,
      default_acr_values: ["AAL1_USERPASS"],
    },
    clientValidator(server.cis2.host),
  );
}

/** Picks, on the role selection page, the radio whose label starts with `jobRole`. */
function roleNamed(jobRole: string) {
  return (html: string) => {
    for (const item of html.split('class="nhsuk-radios__item"').slice(1)) {
      const value = /value="([^"]+)"/.exec(item)?.[1];
      if (new RegExp(`<label[^>]*>\\s*${jobRole} at`).test(item)) return value;
    }
    throw new Error(`no role ${jobRole} offered`);
  };
}

/** Signs in as a browser would: the example's button, then CIS2's pages, back to the example. */
async function signIn(
  browser: Browser,
  server: Cis2Server,
  appUrl: string,
  identifier: string,
  chooseRole?: (html: string) => string | undefined,
) {
  const home = await (await browser.get(`${appUrl}/`)).text();
  assert.match(home, /href="\/login"[^>]*>Sign in with your Care Identity</);
  let { response, url } = await browser.follow(
    await browser.get(`${appUrl}/login`),
    `${appUrl}/login`,
    anyLocalOrigin,
  );
  for (let step = 0; step < 6 && response.status === 200 && url.startsWith(server.origin); step++) {
    const html = await response.text();
    const action = formAction(html, url);
    let form: Record<string, string>;
    if (action.endsWith("/identify")) form = { identifier };
    else if (action.endsWith("/password")) form = { password: demoPassword };
    else if (action.endsWith("/role")) form = { role: chooseRole?.(html) ?? "" };
    else throw new Error(`unexpected form ${action}`);
    ({ response, url } = await browser.follow(await browser.post(action, form), action, anyLocalOrigin));
  }
  assert.equal(url, `${appUrl}/`, "CIS2 sends the browser back to the example, which shows its home page");
  assert.equal(response.status, 200);
  return response.text();
}

/** CIS2's logout page confirms itself with a script; a browser without scripts presses its button. */
async function confirmLogout(browser: Browser, response: Response, url: string) {
  assert.equal(response.status, 200, "CIS2 asks to confirm the sign out");
  const html = await response.text();
  const action = /<form id="op\.logoutForm" method="post" action="([^"]+)"/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(action && xsrf, "the logout form");
  const target = new URL(action, url).href;
  return browser.follow(await browser.post(target, { xsrf, logout: "yes" }), target, anyLocalOrigin);
}

async function start(t: TestContext) {
  const server = await startCis2Server(t);
  const pointOfCare = await startPointOfCare({
    issuer: server.issuer,
    clientId,
    clientSecret,
    acrValues: "AAL1_USERPASS",
    maxAge: 300,
    port: 0,
    host: "127.0.0.1",
    cookieSecret: "a-cookie-secret-for-the-test-only",
    quiet: true,
  });
  t.after(() => pointOfCare.close());
  await registerClient(server, clientId, clientSecret, pointOfCare.url);
  return { server, pointOfCare, appUrl: pointOfCare.url };
}

test("the demo point-of-care app signs in with CIS2, shows the selected role, and logs out through end_session", async (t) => {
  const { server, pointOfCare, appUrl } = await start(t);
  const browser = new Browser();

  // Dr Priya Sharma holds two positions; she chooses the Consultant one.
  const page = await signIn(browser, server, appUrl, "priya.sharma@nhs.net", roleNamed("Consultant"));
  assert.match(page, /<h1[^>]*>Dr Priya Sharma<\/h1>/);
  assert.match(page, /Sharma Priya Dr/, "the SDS-style name as CIS2 sends it");
  assert.match(page, /555000000016/, "the Care Identity UUID");
  const selected = /<dl class="nhsuk-summary-list" id="selected-role">([\s\S]*?)<\/dl>/.exec(page)?.[1] ?? "";
  assert.match(selected, /<dd class="nhsuk-summary-list__value">Consultant<\/dd>/);
  assert.match(selected, /<dd class="nhsuk-summary-list__value">RZZ<\/dd>/);
  assert.match(
    page,
    /<ul class="nhsuk-list nhsuk-list--bullet" id="activities">\s*<li>[^<]+\(B\d{4}\)<\/li>/,
  );
  const others = /<table class="nhsuk-table" id="other-roles">([\s\S]*?)<\/table>/.exec(page)?.[1] ?? "";
  assert.match(others, /Caldicott Guardian/);
  assert.doesNotMatch(others, />Consultant</);
  assert.equal(pointOfCare.sessions.size, 1);

  // Sign out: the example ends its session and sends the browser to CIS2's end_session.
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
  const logout = formAction(page, `${appUrl}/`);
  assert.equal(logout, `${appUrl}/logout`);
  const toCis2 = await browser.post(logout, { csrf });
  assert.equal(toCis2.status, 303);
  const endSession = new URL(toCis2.headers.get("location") ?? "");
  assert.equal(endSession.origin + endSession.pathname, `${server.issuer}/connect/endSession`);
  assert.ok(endSession.searchParams.get("id_token_hint"));
  assert.equal(endSession.searchParams.get("post_logout_redirect_uri"), `${appUrl}/`);
  assert.equal(pointOfCare.sessions.size, 0, "the example's session ended");
  const atCis2 = await browser.follow(toCis2, logout, anyLocalOrigin);
  const ended = await confirmLogout(browser, atCis2.response, atCis2.url);
  assert.equal(ended.url, `${appUrl}/`, "CIS2 sends the browser back to post_logout_redirect_uri");
  const signedOut = await ended.response.text();
  assert.match(signedOut, /Sign in with your Care Identity/);
  assert.doesNotMatch(signedOut, /Priya/);
  // The CIS2 session is gone too: signing in again starts at CIS2's sign-in page.
  const again = await browser.follow(await browser.get(`${appUrl}/login`), `${appUrl}/login`, anyLocalOrigin);
  assert.ok(formAction(await again.response.text(), again.url).endsWith("/identify"));
});

test("the demo point-of-care app refuses forged back-channel logout tokens and honours CIS2's", async (t) => {
  const { server, pointOfCare, appUrl } = await start(t);
  const browser = new Browser();
  await signIn(browser, server, appUrl, "margaret.oconnell@nhs.net");
  assert.equal(pointOfCare.sessions.size, 1);
  const sub = "555000000010";

  const [cis2Jwk] = (await keySchedule(server.store.db, server.cis2.sealer)).jwks;
  assert.ok(cis2Jwk?.kid);
  const cis2Key = await importJWK(cis2Jwk, "RS256");
  const { privateKey: strangerKey } = await generateKeyPair("RS256");
  const logoutToken = (claims: JWTPayload = {}, key = cis2Key, kid = cis2Jwk.kid) =>
    new SignJWT({
      iss: server.issuer,
      aud: clientId,
      sub,
      iat: Math.floor(Date.now() / 1000),
      jti: crypto.randomUUID(),
      events: { "http://schemas.openid.net/event/backchannel-logout": {} },
      ...claims,
    })
      .setProtectedHeader({ alg: "RS256", kid, typ: "logout+jwt" })
      .sign(key);
  const post = (body: Record<string, string>) =>
    fetch(`${appUrl}/backchannel-logout`, { method: "POST", body: new URLSearchParams(body) });

  const refused: [string, Promise<string> | string][] = [
    ["signed by another key", logoutToken({}, strangerKey, "stranger")],
    ["signed by another key under CIS2's kid", logoutToken({}, strangerKey)],
    ["addressed to another client", logoutToken({ aud: "210987654321.apps.supplier" })],
    ["from another issuer", logoutToken({ iss: "https://attacker.example/" })],
    ["with a nonce", logoutToken({ nonce: "n-0S6_WzA2Mj" })],
    ["without the logout event", logoutToken({ events: { "http://example.com/other": {} } })],
    ["issued ten minutes ago", logoutToken({ iat: Math.floor(Date.now() / 1000) - 600 })],
    ["naming neither sub nor sid", logoutToken({ sub: undefined })],
    ["not a JWT", "not-a-jwt"],
  ];
  for (const [why, token] of refused) {
    const response = await post({ logout_token: await token });
    assert.equal(response.status, 400, `a logout token ${why} is refused`);
    assert.equal(((await response.json()) as { error: string }).error, "invalid_request");
  }
  assert.equal((await post({})).status, 400, "no logout_token");
  assert.equal(pointOfCare.sessions.size, 1, "no refused token ended the session");
  assert.match(await (await browser.get(`${appUrl}/`)).text(), /Margaret O&#39;Connell/);

  const genuine = await logoutToken();
  assert.equal((await post({ logout_token: genuine })).status, 200);
  assert.equal(pointOfCare.sessions.size, 0, "CIS2's logout token ended the session");
  const after = await (await browser.get(`${appUrl}/`)).text();
  assert.match(after, /You are signed out/);
  assert.match(after, /Sign in with your Care Identity/);
  assert.equal((await post({ logout_token: genuine })).status, 400, "a replayed token is refused");
});

test("signing out at CIS2 alone ends the demo app's session through back-channel logout", async (t) => {
  const { server, pointOfCare, appUrl } = await start(t);
  const browser = new Browser();
  await signIn(browser, server, appUrl, "margaret.oconnell@nhs.net");
  assert.equal(pointOfCare.sessions.size, 1);
  // As if the user signed out of another service: CIS2's end_session, with no client named.
  const url = `${server.issuer}/connect/endSession`;
  await confirmLogout(browser, await browser.get(url), url);
  assert.equal(pointOfCare.sessions.size, 0, "back-channel logout ended the example's session");
  const after = await (await browser.get(`${appUrl}/`)).text();
  assert.match(after, /You are signed out/);
  assert.match(after, /Sign in with your Care Identity/);
});
