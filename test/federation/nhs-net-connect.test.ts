import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { setUpstreamLinkStatus } from "../../src/authenticators/federation/links.ts";
import { removeOwnAuthenticator } from "../../src/authenticators/own-authenticators.ts";
import { signInPath } from "../../src/cis2/provider.ts";
import { closeProfile } from "../../src/registration/closure.ts";
import { auditActions, enrolApp, singlePositionPeople } from "../authenticators/enrolment.ts";
import { demoClientConfiguration, redirectUri } from "../cis2/journey.ts";
import { Browser, formAction } from "../support/browser.ts";
import { type Cis2Server, startCis2Server } from "../support/cis2-server.ts";
import { startUpstream, type Upstream } from "./upstream.ts";

const local = "http://127.0.0.1";

/** Follows redirects across the service and the upstream, answering the upstream's sign-in form. */
async function through(browser: Browser, start: string, email: string, stopAt = redirectUri) {
  let { response, url } = await browser.follow(await browser.get(start), start, local, stopAt);
  for (let pages = 0; pages < 4 && response.status === 200 && url.includes("/interaction/"); pages++) {
    const action = formAction(await response.text(), url);
    ({ response, url } = await browser.follow(
      await browser.post(action, { login: email }),
      action,
      local,
      stopAt,
    ));
  }
  return { response, url };
}

/** An enrolment link opened, and the upstream account signed in with from it. */
async function linkByEnrolment(server: Cis2Server, uuid: string, email: string) {
  const { token } = await issueEnrolmentLink(server.store.db, operatorActor(), { uuid });
  return through(new Browser(), `${server.origin}/authenticators/enrol/${token}/nhs-net-connect`, email);
}

/** A relying party's sign-in: identify as `identifier` (or go straight to NHS.net Connect), then upstream. */
async function signIn(
  server: Cis2Server,
  configuration: client.Configuration,
  options: { acr: string; email: string; identifier?: string },
) {
  const browser = new Browser();
  const checks = {
    verifier: client.randomPKCECodeVerifier(),
    state: client.randomState(),
    nonce: client.randomNonce(),
  };
  const start = client.buildAuthorizationUrl(configuration, {
    redirect_uri: redirectUri,
    scope: "openid profile",
    acr_values: options.acr,
    code_challenge: await client.calculatePKCECodeChallenge(checks.verifier),
    code_challenge_method: "S256",
    state: checks.state,
    nonce: checks.nonce,
  }).href;
  const identify = await browser.follow(await browser.get(start), start, server.origin);
  const signInPage = identify.url.replace(/\/$/, "");
  assert.match(signInPage, new RegExp(`${signInPath}/[^/]+$`));
  const next = options.identifier
    ? (
        await browser.follow(
          await browser.post(`${signInPage}/identify`, { identifier: options.identifier }),
          `${signInPage}/identify`,
          server.origin,
          redirectUri,
        )
      ).url
    : `${signInPage}/nhs-net-connect`;
  if (next.startsWith(redirectUri)) return { ...checks, url: next, response: undefined, browser };
  const { response, url } = await through(browser, next, options.email);
  return { ...checks, url, response, browser };
}

async function refusal(response: Response | undefined) {
  assert.ok(response);
  assert.equal(response.status, 403);
  return /data-refusal>([^<]+)</.exec(await response.text())?.[1]?.replaceAll("&#39;", "'") ?? "";
}

test("NHS.net Connect: linking from an RA link, signing in at AAL2 with amr NHSMAIL, refusal at AAL3, and every bad upstream answer refused", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const upstream: Upstream = await startUpstream(t, server);
  const configuration = await demoClientConfiguration(server);
  const [alice, bob, carol] = (await singlePositionPeople(db, 3)) as [string, string, string];

  // Linking from an RA's enrolment link: an address outside the allowed domains is refused first.
  const outside = await linkByEnrolment(server, alice, "alice@example.com");
  assert.match(await refusal(outside.response), /email address is not one NHS.net Connect accepts/);
  const linked = await linkByEnrolment(server, alice, "alice.smith@nhs.net");
  assert.equal(linked.response.status, 200);
  assert.match(await linked.response.text(), /Your NHS.net Connect account is linked/);
  const [link] = await auditActions(db, "federation.linked");
  assert.equal(link?.subject_id, alice);
  const stored = await db
    .selectFrom("upstream_links")
    .selectAll()
    .where("uuid", "=", alice)
    .executeTakeFirstOrThrow();
  assert.match(stored.subject, /^[0-9a-f]{8}-/, "linked by Entra's oid");
  // The same upstream account cannot be linked to someone else.
  const twice = await linkByEnrolment(server, bob, "alice.smith@nhs.net");
  assert.match(await refusal(twice.response), /already linked to another Care Identity/);

  // Signing in: AAL2 accepted, amr NHSMAIL, through the one completion function.
  const ok = await signIn(server, configuration, {
    acr: "AAL2_OR_AAL3_ANY",
    email: "alice.smith@nhs.net",
    identifier: alice,
  });
  assert.ok(ok.url.startsWith(redirectUri), `back at the relying party, not ${ok.url}`);
  const tokens = await client.authorizationCodeGrant(configuration, new URL(ok.url), {
    pkceCodeVerifier: ok.verifier,
    expectedState: ok.state,
    expectedNonce: ok.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  assert.equal(claims?.sub, alice);
  assert.deepEqual(claims?.amr, ["NHSMAIL"]);
  assert.equal(claims?.acr, "AAL2_OR_AAL3_ANY");
  assert.equal(claims?.authentication_assurance_level, "2");
  const [authenticated] = (await auditActions(db, "cis2.authenticated")).slice(-1);
  assert.deepEqual((authenticated?.after as { method: string; aal: number }).method, "NHSMAIL");

  // Straight to NHS.net Connect without identifying first: the upstream account says who.
  const direct = await signIn(server, configuration, { acr: "AAL2_NHSMAIL", email: "alice.smith@nhs.net" });
  assert.ok(direct.url.startsWith(redirectUri) && new URL(direct.url).searchParams.has("code"));

  // AAL3 required: NHS.net Connect is not offered and the relying party hears access_denied.
  const aal3 = await signIn(server, configuration, {
    acr: "AAL3_ANY",
    email: "alice.smith@nhs.net",
    identifier: alice,
  });
  assert.equal(new URL(aal3.url).searchParams.get("error"), "access_denied");
  const aal3Direct = await signIn(server, configuration, { acr: "AAL3_ANY", email: "alice.smith@nhs.net" });
  assert.match(await refusal(aal3Direct.response), /needs a stronger authenticator/);

  // An unlinked upstream account ends on a clear page, and makes no identity.
  const people = await db.selectFrom("people").select(db.fn.countAll().as("count")).executeTakeFirstOrThrow();
  const unlinked = await signIn(server, configuration, {
    acr: "AAL2_OR_AAL3_ANY",
    email: "stranger@nhs.net",
    identifier: alice,
  });
  assert.match(await refusal(unlinked.response), /not linked to a Care Identity/);
  assert.deepEqual(
    await db.selectFrom("people").select(db.fn.countAll().as("count")).executeTakeFirstOrThrow(),
    people,
  );

  // ID tokens with a good signature but a wrong aud, iss or nonce, or expired: refused.
  const now = Math.floor(Date.now() / 1000);
  for (const claims of [
    { aud: "someone-elses-client" },
    { iss: `${upstream.origin}/another-tenant/v2.0` },
    { nonce: "a-nonce-from-another-sign-in" },
    { iat: now - 7200, exp: now - 3600 },
  ]) {
    await upstream.tamper(claims);
    const bad = await signIn(server, configuration, {
      acr: "AAL2_OR_AAL3_ANY",
      email: "alice.smith@nhs.net",
      identifier: alice,
    });
    assert.match(await refusal(bad.response), /could not be checked/, JSON.stringify(claims));
  }
  const refused = await auditActions(db, "federation.upstream-refused");
  assert.deepEqual(
    refused.map((event) => (event.after as { reason: string }).reason),
    ["domain-not-allowed", "invalid-id-token", "invalid-id-token", "invalid-id-token", "invalid-id-token"],
  );
  assert.doesNotMatch(JSON.stringify(refused), /an-upstream-client-secret/, "no secret in the audit log");

  // A link an RA turned off signs no one in.
  await setUpstreamLinkStatus(db, operatorActor(), {
    uuid: alice,
    providerId: "nhsmail",
    status: "disabled",
    reason: "test",
  });
  const disabled = await signIn(server, configuration, { acr: "AAL2_NHSMAIL", email: "alice.smith@nhs.net" });
  assert.match(await refusal(disabled.response), /has been turned off/);
  await setUpstreamLinkStatus(db, operatorActor(), {
    uuid: alice,
    providerId: "nhsmail",
    status: "active",
    reason: "test",
  });

  // Unlinking by the person (from "your authenticators"): the account no longer signs in.
  await linkByEnrolment(server, carol, "carol@nhs.net");
  const { token } = await issueEnrolmentLink(db, operatorActor(), { uuid: carol });
  void token;
  await removeOwnAuthenticator(
    db,
    { kind: "person", id: carol, source: "ACCOUNT" },
    { uuid: carol, id: "nhs-net-connect:nhsmail" },
  ).catch((error: Error) => assert.match(error.message, /only way to sign in/));

  // A closed profile: its links go with its other authenticators; the account signs no one in.
  await closeProfile(db, operatorActor(), { uuid: alice, reason: "Left the trust" });
  const closed = await signIn(server, configuration, { acr: "AAL2_NHSMAIL", email: "alice.smith@nhs.net" });
  assert.match(await refusal(closed.response), /not linked to a Care Identity/);
});
