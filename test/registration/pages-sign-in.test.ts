import assert from "node:assert/strict";
import { test } from "node:test";
import { Browser, formAction } from "../support/browser.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { formToken, pageText, signInToCim } from "./cim-browser.ts";

test("CIM signs its users in through CIS2 and out through CIS2's end_session", async (t) => {
  const server = await startCis2Server(t);
  const { browser, home } = await signInToCim(server, "tunde.adebayo@nhs.net");
  assert.match(home, /Mr Tunde Adebayo|Tunde Adebayo/);
  assert.match(home, /RA agent/);
  assert.equal(
    await server.store.db
      .selectFrom("first_party_sessions")
      .select("uuid")
      .execute()
      .then((r) => r.length),
    1,
  );

  const signOutPage = await (await browser.get(`${server.origin}/cim/sign-out`)).text();
  const out = await browser.post(`${server.origin}/cim/sign-out`, { _form: formToken(signOutPage) });
  assert.equal(out.status, 303);
  const endSession = new URL(out.headers.get("location") ?? "");
  assert.equal(endSession.origin + endSession.pathname, `${server.issuer}/connect/endSession`);
  assert.equal(endSession.searchParams.get("post_logout_redirect_uri"), `${server.origin}/cim/signed-out`);
  assert.equal((await server.store.db.selectFrom("first_party_sessions").selectAll().execute()).length, 0);
  const after = await browser.get(`${server.origin}/cim/`);
  assert.equal(after.status, 303, "signed out: CIM sends the browser to sign in again");
  assert.match(after.headers.get("location") ?? "", /^\/cim\/sign-in/);
});

test("a CIM session ends after the idle time", async (t) => {
  const server = await startCis2Server(t, { CAREID_CIM_IDLE_MINUTES: "5" });
  const { browser } = await signInToCim(server, "tunde.adebayo@nhs.net");
  assert.equal((await browser.get(`${server.origin}/cim/profiles`)).status, 200);
  await server.store.db
    .updateTable("first_party_sessions")
    .set({ last_used_at: new Date(Date.now() - 6 * 60_000) })
    .execute();
  const idle = await browser.get(`${server.origin}/cim/profiles`);
  assert.equal(idle.status, 303);
  assert.equal(idle.headers.get("location"), `/cim/sign-in?next=${encodeURIComponent("/cim/profiles")}`);
  assert.equal((await server.store.db.selectFrom("first_party_sessions").selectAll().execute()).length, 0);
});

test("CIM asks CIS2 for AAL3 unless configured otherwise: the development password alone cannot sign in", async (t) => {
  const server = await startCis2Server(t, { CAREID_CIM_ACR: "AAL3_ANY" });
  const browser = new Browser();
  const start = await browser.get(`${server.origin}/cim/sign-in`);
  const authorize = new URL(start.headers.get("location") ?? "");
  assert.equal(authorize.searchParams.get("acr_values"), "AAL3_ANY");
  assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
  assert.equal(authorize.searchParams.get("client_id"), "care-identity-management");
  let { response, url } = await browser.follow(start, `${server.origin}/cim/sign-in`, server.origin);
  const identify = formAction(await response.text(), url);
  ({ response, url } = await browser.follow(
    await browser.post(identify, { identifier: "tunde.adebayo@nhs.net" }),
    identify,
    server.origin,
  ));
  // The person is told first, in words; the page's link takes the refusal back to CIM.
  assert.equal(response.status, 403);
  const back = /<a href="([^"]+)" id="return-to-service"/.exec(await response.text())?.[1];
  assert.ok(back, "the refusal page links back to the service");
  const backUrl = new URL(back.replaceAll("&amp;", "&"), url).toString();
  ({ response, url } = await browser.follow(await browser.get(backUrl), backUrl, server.origin));
  assert.ok(url.startsWith(`${server.origin}/cim/callback`), `CIS2 answers CIM with an error: ${url}`);
  assert.equal(response.status, 403);
  assert.match(await pageText(response), /<h1 class="nhsuk-heading-xl">You could not sign in<\/h1>/);
  assert.equal((await server.store.db.selectFrom("first_party_sessions").selectAll().execute()).length, 0);
});
