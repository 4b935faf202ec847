import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import * as client from "openid-client";
import type { Page } from "playwright-core";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { addClient } from "../../src/cis2/clients.ts";
import { clientValidator } from "../../src/cis2/start.ts";
import { demoClient } from "../../src/seed/demo-sign-in.ts";
import { auditActions, enrolmentUrl, singlePositionPeople } from "../authenticators/enrolment.ts";
import { demoClientConfiguration } from "../cis2/journey.ts";
import { virtualAaguid } from "../support/attestation-ca.ts";
import { addAuthenticator, removeAuthenticator } from "../support/chromium.ts";
import { leftOut } from "../support/prerequisites.ts";
import { serviceTrustingChromium } from "../support/webauthn-service.ts";

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
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    returned: () => returned,
    reset: () => {
      returned = undefined;
    },
  };
}

async function setUp(t: TestContext) {
  const callbackServer = await relyingPartyCallback(t);
  const { server, context, page } = await serviceTrustingChromium(t);
  const clientId = "777777777777.apps.national";
  await addClient(
    server.store.db,
    operatorActor(),
    server.cis2.sealer,
    {
      ...demoClient(),
      client_id: clientId,
      redirect_uris: [callbackServer.url],
      backchannel_logout_uri: undefined,
    },
    clientValidator(server.cis2.host),
  );
  const configuration = await demoClientConfiguration(server, undefined, clientId);
  return { server, callbackServer, configuration, context, page };
}

type Journey = Awaited<ReturnType<typeof setUp>>;

/** Enrols whatever authenticator is attached, from a fresh enrolment link, by the link's named choice. */
async function enrol(journey: Journey, uuid: string, choice: "Security key" | "This device", button: string) {
  const { token } = await issueEnrolmentLink(journey.server.store.db, operatorActor(), { uuid });
  await journey.page.goto(enrolmentUrl(journey.server, token));
  await journey.page.getByRole("link", { name: choice }).click();
  await journey.page.getByRole("button", { name: button }).click();
  await journey.page.getByRole("heading", { name: /^Your .* is registered$/ }).waitFor();
  return journey.server.store.db
    .selectFrom("webauthn_credentials")
    .selectAll()
    .where("uuid", "=", uuid)
    .orderBy("created_at", "desc")
    .executeTakeFirstOrThrow();
}

/** Starts a sign-in for `uuid` through the OIDC flow and stops on the WebAuthn step. */
async function beginSignIn(journey: Journey, uuid: string, acr: string) {
  journey.callbackServer.reset();
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(journey.configuration, {
    redirect_uri: journey.callbackServer.url,
    scope: "openid profile",
    acr_values: acr,
    prompt: "login",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  await journey.page.goto(url.href);
  await journey.page.getByLabel("Care Identity UUID or email address").fill(uuid);
  await journey.page.getByRole("button", { name: "Continue" }).click();
  return { verifier, state, nonce };
}

/**
 * Uses the authenticator on the WebAuthn step and returns the assertion it made. Delivered, the
 * page posts it as usual; held back, the form's submit is replaced so the assertion never leaves
 * the browser (an assertion made for a sign-in that never received it).
 */
async function useAuthenticator(page: Page, deliver = true): Promise<string> {
  await page.getByRole("heading", { name: "Use your security key" }).waitFor();
  type InPage = { document: { querySelector(selector: string): unknown }; heldBack?: string };
  type Form = { submit(): void; elements: { response: { value: string } } };
  if (!deliver) {
    await page.evaluate(() => {
      const form = (globalThis as unknown as InPage).document.querySelector(
        "form[data-webauthn-ceremony]",
      ) as Form;
      form.submit = () => {
        (globalThis as unknown as InPage).heldBack = form.elements.response.value;
      };
    });
    await page.getByRole("button", { name: "Use security key" }).click();
    const held = await page.waitForFunction(() => (globalThis as unknown as InPage).heldBack);
    return String(await held.jsonValue());
  }
  const [request] = await Promise.all([
    page.waitForRequest(
      (candidate) => candidate.method() === "POST" && candidate.url().endsWith("/security-key"),
    ),
    page.getByRole("button", { name: "Use security key" }).click(),
  ]);
  return String(new URLSearchParams(request.postData() ?? "").get("response"));
}

async function signIn(journey: Journey, uuid: string, acr: string) {
  const started = await beginSignIn(journey, uuid, acr);
  await useAuthenticator(journey.page);
  await journey.page.waitForURL(`${journey.callbackServer.url}**`);
  const returned = journey.callbackServer.returned();
  assert.ok(returned, "the browser came back to the relying party");
  assert.equal(
    returned.searchParams.get("error"),
    null,
    String(returned.searchParams.get("error_description")),
  );
  const tokens = await client.authorizationCodeGrant(journey.configuration, returned, {
    pkceCodeVerifier: started.verifier,
    expectedState: started.state,
    expectedNonce: started.nonce,
    idTokenExpected: true,
  });
  return tokens.claims();
}

/**
 * Where the WebAuthn step's form posts. The identify step answers with that page itself, so the
 * address bar says .../identify; the form posts to the security-key step all the same.
 */
async function securityKeyStep(page: Page): Promise<string> {
  const action = await page.locator("form[data-webauthn-ceremony]").getAttribute("action");
  const step = new URL(action ?? "", page.url()).href;
  assert.match(step, /\/cis2\/signin\/[^/]+\/security-key$/);
  return step;
}

/** Posts a WebAuthn response into the sign-in step the page is on, as a tampering browser would. */
async function postAssertion(page: Page, response: string) {
  const answer = await page.request.post(await securityKeyStep(page), {
    form: { response },
    maxRedirects: 0,
  });
  return { status: answer.status(), text: await answer.text() };
}

test("a security key, a device-bound passkey and a synced passkey enrolled from links each sign in through the OIDC flow at their AAL", async (t) => {
  if (leftOut(t, "browser")) return;
  const journey = await setUp(t);
  const { server, context, page } = journey;
  const [keyHolder, passkeyHolder, syncedHolder] = (await singlePositionPeople(server.store.db, 3)) as [
    string,
    string,
    string,
  ];
  const kinds = [
    {
      uuid: keyHolder,
      options: {},
      choice: "Security key",
      button: "Register security key",
      kind: "security-key",
      method: "FIDO2",
      acr: "AAL3_FIDO2",
      aal: "3",
    },
    {
      uuid: passkeyHolder,
      options: { transport: "internal" },
      choice: "This device",
      button: "Register this device",
      kind: "passkey",
      method: "PASSKEY",
      acr: "AAL3_ANY",
      aal: "3",
    },
    {
      uuid: syncedHolder,
      options: { transport: "internal", backupEligible: true },
      choice: "This device",
      button: "Register this device",
      kind: "synced-passkey",
      method: "PASSKEY_SYNCED",
      acr: "AAL2_OR_AAL3_ANY",
      aal: "2",
    },
  ] as const;
  for (const expected of kinds) {
    // One browser for all three: each sign-in after the first switches account.
    const authenticator = await addAuthenticator(context, page, expected.options);
    const credential = await enrol(journey, expected.uuid, expected.choice, expected.button);
    assert.equal(credential.kind, expected.kind);
    assert.equal(credential.method, expected.method);
    assert.equal(
      credential.attestation,
      "trusted",
      "the attestation chains to the root the MDS statement names",
    );
    assert.equal(credential.aaguid, virtualAaguid);
    const idToken = await signIn(journey, expected.uuid, expected.acr);
    assert.equal(idToken?.sub, expected.uuid);
    assert.equal(idToken?.acr, expected.acr);
    assert.deepEqual(idToken?.amr, [expected.method]);
    assert.equal(idToken?.authentication_assurance_level, expected.aal);
    assert.equal(idToken?.id_assurance_level, "3");
    await removeAuthenticator(authenticator);
  }
  const registered = await auditActions(server.store.db, "webauthn.registered");
  assert.deepEqual(
    registered.map((event) => [
      (event.after as { kind: string }).kind,
      (event.after as { method: string }).method,
    ]),
    kinds.map((expected) => [expected.kind, expected.method]),
  );

  // A synced passkey (AAL2) is not offered to a client asking for AAL3_ANY.
  const authenticator = await addAuthenticator(context, page, {
    transport: "internal",
    backupEligible: true,
  });
  await beginSignIn(journey, syncedHolder, "AAL3_ANY");
  // The person reads why first; the page's link takes the refusal back to the relying party.
  await page.locator("#return-to-service").click();
  await page.waitForURL(`${journey.callbackServer.url}**`);
  assert.equal(journey.callbackServer.returned()?.searchParams.get("error"), "access_denied");
  const refused = await auditActions(server.store.db, "cis2.sign-in-refused");
  assert.equal(refused.at(-1)?.subject_id, syncedHolder);
  await removeAuthenticator(authenticator);
});

test("a cloned key, a replayed assertion, a challenge from another session and another user's credential are refused and audited", async (t) => {
  if (leftOut(t, "browser")) return;
  const journey = await setUp(t);
  const { server, context, page } = journey;
  const db = server.store.db;
  const [holder, other] = (await singlePositionPeople(db, 2)) as [string, string];
  const holdersKey = await addAuthenticator(context, page);
  const credential = await enrol(journey, holder, "Security key", "Register security key");
  assert.equal(credential.method, "FIDO2", "a single-device attested key is a FIDO2 authenticator");

  // An assertion made for one sign-in, never delivered, is refused by another sign-in's challenge.
  await beginSignIn(journey, holder, "AAL3_FIDO2");
  const undelivered = await useAuthenticator(page, false);
  await beginSignIn(journey, holder, "AAL3_FIDO2");
  await page.getByRole("heading", { name: "Use your security key" }).waitFor();
  const otherSession = await postAssertion(page, undelivered);
  assert.equal(otherSession.status, 400);
  assert.match(otherSession.text, /could not be verified/);

  // An assertion that signed in once is refused when replayed.
  const first = await beginSignIn(journey, holder, "AAL3_FIDO2");
  const accepted = await useAuthenticator(page);
  await page.waitForURL(`${journey.callbackServer.url}**`);
  assert.ok(first && journey.callbackServer.returned()?.searchParams.get("code"));
  await beginSignIn(journey, holder, "AAL3_FIDO2");
  await page.getByRole("heading", { name: "Use your security key" }).waitFor();
  const replayed = await postAssertion(page, accepted);
  assert.equal(replayed.status, 400);
  assert.match(replayed.text, /could not be verified/);

  // A genuine key that has counted past this one's next signature means this one is a copy.
  const used = await db
    .selectFrom("webauthn_credentials")
    .select("counter")
    .where("credential_id", "=", credential.credential_id)
    .executeTakeFirstOrThrow();
  await db
    .updateTable("webauthn_credentials")
    .set({ counter: used.counter + 1000 })
    .where("credential_id", "=", credential.credential_id)
    .execute();
  await beginSignIn(journey, holder, "AAL3_FIDO2");
  await useAuthenticator(page);
  await page.getByText("it may have been copied").first().waitFor();
  assert.equal(journey.callbackServer.returned(), undefined, "no code reaches the relying party");
  const suspected = await auditActions(db, "webauthn.clone-suspected");
  assert.equal(suspected.length, 1);
  assert.equal(suspected[0]?.subject_id, holder);
  assert.equal((suspected[0]?.after as { reason?: string } | undefined)?.reason, "counter-not-increased");

  // The same credential now says it may be synced: it was exported, or another device signs.
  await db
    .updateTable("webauthn_credentials")
    .set({ counter: 0 })
    .where("credential_id", "=", credential.credential_id)
    .execute();
  await holdersKey.cdp.send("WebAuthn.setCredentialProperties", {
    authenticatorId: holdersKey.authenticatorId,
    credentialId: Buffer.from(credential.credential_id, "base64url").toString("base64"),
    backupEligibility: true,
    backupState: false,
  });
  await beginSignIn(journey, holder, "AAL3_FIDO2");
  await useAuthenticator(page);
  await page.getByText("it may have been copied").first().waitFor();
  const clues = (await auditActions(db, "webauthn.clone-suspected")).map(
    (event) => (event.after as { reason?: string }).reason,
  );
  assert.deepEqual(clues, ["counter-not-increased", "backup-eligibility-changed"]);
  assert.equal(journey.callbackServer.returned(), undefined, "still no code reaches the relying party");

  // Another person's credential does not sign this person in.
  // One virtual authenticator at a time: which of two Chromium picks is its own affair.
  await removeAuthenticator(holdersKey);
  const otherKey = await addAuthenticator(context, page);
  await enrol(journey, other, "Security key", "Register security key");
  await beginSignIn(journey, holder, "AAL3_FIDO2");
  await page.getByRole("heading", { name: "Use your security key" }).waitFor();
  const holdersUrl = await securityKeyStep(page);
  await beginSignIn(journey, other, "AAL3_FIDO2");
  const othersAssertion = await useAuthenticator(page, false);
  await removeAuthenticator(otherKey);
  await page.goto(holdersUrl);
  const foreign = await postAssertion(page, othersAssertion);
  assert.equal(foreign.status, 400);
  assert.match(foreign.text, /not registered to you/);

  const refusals = (await auditActions(db, "webauthn.sign-in-refused")).map((event) => [
    event.subject_id,
    (event.after as { reason: string }).reason,
    String((event.after as { detail?: string }).detail ?? ""),
  ]);
  assert.deepEqual(
    refusals.map(([subject, reason]) => [subject, reason]),
    [
      [holder, "not-verified"],
      [holder, "not-verified"],
      [holder, "unknown-credential"],
    ],
  );
  assert.match(refusals[0]?.[2] as string, /challenge/i);
  assert.match(refusals[1]?.[2] as string, /challenge/i);
});

test("a model on the AAGUID deny list is refused at enrolment with a clear message, audited, and the link stays usable", async (t) => {
  if (leftOut(t, "browser")) return;
  const { server, context, page } = await serviceTrustingChromium(t, {
    environment: { CAREID_WEBAUTHN_AAGUID_DENY: virtualAaguid },
  });
  const [uuid] = (await singlePositionPeople(server.store.db, 1)) as [string];
  await addAuthenticator(context, page);
  const { token } = await issueEnrolmentLink(server.store.db, operatorActor(), { uuid });
  await page.goto(enrolmentUrl(server, token, "security-key"));
  await page.getByRole("button", { name: "Register security key" }).click();
  await page.getByText("This model of authenticator may not be used").first().waitFor();
  const [refused] = await auditActions(server.store.db, "webauthn.registration-refused");
  assert.equal(refused?.subject_id, uuid);
  assert.deepEqual(refused?.after, {
    reason: "denied-aaguid",
    aaguid: virtualAaguid,
    attestation: "trusted",
  });
  const stored = await server.store.db.selectFrom("webauthn_credentials").select("uuid").execute();
  assert.equal(stored.length, 0);
  const link = await server.store.db
    .selectFrom("enrolment_links")
    .select("used_at")
    .executeTakeFirstOrThrow();
  assert.equal(link.used_at, null, "the link can still enrol an allowed authenticator");
});
