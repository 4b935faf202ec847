import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { demoPassword } from "../../src/seed/demo-sign-in.ts";
import type { Store } from "../../src/store/database.ts";
import { enrolApp, enrolmentUrl, nextCode, singlePositionPeople } from "../authenticators/enrolment.ts";
import { demoClientConfiguration, redirectUri } from "../cis2/journey.ts";
import { Browser, formAction, interactionAddress } from "../support/browser.ts";
import { type Cis2Server, freePort, serveCis2 } from "../support/cis2-server.ts";
import { openssl, pemFolder, runProgram } from "../support/pki.ts";
import { issueSoftCard, signWith, smartcardPage } from "../support/soft-card.ts";
import { softSecurityKey } from "../support/soft-security-key.ts";
import { databaseForCommands, testMasterKey } from "../support/test-store.ts";

/**
 * A leaver closed at the command line: `careid people close` (a real process, on the test's own
 * database) is the same operation an RA's closure is, so every authenticator the person held
 * stops working, sign-ins already under way included, and OCSP answers "revoked" for their card.
 */
const main = new URL("../../src/main.ts", import.meta.url).pathname;

function careid(args: string[], environment: Record<string, string>) {
  return runProgram(process.execPath, [main, ...args], {
    LOG_LEVEL: "warn",
    CAREID_MASTER_KEY: testMasterKey.toString("hex"),
    ...environment,
  });
}

function dataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "careid-leaver-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A sign-in begun and taken as far as the step where the authenticator is presented. */
async function begun(server: Cis2Server, uuid: string, acr: string, step: string) {
  const configuration = await demoClientConfiguration(server);
  const browser = new Browser();
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: redirectUri,
    scope: "openid profile",
    acr_values: acr,
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: "S256",
    state: client.randomState(),
    nonce: client.randomNonce(),
  });
  const first = await browser.follow(await browser.get(url.href), url.href, server.origin);
  const base = interactionAddress(await first.response.text(), first.url);
  let page = await browser.post(`${base}/identify`, { identifier: uuid });
  // The security-key page is the identify step's answer; the other steps are redirected to.
  if (step !== "security-key") {
    assert.equal(page.headers.get("location"), `${new URL(base).pathname}/${step}`, `${acr} goes to ${step}`);
    page = await browser.get(`${base}/${step}`);
  }
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.equal(formAction(html, `${base}/identify`), `${base}/${step}`, `${acr} asks at ${step}`);
  return { browser, action: `${base}/${step}`, html };
}

/** Posts the authenticator's answer and follows the journey: did the relying party get a code? */
async function presented(
  server: Cis2Server,
  journey: { browser: Browser; action: string },
  form: Record<string, string>,
) {
  const answer = await journey.browser.post(journey.action, form);
  const { response, url } = await journey.browser.follow(answer, journey.action, server.origin);
  const code = url.startsWith(redirectUri) ? new URL(url).searchParams.get("code") : null;
  return { signedIn: code !== null, status: response.status, url };
}

test("careid people close: the leaver's password, authenticator app, security key and smartcard are all refused, and OCSP says the card is revoked", async (t) => {
  const database = await databaseForCommands(t, dataDir(t));
  const port = await freePort();
  const key = await softSecurityKey();
  let store: Store = await database.open();
  let server = await serveCis2(store, { port, environment: key.environment });
  t.after(async () => {
    await server.stop();
    if (!database.shared) await store.close();
  });
  const [leaver, colleague] = (await singlePositionPeople(store.db, 2)) as [string, string];

  // The leaver's authenticators, each shown to work.
  const secret = await enrolApp(server, leaver);
  const { token } = await issueEnrolmentLink(store.db, operatorActor(), { uuid: leaver });
  const keyPage = enrolmentUrl(server, token, "security-key");
  const registered = await new Browser().post(keyPage, {
    response: key.register(await (await fetch(keyPage)).text(), server.origin),
  });
  assert.match(await registered.text(), /Your security key is registered/);
  const card = await issueSoftCard(t, server, leaver);
  const password = await begun(server, leaver, "AAL1_USERPASS", "password");
  assert.ok((await presented(server, password, { password: demoPassword })).signedIn, "the password works");
  const securityKey = await begun(server, leaver, "AAL3_FIDO2", "security-key");
  const keyAnswer = key.assert(securityKey.html, server.origin);
  assert.ok((await presented(server, securityKey, { response: keyAnswer })).signedIn, "the key works");
  const smartcard = await smartcardPage(server);
  const { challenge } = await smartcard.show();
  const cardAnswer = { certificate: card.certificate, signature: signWith(card, challenge) };
  assert.ok(
    (
      await presented(
        server,
        { browser: smartcard.browser, action: `${smartcard.base}/smartcard` },
        cardAnswer,
      )
    ).signedIn,
    "the card works",
  );

  const pki = pemFolder(t);
  const root = pki.write("root.pem", await (await fetch(`${server.origin}/pki/root.crt`)).bytes());
  const issuing = pki.write("issuing.pem", await (await fetch(`${server.origin}/pki/issuing.crt`)).bytes());
  const ocsp = () =>
    openssl([
      "ocsp",
      "-issuer",
      issuing,
      "-cert",
      card.certificateFile,
      "-url",
      `${server.origin}/pki/ocsp`,
      "-CAfile",
      root,
    ]);
  assert.match((await ocsp()).output, /authentication\.pem: good/);

  // Sign-ins under way when the profile closes, each at the step that takes the authenticator.
  const inFlight = {
    password: await begun(server, leaver, "AAL1_USERPASS", "password"),
    app: await begun(server, leaver, "AAL2_TOTP", "app"),
    securityKey: await begun(server, leaver, "AAL3_FIDO2", "security-key"),
    colleague: await begun(server, colleague, "AAL1_USERPASS", "password"),
  };
  const cardInFlight = await smartcardPage(server, leaver);
  const cardChallenge = (await cardInFlight.show()).challenge;

  if (!database.shared) {
    // The embedded database admits one process: the service stops while the command runs.
    await server.stop();
    await store.close();
  }
  const refused = await careid(["people", "close", "--uuid", leaver], database.environment);
  assert.equal(refused.status, 2, refused.output);
  assert.match(refused.output, /reason: is required to close a profile/);
  const closed = await careid(
    ["people", "close", "--uuid", leaver, "--reason", "Left the trust"],
    database.environment,
  );
  assert.equal(closed.status, 0, closed.output);
  assert.match(closed.output, new RegExp(`Closed ${leaver} `));
  assert.match(closed.output, /1 position\(s\) ended/);
  assert.match(closed.output, /3 authenticator\(s\) cancelled \(authenticator-app, security-key, password\)/);
  assert.match(
    closed.output,
    new RegExp(`1 smartcard\\(s\\) cancelled \\(${card.serial}\\); 2 certificate\\(s\\) revoked`),
  );
  assert.match(closed.output, /3 CIS2 session\(s\) ended; 3 back-channel logout\(s\) queued/);
  for (const [uuid, message] of [
    [leaver, /uuid: profile \d{12} is already closed/],
    ["12345", /uuid: must be a 12-digit Care Identity UUID/],
    ["999999999999", /No Care Identity profile has UUID 999999999999/],
  ] as const) {
    const bad = await careid(["people", "close", "--uuid", uuid, "--reason", "Left"], database.environment);
    assert.equal(bad.status, 2, bad.output);
    assert.match(bad.output, /Refused: nothing was changed/);
    assert.match(bad.output, message);
  }
  if (!database.shared) {
    store = await database.open();
    server = await serveCis2(store, { port, environment: key.environment });
  }

  assert.ok(
    (await presented(server, inFlight.colleague, { password: demoPassword })).signedIn,
    "a sign-in begun before the closure still finishes for someone else",
  );
  const attempts = {
    password: await presented(server, inFlight.password, { password: demoPassword }),
    app: await presented(server, inFlight.app, { password: demoPassword, code: nextCode(secret) }),
    securityKey: await presented(server, inFlight.securityKey, {
      response: key.assert(inFlight.securityKey.html, server.origin),
    }),
    smartcard: await presented(
      server,
      { browser: cardInFlight.browser, action: `${cardInFlight.base}/smartcard` },
      { certificate: card.certificate, signature: signWith(card, cardChallenge) },
    ),
  };
  for (const [authenticator, attempt] of Object.entries(attempts))
    assert.equal(attempt.signedIn, false, `${authenticator} is refused: ${attempt.status} ${attempt.url}`);
  const fresh = await smartcardPage(server);
  const freshAnswer = {
    certificate: card.certificate,
    signature: signWith(card, (await fresh.show()).challenge),
  };
  const freshCard = await presented(
    server,
    { browser: fresh.browser, action: `${fresh.base}/smartcard` },
    freshAnswer,
  );
  assert.equal(freshCard.signedIn, false);

  const answer = await ocsp();
  assert.equal(answer.status, 0, answer.output);
  assert.match(answer.output, /Response verify OK/);
  assert.match(answer.output, /authentication\.pem: revoked/);
  assert.match(answer.output, /Reason: cessationOfOperation/);
});
