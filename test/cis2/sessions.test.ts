import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { deliverDue } from "../../src/cis2/backchannel.ts";
import { addClient } from "../../src/cis2/clients.ts";
import { endExpiredSessions, endSessionsOf } from "../../src/cis2/session-revocation.ts";
import { clientValidator } from "../../src/cis2/start.ts";
import { demoClient } from "../../src/seed/demo-sign-in.ts";
import { Browser, formAction } from "../support/browser.ts";
import { type Cis2Server, startCis2Server } from "../support/cis2-server.ts";
import { demoClientConfiguration, exchange, signIn } from "./journey.ts";

const person = "margaret.oconnell@nhs.net";

test("a second sign-in in the same browser is silent, but prompt=login and max_age ask again", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const browser = new Browser();
  let pages = 0;
  const counted = { browser, chooseRole: () => undefined };
  const first = await signIn(server, configuration, { identifier: person, ...counted });
  const firstAuth = (await exchange(configuration, first)).claims()?.auth_time;
  const silent = await signIn(server, configuration, { identifier: "not-used", browser });
  assert.ok(silent.callback.searchParams.get("code"), "single sign-on: no pages");
  assert.equal(silent.pages, 0);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const forced = await signIn(server, configuration, {
    identifier: person,
    browser,
    extra: { prompt: "login" },
    chooseRole: () => {
      pages++;
      return undefined;
    },
  });
  const forcedTokens = await exchange(configuration, forced);
  assert.ok(Number(forcedTokens.claims()?.auth_time) > Number(firstAuth), "prompt=login re-authenticates");
  assert.equal(forced.pages, 2, "identify and password pages again");
  const aged = await signIn(server, configuration, { identifier: person, browser, extra: { max_age: "0" } });
  const agedTokens = await exchange(configuration, aged);
  assert.equal(aged.pages, 2, "max_age=0 asks again");
  assert.ok(Number(agedTokens.claims()?.auth_time) >= Number(forcedTokens.claims()?.auth_time));
  assert.equal(pages, 0, "one position: selected without a page");
});

async function logoutReceiver() {
  const received: string[] = [];
  let failuresLeft = 0;
  const server = createServer(async (request: IncomingMessage, response) => {
    let body = "";
    for await (const chunk of request) body += chunk;
    if (failuresLeft > 0) {
      failuresLeft--;
      response.writeHead(503).end();
      return;
    }
    received.push(new URLSearchParams(body).get("logout_token") ?? "");
    response.writeHead(200).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel-logout`,
    received,
    failNext: (count: number) => {
      failuresLeft = count;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A relying party registered with a back-channel logout URI served by the test. */
async function clientWithLogoutReceiver(t: TestContext, server: Cis2Server, clientId: string) {
  const receiver = await logoutReceiver();
  t.after(() => receiver.close());
  await addClient(
    server.store.db,
    operatorActor(),
    server.cis2.sealer,
    { ...demoClient(), client_id: clientId, backchannel_logout_uri: receiver.url },
    clientValidator(server.cis2.host),
  );
  return { receiver, clientId, configuration: await demoClientConfiguration(server, undefined, clientId) };
}

test("RP-initiated logout ends the CIS2 session and sends a verifiable back-channel logout token", async (t) => {
  const server = await startCis2Server(t);
  const { receiver, configuration, clientId } = await clientWithLogoutReceiver(
    t,
    server,
    "222222222222.apps.national",
  );
  const browser = new Browser();
  const journey = await signIn(server, configuration, { identifier: person, browser });
  const tokens = await exchange(configuration, journey);
  const idToken = tokens.claims();

  const logoutUrl = client.buildEndSessionUrl(configuration, {
    id_token_hint: tokens.id_token as string,
    post_logout_redirect_uri: "http://127.0.0.1:3001/",
  });
  const confirm = await browser.get(logoutUrl.href);
  assert.equal(confirm.status, 200);
  const page = await confirm.text();
  assert.match(String(confirm.headers.get("content-security-policy")), /script-src 'self' 'sha256-/);
  const action = formAction(page, logoutUrl.href);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
  const done = await browser.follow(
    await browser.post(action, { xsrf, logout: "yes" }),
    action,
    server.origin,
  );
  assert.equal(done.url, "http://127.0.0.1:3001/");

  assert.equal(receiver.received.length, 1);
  const jwks = createRemoteJWKSet(new URL(configuration.serverMetadata().jwks_uri as string));
  const { payload, protectedHeader } = await jwtVerify(receiver.received[0] as string, jwks, {
    issuer: server.issuer,
    audience: clientId,
  });
  assert.equal(protectedHeader.alg, "RS256");
  assert.equal(payload.sub, idToken?.sub);
  assert.equal(payload.sid, idToken?.sid);
  assert.ok(payload.jti && payload.iat);
  assert.deepEqual(payload.events, { "http://schemas.openid.net/event/backchannel-logout": {} });
  assert.equal(payload.nonce, undefined);

  const again = await signIn(server, configuration, { identifier: person, browser });
  assert.ok(again.callback.searchParams.get("code"));
  assert.equal(again.pages, 2, "the session is gone: identify and password again");
});

test("a failed back-channel delivery is retried until it lands, and each attempt is audited", async (t) => {
  const server = await startCis2Server(t);
  const { receiver, configuration } = await clientWithLogoutReceiver(t, server, "333333333333.apps.national");
  const browser = new Browser();
  const tokens = await exchange(
    configuration,
    await signIn(server, configuration, { identifier: person, browser }),
  );
  receiver.failNext(2);
  const logoutUrl = client.buildEndSessionUrl(configuration, { id_token_hint: tokens.id_token as string });
  const page = await (await browser.get(logoutUrl.href)).text();
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
  await browser.post(formAction(page, logoutUrl.href), { xsrf, logout: "yes" });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const makeDue = () =>
    server.store.db
      .updateTable("backchannel_deliveries")
      .set({ next_attempt_at: new Date(0) })
      .execute();
  await makeDue();
  assert.equal(await deliverDue(server.store.db, server.cis2.host.provider()), 0, "second attempt fails too");
  await makeDue();
  assert.equal(await deliverDue(server.store.db, server.cis2.host.provider()), 1);
  assert.equal(receiver.received.length, 1);
  const actions = (
    await server.store.db
      .selectFrom("audit_events")
      .select("action")
      .where("action", "like", "cis2.backchannel-logout.%")
      .orderBy("seq")
      .execute()
  ).map((row) => row.action);
  assert.deepEqual(actions, [
    "cis2.backchannel-logout.failed",
    "cis2.backchannel-logout.failed",
    "cis2.backchannel-logout.delivered",
  ]);
});

test("refresh tokens rotate, and reusing a spent one revokes the whole grant", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const journey = await signIn(server, configuration, {
    identifier: person,
    scope: "openid profile offline_access",
    extra: { prompt: "consent" },
  });
  const tokens = await exchange(configuration, journey);
  assert.ok(tokens.refresh_token, "a client registered for refresh tokens gets one");
  const refreshed = await client.refreshTokenGrant(configuration, tokens.refresh_token as string);
  assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, "rotated");
  await assert.rejects(
    client.refreshTokenGrant(configuration, tokens.refresh_token as string),
    (error: client.ResponseBodyError) => {
      assert.equal(error.error, "invalid_grant");
      return true;
    },
  );
  await assert.rejects(
    client.refreshTokenGrant(configuration, refreshed.refresh_token as string),
    (error: client.ResponseBodyError) => {
      assert.equal(error.error, "invalid_grant", "the newer token died with the grant");
      return true;
    },
  );
  const userinfo = await fetch(configuration.serverMetadata().userinfo_endpoint as string, {
    headers: { authorization: `Bearer ${refreshed.access_token}` },
  });
  assert.equal(userinfo.status, 401);
});

test("a session idle past its assurance level's limit asks the user to sign in again", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const browser = new Browser();
  await exchange(configuration, await signIn(server, configuration, { identifier: person, browser }));
  const silent = await signIn(server, configuration, { identifier: "unused", browser });
  assert.ok(silent.callback.searchParams.get("code"), "still within the idle limit");
  assert.equal(silent.pages, 0);
  const thirtyOneMinutesAgo = new Date(Date.now() - 31 * 60 * 1000);
  await server.store.db
    .updateTable("cis2_session_activity")
    .set({ last_used_at: thirtyOneMinutesAgo })
    .execute();
  const again = await signIn(server, configuration, { identifier: person, browser });
  assert.ok(again.callback.searchParams.get("code"));
  assert.equal(again.pages, 2, "identify and password pages again");
  const activity = await server.store.db.selectFrom("cis2_session_activity").select("last_used_at").execute();
  assert.ok(
    activity.every((row) => row.last_used_at.getTime() > thirtyOneMinutesAgo.getTime()),
    "re-authenticating renews the session",
  );
});

test("ending a person's sessions (a leaver, an RA revoking access) logs them out everywhere", async (t) => {
  const server = await startCis2Server(t);
  const { receiver, configuration } = await clientWithLogoutReceiver(t, server, "444444444444.apps.national");
  const browser = new Browser();
  const tokens = await exchange(
    configuration,
    await signIn(server, configuration, { identifier: person, browser }),
  );
  const uuid = String(tokens.claims()?.sub);
  const ended = await endSessionsOf(server.store.db, operatorActor(), uuid);
  assert.deepEqual(ended, { sessions: 1, notices: 1 });
  assert.equal(await deliverDue(server.store.db, server.cis2.host.provider()), 1);
  const jwks = createRemoteJWKSet(new URL(configuration.serverMetadata().jwks_uri as string));
  const { payload } = await jwtVerify(receiver.received[0] as string, jwks, { issuer: server.issuer });
  assert.equal(payload.sub, uuid);
  assert.equal(payload.sid, tokens.claims()?.sid);
  const userinfo = await fetch(configuration.serverMetadata().userinfo_endpoint as string, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  assert.equal(userinfo.status, 401, "the tokens went with the grant");
  const again = await signIn(server, configuration, { identifier: person, browser });
  assert.equal(again.pages, 2, "the browser's session is gone");
});

test("a session that expires sends back-channel logout too", async (t) => {
  const server = await startCis2Server(t);
  const { receiver, configuration } = await clientWithLogoutReceiver(t, server, "555555555555.apps.national");
  const tokens = await exchange(configuration, await signIn(server, configuration, { identifier: person }));
  await server.store.db
    .updateTable("oidc_models")
    .set({ expires_at: new Date(Date.now() - 1000) })
    .where("kind", "=", "Session")
    .execute();
  assert.equal(await endExpiredSessions(server.store.db), 1);
  assert.equal(await endExpiredSessions(server.store.db), 0, "each expired session is handled once");
  assert.equal(await deliverDue(server.store.db, server.cis2.host.provider()), 1);
  const jwks = createRemoteJWKSet(new URL(configuration.serverMetadata().jwks_uri as string));
  const { payload } = await jwtVerify(receiver.received[0] as string, jwks, { issuer: server.issuer });
  assert.equal(payload.sid, tokens.claims()?.sid);
});

test("a session too weak for the requested assurance is not reused: the user must step up", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const browser = new Browser();
  await exchange(
    configuration,
    await signIn(server, configuration, { identifier: person, browser, acr: "AAL1_USERPASS" }),
  );
  const stepUp = await signIn(server, configuration, { identifier: person, browser, acr: "AAL3_ANY" });
  assert.equal(stepUp.pages, 1, "asked who they are again, not signed in silently");
  assert.equal(stepUp.callback.searchParams.get("error"), "access_denied", "no AAL3 authenticator: refused");
  const same = await signIn(server, configuration, { identifier: person, browser, acr: "AAL1_USERPASS" });
  assert.equal(same.pages, 0, "the AAL1 session still serves AAL1 requests");
});

test("a relying party's server ends the session its ID token names: tokens revoked, the others told", async (t) => {
  const server = await startCis2Server(t);
  const caller = await clientWithLogoutReceiver(t, server, "666666666666.apps.national");
  const other = await clientWithLogoutReceiver(t, server, "777777777777.apps.national");
  const browser = new Browser();
  const callerTokens = await exchange(
    caller.configuration,
    await signIn(server, caller.configuration, { identifier: person, browser }),
  );
  const otherJourney = await signIn(server, other.configuration, { identifier: "unused", browser });
  assert.equal(otherJourney.pages, 0, "single sign-on: the same CIS2 session");
  const otherTokens = await exchange(other.configuration, otherJourney);
  const endSession = (idTokenHint: string | undefined, bearer?: string) =>
    fetch(
      client.buildEndSessionUrl(caller.configuration, idTokenHint ? { id_token_hint: idTokenHint } : {}),
      { headers: bearer ? { authorization: `Bearer ${bearer}` } : {}, redirect: "manual" },
    );
  const idToken = callerTokens.id_token as string;

  const noHint = await endSession(undefined, callerTokens.access_token);
  assert.equal(noHint.status, 400);
  assert.equal(((await noHint.json()) as { error: string }).error, "invalid_request");
  const forged = await endSession(`${idToken.slice(0, -4)}AAAA`, callerTokens.access_token);
  assert.equal(forged.status, 400);
  const otherBearer = await endSession(idToken, otherTokens.access_token);
  assert.equal(otherBearer.status, 401, "the Bearer token must be the hinting client's");
  assert.match(String(otherBearer.headers.get("www-authenticate")), /error="invalid_token"/);
  const userinfo = (accessToken: string) =>
    fetch(caller.configuration.serverMetadata().userinfo_endpoint as string, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
  assert.equal((await userinfo(callerTokens.access_token)).status, 200, "refusals end nothing");

  const withoutBearer = await endSession(idToken);
  assert.equal(withoutBearer.status, 200);
  const withoutBearerPage = await withoutBearer.text();
  assert.doesNotMatch(
    withoutBearerPage,
    /You have signed out/,
    "a cookieless call ends nothing, and says so",
  );
  assert.match(withoutBearerPage, /You were not signed in/);
  assert.equal((await userinfo(callerTokens.access_token)).status, 200);

  const ended = await endSession(idToken, callerTokens.access_token);
  assert.equal(ended.status, 200);
  assert.match(await ended.text(), /You have signed out/);
  assert.equal((await userinfo(callerTokens.access_token)).status, 401, "the caller's tokens are revoked");
  assert.equal((await userinfo(otherTokens.access_token)).status, 401, "and the other client's");

  assert.equal(await deliverDue(server.store.db, server.cis2.host.provider()), 1, "one notice: the other");
  assert.equal(caller.receiver.received.length, 0, "the caller asked; it is not told");
  const jwks = createRemoteJWKSet(new URL(other.configuration.serverMetadata().jwks_uri as string));
  const { payload } = await jwtVerify(other.receiver.received[0] as string, jwks, {
    issuer: server.issuer,
    audience: other.clientId,
  });
  assert.equal(payload.sid, otherTokens.claims()?.sid);
  const audited = await server.store.db
    .selectFrom("audit_events")
    .select(["actor_id", "subject_id"])
    .where("action", "=", "cis2.session-ended-by-relying-party")
    .execute();
  assert.deepEqual(audited, [
    { actor_id: callerTokens.claims()?.sub, subject_id: callerTokens.claims()?.sub },
  ]);

  const again = await endSession(idToken, callerTokens.access_token);
  assert.equal(again.status, 401, "its access token went with the session");
  const browserAgain = await signIn(server, caller.configuration, { identifier: person, browser });
  assert.equal(browserAgain.pages, 2, "the browser's session is gone: identify and password again");
});

test("a server-side logout of a session that already ended says nothing was signed out", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const offline = await exchange(
    configuration,
    await signIn(server, configuration, {
      identifier: person,
      scope: "openid profile offline_access",
      extra: { prompt: "consent" },
    }),
  );
  // An offline access token outlives its session: the session ends, the token still proves the caller.
  await server.store.db.deleteFrom("oidc_models").where("kind", "=", "Session").execute();
  const response = await fetch(
    client.buildEndSessionUrl(configuration, { id_token_hint: offline.id_token as string }),
    { headers: { authorization: `Bearer ${offline.access_token}` } },
  );
  assert.equal(response.status, 200);
  const page = await response.text();
  assert.doesNotMatch(page, /You have signed out/);
  assert.match(page, /There was no session to sign out of/);
});
