import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { setUpstreamLinkStatus } from "../../src/authenticators/federation/links.ts";
import { removeOwnAuthenticator } from "../../src/authenticators/own-authenticators.ts";
import { closeProfile } from "../../src/registration/closure.ts";
import { auditActions, singlePositionPeople } from "../authenticators/enrolment.ts";
import { demoClientConfiguration, redirectUri } from "../cis2/journey.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { federatedSignIn, linkByEnrolment } from "./journey.ts";
import { startUpstream, type Upstream } from "./upstream.ts";

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
  const ok = await federatedSignIn(server, configuration, {
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
  assert.equal((authenticated?.after as { method?: string } | undefined)?.method, "NHSMAIL");

  // Straight to NHS.net Connect without identifying first: the upstream account says who.
  const direct = await federatedSignIn(server, configuration, {
    acr: "AAL2_NHSMAIL",
    email: "alice.smith@nhs.net",
  });
  assert.ok(direct.url.startsWith(redirectUri) && new URL(direct.url).searchParams.has("code"));

  // AAL3 required: NHS.net Connect is not offered and the relying party hears access_denied.
  const aal3 = await federatedSignIn(server, configuration, {
    acr: "AAL3_ANY",
    email: "alice.smith@nhs.net",
    identifier: alice,
  });
  assert.equal(new URL(aal3.url).searchParams.get("error"), "access_denied");
  const aal3Direct = await federatedSignIn(server, configuration, {
    acr: "AAL3_ANY",
    email: "alice.smith@nhs.net",
  });
  assert.match(await refusal(aal3Direct.response), /needs a stronger authenticator/);

  // An unlinked upstream account ends on a clear page, and makes no identity.
  const people = await db.selectFrom("people").select(db.fn.countAll().as("count")).executeTakeFirstOrThrow();
  const unlinked = await federatedSignIn(server, configuration, {
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
    const bad = await federatedSignIn(server, configuration, {
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
  const disabled = await federatedSignIn(server, configuration, {
    acr: "AAL2_NHSMAIL",
    email: "alice.smith@nhs.net",
  });
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
  const closed = await federatedSignIn(server, configuration, {
    acr: "AAL2_NHSMAIL",
    email: "alice.smith@nhs.net",
  });
  assert.match(await refusal(closed.response), /not linked to a Care Identity/);
});
