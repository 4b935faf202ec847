import assert from "node:assert/strict";
import { test } from "node:test";
import { demoClientId } from "../../src/seed/demo-sign-in.ts";
import { signInToCim } from "../registration/cim-browser.ts";
import { Browser } from "../support/browser.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { redirectUri } from "./journey.ts";

const hsts = "max-age=31536000; includeSubDomains";

function cookieNamesAndSecurity(browser: Browser): Map<string, boolean> {
  const cookies = new Map<string, boolean>();
  for (const answer of browser.answers)
    for (const header of answer.headers.getSetCookie()) {
      const name = header.slice(0, header.indexOf("="));
      const secure = header
        .split(";")
        .slice(1)
        .some((attribute) => attribute.trim().toLowerCase() === "secure");
      cookies.set(name, (cookies.get(name) ?? true) && secure);
    }
  return cookies;
}

test("with an https issuer every answer carries HSTS and every cookie is Secure", async (t) => {
  const server = await startCis2Server(t, {}, "127.0.0.1", { scheme: "https" });
  assert.match(server.issuer, /^https:/);
  const browser = new Browser({ tlsEndsAt: server.origin });
  await signInToCim(server, "tunde.adebayo@nhs.net", browser);
  const mine = `${server.origin}/authenticators/mine`;
  await browser.follow(await browser.get(mine), mine, server.origin);
  await browser.get(`${server.origin}/cim/sign-out`);
  const cookies = cookieNamesAndSecurity(browser);
  for (const name of [
    "_interaction",
    "_interaction.sig",
    "_interaction_resume",
    "_session",
    "_session.sig",
    "cim_signin",
    "cim_session",
    "careid_account_sign_in",
  ])
    assert.equal(cookies.get(name), true, `${name} is set, and Secure every time`);
  assert.deepEqual(
    [...cookies].filter(([, secure]) => !secure),
    [],
    "no cookie without Secure",
  );
  for (const answer of browser.answers)
    assert.equal(answer.headers.get("strict-transport-security"), hsts, answer.url);
});

test("behind a trusted proxy, requests that came over https get HSTS and Secure provider cookies", async (t) => {
  const server = await startCis2Server(t, { CAREID_TRUST_PROXY: "true" });
  const authorize = `${server.issuer}/authorize?${new URLSearchParams({
    client_id: demoClientId,
    response_type: "code",
    scope: "openid",
    redirect_uri: redirectUri,
    state: "s",
  })}`;
  const overTls = await fetch(authorize, { redirect: "manual", headers: { "x-forwarded-proto": "https" } });
  assert.equal(overTls.status, 200, "the sign-in's first page, with the interaction's cookies");
  assert.equal(overTls.headers.get("strict-transport-security"), hsts);
  const cookies = overTls.headers.getSetCookie();
  assert.ok(cookies.some((cookie) => cookie.startsWith("_interaction=")));
  for (const cookie of cookies) assert.match(cookie, /; secure/i, cookie);

  // The same request over plain HTTP (a development set-up): no HSTS, and cookies a browser keeps.
  const plain = await fetch(authorize, { redirect: "manual" });
  assert.equal(plain.headers.get("strict-transport-security"), null);
  for (const cookie of plain.headers.getSetCookie()) assert.doesNotMatch(cookie, /; secure/i, cookie);
});
