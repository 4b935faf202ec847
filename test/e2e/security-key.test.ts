import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { addClient } from "../../src/cis2/clients.ts";
import { clientValidator } from "../../src/cis2/start.ts";
import { demoClient } from "../../src/seed/demo-sign-in.ts";
import { auditActions, enrolmentUrl, singlePositionPeople } from "../authenticators/enrolment.ts";
import { demoClientConfiguration } from "../cis2/journey.ts";
import { addSecurityKey, launchChromium } from "../support/chromium.ts";
import { startCis2Server } from "../support/cis2-server.ts";

/**
 * The relying party's callback: a real server on a free port, registered as a client's redirect
 * URI, so the browser's arrival does not depend on intercepting a redirect.
 */
async function relyingPartyCallback(t: TestContext) {
  let returned: URL | undefined;
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", `http://${request.headers.host}`);
    // Only the callback counts: the browser also asks this origin for its favicon.
    if (url.pathname === "/callback") returned = url;
    response.writeHead(200, { "content-type": "text/plain" }).end("back at the relying party");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`,
    returned: () => returned,
    reset: () => {
      returned = undefined;
    },
  };
}

test("a security key enrolled from a link signs in through the OIDC flow at AAL3; a cloned key is refused", async (t) => {
  const server = await startCis2Server(t, {}, "localhost");
  const callbackServer = await relyingPartyCallback(t);
  const callback = callbackServer.url;
  const clientId = "777777777777.apps.national";
  await addClient(
    server.store.db,
    operatorActor(),
    server.cis2.sealer,
    { ...demoClient(), client_id: clientId, redirect_uris: [callback], backchannel_logout_uri: undefined },
    clientValidator(server.cis2.host),
  );
  const configuration = await demoClientConfiguration(server, undefined, clientId);
  const [uuid] = (await singlePositionPeople(server.store.db, 1)) as [string];
  const { token } = await issueEnrolmentLink(server.store.db, operatorActor(), { uuid });
  const { context, page } = await launchChromium(t);
  await addSecurityKey(context, page);

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
    callbackServer.reset();
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
  const returned = callbackServer.returned();
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
  assert.equal(callbackServer.returned(), undefined, "no code reaches the relying party");
  const suspected = await auditActions(server.store.db, "webauthn.clone-suspected");
  assert.equal(suspected.length, 1);
  assert.equal(suspected[0]?.subject_id, uuid);
  assert.equal((await auditActions(server.store.db, "webauthn.registered")).length, 1);
});
