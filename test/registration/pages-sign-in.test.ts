import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../support/cis2-server.ts";
import { formToken, signInToCim } from "./cim-browser.ts";

test("CIM signs its users in through CIS2 and out through CIS2's end_session", async (t) => {
  const server = await startCis2Server(t);
  const { browser, home } = await signInToCim(server, "tunde.adebayo@nhs.net");
  assert.match(home, /Mr Tunde Adebayo|Tunde Adebayo/);
  assert.match(home, /RA agent/);
  assert.equal(
    await server.store.db
      .selectFrom("cim_sessions")
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
  assert.equal((await server.store.db.selectFrom("cim_sessions").selectAll().execute()).length, 0);
  const after = await browser.get(`${server.origin}/cim/`);
  assert.equal(after.status, 303, "signed out: CIM sends the browser to sign in again");
  assert.match(after.headers.get("location") ?? "", /^\/cim\/sign-in/);
});
