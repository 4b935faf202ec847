import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import Provider from "oidc-provider";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { signInPath } from "../../src/cis2/provider.ts";
import { enrolApp, enrolmentUrl, singlePositionPeople } from "../authenticators/enrolment.ts";
import { Browser, formAction } from "../support/browser.ts";
import { type Cis2Server, startCis2Server } from "../support/cis2-server.ts";
import { type SoftSecurityKey, softSecurityKey } from "../support/soft-security-key.ts";
import { identifyStep, redirectUri } from "./journey.ts";

/**
 * When a security key is the one way on, the identify step answers with the security-key page
 * itself (no redirect to it), saving who was identified and the page's challenge in one write.
 */

async function enrolKey(server: Cis2Server, key: SoftSecurityKey, uuid: string) {
  const { token } = await issueEnrolmentLink(server.store.db, operatorActor(), { uuid });
  const keyPage = enrolmentUrl(server, token, "security-key");
  const registered = await new Browser().post(keyPage, {
    response: key.register(await (await fetch(keyPage)).text(), server.origin),
  });
  assert.match(await registered.text(), /Your security key is registered/);
}

function challengeOn(html: string): string {
  const options = /data-webauthn-options="([^"]*)"/.exec(html)?.[1] ?? "";
  return (JSON.parse(options.replaceAll("&quot;", '"')) as { challenge: string }).challenge;
}

async function savedResult(server: Cis2Server, uid: string) {
  const row = await server.store.db
    .selectFrom("oidc_models")
    .select("payload")
    .where("kind", "=", "Interaction")
    .where("id", "=", uid)
    .executeTakeFirstOrThrow();
  const payload = (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as {
    result?: { identified?: { uuid?: string }; webauthnChallenge?: string };
  };
  return payload.result;
}

/** A page with what differs by journey (its uid, the identifier, the nonce, the challenge) taken out. */
function normalised(html: string, uid: string, identifier: string): string {
  return html
    .replaceAll(uid, "UID")
    .replaceAll(identifier, "IDENTIFIER")
    .replaceAll(/nonce="[^"]*"/g, 'nonce="NONCE"')
    .replaceAll(/&quot;challenge&quot;:&quot;[^&]*&quot;/g, "CHALLENGE");
}

test("the identify step answers with the security-key page, saved once with its challenge, which the key's answer must sign", async (t: TestContext) => {
  const key = await softSecurityKey();
  const server = await startCis2Server(t, key.environment);
  const [holder] = (await singlePositionPeople(server.store.db, 1)) as [string];
  await enrolKey(server, key, holder);

  const journey = await identifyStep(server, "AAL3_FIDO2");
  const saves = t.mock.method(Provider.prototype, "interactionResult");
  const answer = await journey.browser.post(journey.action, { identifier: holder });
  assert.equal(saves.mock.callCount(), 1, "who was identified and the challenge saved in one write");
  assert.equal(answer.status, 200, "the page itself, not a redirect to it");
  assert.equal(answer.headers.get("location"), null);
  const html = await answer.text();
  assert.match(html, /<h1 class="nhsuk-heading-l">Use your security key<\/h1>/);
  const keyStep = formAction(html, journey.action);
  assert.equal(keyStep, `${server.origin}${signInPath}/${journey.uid}/security-key`, "posts to its own step");
  const saved = await savedResult(server, journey.uid);
  assert.equal(saved?.identified?.uuid, holder);
  assert.equal(saved?.webauthnChallenge, challengeOn(html), "the page's challenge is the one kept");

  // A refresh sends the identifier again: a new challenge, and an answer to the old one fails.
  const again = await journey.browser.post(journey.action, { identifier: holder });
  assert.equal(again.status, 200);
  const fresh = await again.text();
  assert.notEqual(challengeOn(fresh), challengeOn(html));
  const stale = await journey.browser.post(keyStep, { response: key.assert(html, server.origin) });
  assert.equal(stale.status, 400);
  const shownAgain = await stale.text();
  assert.match(shownAgain, /Your security key could not be verified/);
  assert.equal(formAction(shownAgain, keyStep), keyStep, "the page shown again posts to the same step");

  // The page can be returned to; the answer to its latest challenge signs in.
  const returned = await journey.browser.get(keyStep);
  assert.equal(returned.status, 200);
  const latest = await returned.text();
  const signedIn = await journey.browser.follow(
    await journey.browser.post(keyStep, { response: key.assert(latest, server.origin) }),
    keyStep,
    server.origin,
    redirectUri,
  );
  assert.ok(new URL(signedIn.url).searchParams.get("code"), `a code for the relying party: ${signedIn.url}`);
});

test("the security-key page answers a person's UUID and email address alike, and an unknown identifier as a person holding an app", async (t) => {
  const key = await softSecurityKey();
  const server = await startCis2Server(t, key.environment);
  const [holder, appHolder] = (await singlePositionPeople(server.store.db, 2)) as [string, string];
  await enrolKey(server, key, holder);
  await enrolApp(server, appHolder);
  const { email } = await server.store.db
    .selectFrom("people")
    .select("email")
    .where("uuid", "=", holder)
    .executeTakeFirstOrThrow();

  const identified = async (identifier: string, acr: string) => {
    const journey = await identifyStep(server, acr);
    const answer = await journey.browser.post(journey.action, { identifier });
    const location = answer.headers.get("location") ?? "";
    return [
      answer.status,
      normalised(location, journey.uid, identifier),
      normalised(await answer.text(), journey.uid, identifier),
    ];
  };
  const byUuid = await identified(holder, "AAL3_FIDO2");
  assert.equal(byUuid[0], 200);
  assert.deepEqual(await identified(String(email), "AAL3_FIDO2"), byUuid);

  // An unknown identifier goes on as someone holding the authenticator app (methodsOfUnknown),
  // never a key: it is answered as such a person is, whatever class is asked for.
  for (const acr of ["AAL3_FIDO2", "AAL2_OR_AAL3_ANY"]) {
    const withoutKey = await identified(appHolder, acr);
    assert.notEqual(withoutKey[0], 200, `${acr}: no security-key page without a key`);
    assert.deepEqual(await identified("555999999995", acr), withoutKey, `${acr}: an unknown identifier`);
  }
});
