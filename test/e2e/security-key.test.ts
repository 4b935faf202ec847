import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { auditActions, enrolmentUrl, singlePositionPeople } from "../authenticators/enrolment.ts";
import { demoClientConfiguration } from "../cis2/journey.ts";
import { addSecurityKey, launchChromium } from "../support/chromium.ts";
import { startCis2Server } from "../support/cis2-server.ts";

const callback = "http://localhost:3001/callback";

test("a security key enrolled from a link signs in through the OIDC flow at AAL3; a cloned key is refused", async (t) => {
  const server = await startCis2Server(t, {}, "localhost");
  const configuration = await demoClientConfiguration(server);
  const [uuid] = (await singlePositionPeople(server.store.db, 1)) as [string];
  const { token } = await issueEnrolmentLink(server.store.db, operatorActor(), { uuid });
  const { context, page } = await launchChromium(t);
  await addSecurityKey(context, page);
  // The relying party's callback is answered in the browser: the test is the relying party.
  let returned: URL | undefined;
  await page.route(`${callback}**`, async (route) => {
    returned = new URL(route.request().url());
    await route.fulfill({ status: 200, contentType: "text/plain", body: "back at the relying party" });
  });

  await page.goto(enrolmentUrl(server, token));
  await page.getByRole("link", { name: "Security key" }).click();
  await page.getByRole("button", { name: "Register security key" }).click();
  await page.getByText("Your security key is registered").waitFor({ timeout: 15_000 });
  const credential = await server.store.db
    .selectFrom("webauthn_credentials")
    .selectAll()
    .where("uuid", "=", uuid)
    .executeTakeFirstOrThrow();
  assert.equal(credential.method, "FIDO2", "a single-device key is a FIDO2 authenticator");
  assert.equal(credential.device_type, "singleDevice");

  const signIn = async (acr: string) => {
    returned = undefined;
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: callback,
      scope: "openid profile",
      acr_values: acr,
      prompt: "login",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    await page.goto(url.href);
    await page.getByLabel("Care Identity UUID or email address").fill(uuid);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "Use your security key" }).waitFor();
    await page.getByRole("button", { name: "Use security key" }).click();
    return { verifier, state, nonce };
  };

  const first = await signIn("AAL3_ANY");
  await page.waitForURL(`${callback}**`, { timeout: 15_000 });
  assert.ok(returned, "the browser came back to the relying party");
  assert.equal(
    returned.searchParams.get("error"),
    null,
    String(returned.searchParams.get("error_description")),
  );
  const tokens = await client.authorizationCodeGrant(configuration, returned, {
    pkceCodeVerifier: first.verifier,
    expectedState: first.state,
    expectedNonce: first.nonce,
    idTokenExpected: true,
  });
  const idToken = tokens.claims();
  assert.equal(idToken?.sub, uuid);
  assert.equal(idToken?.acr, "AAL3_ANY");
  assert.deepEqual(idToken?.amr, ["FIDO2"]);
  assert.equal(idToken?.authentication_assurance_level, "3");
  const used = await server.store.db
    .selectFrom("webauthn_credentials")
    .select("counter")
    .where("credential_id", "=", credential.credential_id)
    .executeTakeFirstOrThrow();
  assert.ok(used.counter > credential.counter, "the signature counter moved on");

  // A genuine key that has counted past this one's next signature means this one is a copy.
  await server.store.db
    .updateTable("webauthn_credentials")
    .set({ counter: used.counter + 1000 })
    .where("credential_id", "=", credential.credential_id)
    .execute();
  await signIn("AAL3_FIDO2");
  await page.getByText("it may have been copied").first().waitFor({ timeout: 15_000 });
  assert.equal(returned, undefined, "no code reaches the relying party");
  const suspected = await auditActions(server.store.db, "webauthn.clone-suspected");
  assert.equal(suspected.length, 1);
  assert.equal(suspected[0]?.subject_id, uuid);
  assert.equal((await auditActions(server.store.db, "webauthn.registered")).length, 1);
});
