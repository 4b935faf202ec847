import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { test } from "node:test";
import { operatorActor } from "../../src/audit/actor.ts";
import { withdrawCard } from "../../src/authenticators/smartcard/cards.ts";
import { startMutualTlsListener } from "../../src/cis2/mutual-tls-listener.ts";
import { signInPath } from "../../src/cis2/provider.ts";
import { singlePositionPeople } from "../authenticators/enrolment.ts";
import { exchange, redirectUri } from "../cis2/journey.ts";
import { type Cis2Server, freePort, startCis2Server } from "../support/cis2-server.ts";
import { listenerCertificate } from "../support/smartcard-service.ts";
import { issueSoftCard, type SoftCard, signWith, smartcardPage } from "../support/soft-card.ts";

/**
 * The smartcard pages of the CIS2 journey at the HTTP level, with card keys made by openssl in
 * place of a token (the end-to-end test uses a real token): what a forged, replayed or borrowed
 * card proof gets, and the mutual-TLS listener's refusals.
 */

async function refusals(server: Cis2Server, reason: string): Promise<number> {
  const rows = await server.store.db
    .selectFrom("audit_events")
    .select("after")
    .where("action", "=", "smartcard.authentication-refused")
    .execute();
  return rows.filter((row) => (row.after as { reason?: string }).reason === reason).length;
}

test("smartcard sign-in: the card's holder signs in at AAL3; another challenge, a replayed proof, someone else's card and a cancelled card are refused and audited", async (t) => {
  const server = await startCis2Server(t);
  const [holder, other] = (await singlePositionPeople(server.store.db, 2)) as [string, string];
  const card = await issueSoftCard(t, server, holder);

  const signIn = await smartcardPage(server);
  const first = await signIn.show();
  assert.match(first.html, /Insert your smartcard/);
  assert.doesNotMatch(first.html, /type="password"/, "no passcode is asked for on the service's page");
  const forged = await signIn.browser.post(`${signIn.base}/smartcard`, {
    certificate: card.certificate,
    signature: signWith(card, "a challenge this service never gave"),
  });
  assert.equal(forged.status, 400);
  assert.match(await forged.text(), /signature does not match/);
  const late = await signIn.browser.post(`${signIn.base}/smartcard`, {
    certificate: card.certificate,
    signature: signWith(card, first.challenge),
  });
  assert.equal(
    late.status,
    400,
    "a refused attempt spent the page's challenge; the next showing has another",
  );

  const { challenge } = await signIn.show();
  const proof = { certificate: card.certificate, signature: signWith(card, challenge) };
  const accepted = await signIn.browser.post(`${signIn.base}/smartcard`, proof);
  assert.equal(accepted.status, 303);
  const { url } = await signIn.browser.follow(accepted, `${signIn.base}/smartcard`, server.origin);
  assert.ok(url.startsWith(redirectUri), url);
  const tokens = await exchange(signIn.configuration, { ...signIn.journey, callback: new URL(url) } as never);
  assert.equal(tokens.claims()?.sub, holder, "the card said who was signing in");
  assert.deepEqual(tokens.claims()?.amr, ["CIS2_SMARTCARD"]);
  assert.equal(tokens.claims()?.acr, "AAL3_SMARTCARD");

  const replay = await smartcardPage(server);
  await replay.show();
  const replayed = await replay.browser.post(`${replay.base}/smartcard`, proof);
  assert.equal(replayed.status, 400, "a captured proof is refused in another sign-in");

  await issueSoftCard(t, server, other);
  const borrowed = await smartcardPage(server, other);
  const borrowedPage = await borrowed.show();
  const wrongHolder = await borrowed.browser.post(`${borrowed.base}/smartcard`, {
    certificate: card.certificate,
    signature: signWith(card, borrowedPage.challenge),
  });
  assert.equal(wrongHolder.status, 400);
  assert.match(await wrongHolder.text(), /belongs to someone else/);

  await withdrawCard(server.store.db, operatorActor(), { cardSerial: card.serial, status: "cancelled" });
  const afterCancel = await smartcardPage(server);
  const cancelledPage = await afterCancel.show();
  const cancelled = await afterCancel.browser.post(`${afterCancel.base}/smartcard`, {
    certificate: card.certificate,
    signature: signWith(card, cancelledPage.challenge),
  });
  assert.equal(cancelled.status, 400);
  assert.match(await cancelled.text(), /has been revoked/);
  assert.equal(await refusals(server, "bad-signature"), 3);
  for (const reason of ["wrong-holder", "revoked"]) assert.equal(await refusals(server, reason), 1, reason);
});

test("mutual TLS: the card's certificate in the handshake signs in once; no certificate, a replayed or misdirected ticket are refused", async (t) => {
  const { certFile, keyFile } = listenerCertificate(t);
  const port = await freePort();
  const server = await startCis2Server(t, {
    CAREID_MTLS_PORT: String(port),
    CAREID_MTLS_CERT: certFile,
    CAREID_MTLS_KEY: keyFile,
  });
  const listener = await startMutualTlsListener({
    db: server.store.db,
    host: "127.0.0.1",
    port,
    certFile,
    keyFile,
    signInBase: `${server.origin}${signInPath}`,
  });
  t.after(() => listener.close());
  const [holder] = (await singlePositionPeople(server.store.db, 1)) as [string];
  const card = await issueSoftCard(t, server, holder);

  const signIn = await smartcardPage(server);
  const page = await signIn.show();
  const link = new RegExp(`href="(${listener.url}/cis2/signin/${signIn.uid}/smartcard-tls)"`).exec(
    page.html,
  )?.[1];
  assert.ok(link, "the page offers the network-connected reader");
  const anonymous = await tlsGet(link, certFile);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.body, /No smartcard certificate was presented/);

  const presented = await tlsGet(link, certFile, card);
  assert.equal(presented.status, 303);
  const ticketUrl = presented.location as string;
  const misdirected = await smartcardPage(server);
  await misdirected.show();
  const elsewhere = await misdirected.browser.get(ticketUrl.replace(signIn.uid, misdirected.uid));
  assert.equal(elsewhere.status, 400, "a ticket serves only the interaction it was made for");
  const { url } = await signIn.browser.follow(await signIn.browser.get(ticketUrl), ticketUrl, server.origin);
  assert.ok(url.startsWith(redirectUri), url);
  const tokens = await exchange(signIn.configuration, { ...signIn.journey, callback: new URL(url) } as never);
  assert.deepEqual(tokens.claims()?.amr, ["N3_SMARTCARD"]);

  const again = await smartcardPage(server);
  await again.show();
  const replay = await again.browser.get(ticketUrl.replace(signIn.uid, again.uid));
  assert.equal(replay.status, 400);
  assert.match(await replay.text(), /expired or was used already/);
});

function tlsGet(
  url: string,
  caFile: string,
  card?: SoftCard,
): Promise<{ status?: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    request(
      url,
      {
        ca: readFileSync(caFile),
        ...(card ? { cert: readFileSync(card.certificateFile), key: readFileSync(card.keyFile) } : {}),
      },
      (response) => {
        let body = "";
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () =>
          resolve({ status: response.statusCode, location: response.headers.location, body }),
        );
      },
    )
      .on("error", reject)
      .end();
  });
}
