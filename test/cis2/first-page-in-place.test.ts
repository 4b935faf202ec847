import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "openid-client";
import { Browser } from "../support/browser.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { demoClientConfiguration, exchange, redirectUri, signIn } from "./journey.ts";

test("an authorization request that needs a sign-in is answered with the first page, which carries the journey on", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const browser = new Browser();
  const url = client.buildAuthorizationUrl(configuration, { redirect_uri: redirectUri, scope: "openid" });
  const answer = await browser.get(url.href);
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get("location"), null);
  assert.match(answer.headers.get("content-type") ?? "", /^text\/html/);
  const cookies = answer.headers.getSetCookie().map((cookie) => cookie.split("=")[0]);
  assert.ok(cookies.includes("_interaction") && cookies.includes("_interaction_resume"), cookies.join());
  const html = await answer.text();
  assert.match(html, /Sign in with your Care Identity/);
  const scriptNonce = /script-src[^;]*'nonce-([^']+)'/.exec(
    answer.headers.get("content-security-policy") ?? "",
  )?.[1];
  const pageNonces = [...html.matchAll(/nonce="([^"]+)"/g)].map((match) => match[1]);
  assert.ok(scriptNonce && pageNonces.length > 0 && pageNonces.every((nonce) => nonce === scriptNonce));

  // The interaction's own address shows the same step (a reload from a bookmark, the back button).
  const uid = /action="\/cis2\/signin\/([^/]+)\/identify"/.exec(html)?.[1];
  assert.ok(uid);
  const again = await browser.get(`${server.origin}/cis2/signin/${uid}`);
  assert.equal(again.status, 200);
  assert.match(await again.text(), new RegExp(`/cis2/signin/${uid}/identify`));

  // And the journey carries on from the page, to a code the relying party exchanges.
  const journey = await signIn(server, configuration, { identifier: "connor.byrne@nhs.net" });
  assert.ok((await exchange(configuration, journey)).claims()?.sub);
});

test("a request the provider refuses is answered at the relying party, as before", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const none = client.buildAuthorizationUrl(configuration, {
    redirect_uri: redirectUri,
    scope: "openid",
    prompt: "none",
  });
  const refused = await fetch(none, { redirect: "manual" });
  assert.equal(refused.status, 303);
  assert.equal(new URL(refused.headers.get("location") ?? "").searchParams.get("error"), "login_required");
});
