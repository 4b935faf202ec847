import assert from "node:assert/strict";
import { test } from "node:test";
import type * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { unlockTotp } from "../../src/authenticators/totp/app-authenticators.ts";
import { codeAt, timeStep } from "../../src/authenticators/totp/codes.ts";
import { demoPassword } from "../../src/seed/demo-sign-in.ts";
import { demoClientConfiguration, exchange, identifyStep, signIn } from "../cis2/journey.ts";
import { Browser } from "../support/browser.ts";
import { type Cis2Server, startCis2Server } from "../support/cis2-server.ts";
import {
  auditActions,
  enrolApp,
  enrolmentUrl,
  nextCode,
  secretOnPage,
  singlePositionPeople,
} from "./enrolment.ts";

test("an authenticator app enrolled from a link signs in at AAL2 for each class that accepts it", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const people = await singlePositionPeople(server.store.db, 3);
  for (const [index, acr] of ["AAL2_TOTP", "AAL2_ANY", "AAL2_OR_AAL3_ANY"].entries()) {
    const uuid = people[index] as string;
    const secret = await enrolApp(server, uuid);
    const journey = await signIn(server, configuration, {
      identifier: uuid,
      acr,
      code: () => nextCode(secret),
    });
    const idToken = (await exchange(configuration, journey)).claims();
    assert.equal(idToken?.sub, uuid);
    assert.equal(idToken?.acr, acr);
    assert.deepEqual(idToken?.amr, ["TOTP"]);
    assert.equal(idToken?.authentication_assurance_level, "2");
  }
  const enrolled = await auditActions(server.store.db, "totp.enrolled");
  assert.deepEqual(
    enrolled.map((event) => event.subject_id),
    people,
  );
  const stored = await server.store.db.selectFrom("totp_authenticators").select("sealed_secret").execute();
  assert.ok(
    stored.every((row) => row.sealed_secret.startsWith("v1.")),
    "secrets are sealed at rest",
  );
});

test("with several usable methods the person chooses among only those", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const [uuid] = await singlePositionPeople(server.store.db, 1);
  const secret = await enrolApp(server, uuid as string);
  const start = await beginSignIn(server, configuration, uuid as string, "AAL2_TOTP AAL1_USERPASS");
  assert.match(start.url, /\/method$/);
  const options = [...start.html.matchAll(/name="method" type="radio" value="([^"]+)"/g)].map(
    (match) => match[1],
  );
  assert.deepEqual(options, ["TOTP", "pwd"]);
  const refused = await start.browser.post(start.url, { method: "FIDO2" });
  assert.equal(refused.status, 400, "a method the person does not hold is refused");
  const chosen = await start.browser.post(start.url, { method: "TOTP" });
  assert.match(String(chosen.headers.get("location")), /\/app$/);
  const journey = await signIn(server, configuration, {
    identifier: uuid as string,
    acr: "AAL2_TOTP AAL1_USERPASS",
    method: "TOTP",
    code: () => nextCode(secret),
  });
  assert.deepEqual((await exchange(configuration, journey)).claims()?.amr, ["TOTP"]);
});

test("an AAL2 authenticator app is not offered to a client asking for AAL3_ANY", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const [uuid] = await singlePositionPeople(server.store.db, 1);
  const secret = await enrolApp(server, uuid as string);
  const journey = await signIn(server, configuration, { identifier: uuid as string, acr: "AAL3_ANY" });
  assert.equal(journey.callback.searchParams.get("error"), "access_denied");
  assert.equal((await auditActions(server.store.db, "cis2.sign-in-refused")).length, 1);

  // A code posted by hand to a sign-in that accepts only AAL3 (or the development password).
  const start = await beginSignIn(server, configuration, uuid as string, "AAL3_ANY AAL1_USERPASS");
  assert.match(start.url, /\/password$/, "only the password is offered");
  const forced = await start.browser.post(start.url.replace(/password$/, "app"), {
    password: demoPassword,
    code: nextCode(secret),
  });
  assert.equal(forced.status, 400);
  assert.match(await forced.text(), /needs a stronger authenticator than the authenticator app/);
  const [refused] = await auditActions(server.store.db, "cis2.method-refused");
  assert.equal(refused?.subject_id, uuid);
  assert.equal(
    (await auditActions(server.store.db, "totp.code-accepted")).length,
    0,
    "the code was never checked",
  );
});

test("enrolment links: a wrong code, a used link, an expired link and an unknown link are refused and audited", async (t) => {
  const server = await startCis2Server(t);
  const [uuid] = await singlePositionPeople(server.store.db, 1);
  const { token } = await issueEnrolmentLink(server.store.db, operatorActor(), { uuid: uuid as string });
  const browser = new Browser();
  const page = await browser.get(enrolmentUrl(server, token, "app"));
  const secret = secretOnPage(await page.text());
  const again = secretOnPage(await (await browser.get(enrolmentUrl(server, token, "app"))).text());
  assert.equal(again, secret, "the secret shown stays the same until it is confirmed");
  const wrong = await browser.post(enrolmentUrl(server, token, "app"), { code: wrongCode(secret) });
  assert.equal(wrong.status, 400);
  assert.match(await wrong.text(), /The code is not correct/);
  assert.equal((await auditActions(server.store.db, "totp.enrolment-refused")).length, 1);

  const right = await browser.post(enrolmentUrl(server, token, "app"), { code: codeAt(secret, new Date()) });
  assert.equal(right.status, 200);
  for (const path of ["", "app", "security-key"]) {
    const reused = await browser.get(enrolmentUrl(server, token, path));
    assert.equal(reused.status, 422);
    assert.match(await reused.text(), /already been used/);
  }

  const expired = await issueEnrolmentLink(server.store.db, operatorActor(), { uuid: uuid as string });
  await server.store.db
    .updateTable("enrolment_links")
    .set({ expires_at: new Date(Date.now() - 1000) })
    .where("used_at", "is", null)
    .execute();
  const late = await browser.get(enrolmentUrl(server, expired.token, "app"));
  assert.equal(late.status, 422);
  assert.match(await late.text(), /has expired/);

  const unknown = await browser.get(enrolmentUrl(server, "not-a-real-token"));
  assert.equal(unknown.status, 422);
  assert.match(await unknown.text(), /not recognised/);

  const refusals = await auditActions(server.store.db, "enrolment-link.refused");
  assert.deepEqual(
    refusals.map((event) => (event.after as { reason: string }).reason),
    ["used", "used", "used", "expired", "unknown"],
  );
  const issued = await auditActions(server.store.db, "enrolment-link.issued");
  assert.equal(issued.length, 2);
  const links = await server.store.db.selectFrom("enrolment_links").select("token_digest").execute();
  assert.ok(
    links.every((link) => link.token_digest !== token && link.token_digest !== expired.token),
    "only digests of tokens are stored",
  );
});

test("sign-in refuses a wrong code, a wrong password, a reused code, and locks after five failures until the cool-down passes", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const db = server.store.db;
  const [uuid] = (await singlePositionPeople(db, 1)) as [string];
  const secret = await enrolApp(server, uuid);

  const first = await beginSignIn(server, configuration, uuid, "AAL2_TOTP");
  assert.match(first.url, /\/app$/);
  const wrongCodeAnswer = await first.browser.post(first.url, {
    password: demoPassword,
    code: wrongCode(secret),
  });
  assert.equal(wrongCodeAnswer.status, 400);
  assert.match(await wrongCodeAnswer.text(), /The password or the code is not correct/);
  const wrongPassword = await first.browser.post(first.url, {
    password: "not the password",
    code: nextCode(secret),
  });
  assert.equal(wrongPassword.status, 400);
  assert.match(await wrongPassword.text(), /The password or the code is not correct/);
  const accepted = await first.browser.post(first.url, { password: demoPassword, code: nextCode(secret) });
  assert.equal(accepted.status, 303, "the right password and an unused code sign in");

  const second = await beginSignIn(server, configuration, uuid, "AAL2_TOTP");
  const reused = await second.browser.post(second.url, { password: demoPassword, code: nextCode(secret) });
  assert.equal(reused.status, 400);
  assert.match(await reused.text(), /already been used/);
  for (let attempt = 2; attempt <= 4; attempt++) {
    const answer = await second.browser.post(second.url, { password: demoPassword, code: wrongCode(secret) });
    assert.match(await answer.text(), /not correct/, `failure ${attempt} only says it was wrong`);
  }
  const fifth = await second.browser.post(second.url, { password: demoPassword, code: wrongCode(secret) });
  assert.match(await fifth.text(), /locked until \d\d:\d\d UTC/);
  // Let a fresh code exist without waiting 30 seconds: move the last used step back.
  await db
    .updateTable("totp_authenticators")
    .set({ last_used_step: timeStep(new Date()) - 10 })
    .where("uuid", "=", uuid)
    .execute();
  const whileLocked = await second.browser.post(second.url, {
    password: demoPassword,
    code: codeAt(secret, new Date()),
  });
  assert.equal(whileLocked.status, 400);
  assert.match(await whileLocked.text(), /locked until/, "even the right code is refused while locked");

  await db
    .updateTable("totp_authenticators")
    .set({ locked_until: new Date(Date.now() - 1000) })
    .where("uuid", "=", uuid)
    .execute();
  const afterCoolDown = await second.browser.post(second.url, {
    password: demoPassword,
    code: codeAt(secret, new Date()),
  });
  assert.equal(afterCoolDown.status, 303, "after the cool-down the app works again");

  const reasons = (await auditActions(db, "totp.sign-in-refused")).map(
    (event) => (event.after as { reason: string }).reason,
  );
  assert.deepEqual(reasons, [
    "wrong-password-or-code",
    "wrong-password-or-code",
    "reused-code",
    "wrong-password-or-code",
    "wrong-password-or-code",
    "wrong-password-or-code",
    "wrong-password-or-code",
    "locked",
  ]);
  assert.equal((await auditActions(db, "totp.locked")).length, 1);
  assert.equal((await auditActions(db, "totp.code-accepted")).length, 2);
});

test("an RA unlocks a locked authenticator app before its cool-down ends; the unlock is audited", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const db = server.store.db;
  const [uuid] = (await singlePositionPeople(db, 1)) as [string];
  const secret = await enrolApp(server, uuid);
  const signInOnce = async () => {
    const start = await beginSignIn(server, configuration, uuid, "AAL2_TOTP");
    for (let attempt = 1; attempt <= 5; attempt++)
      await start.browser.post(start.url, { password: demoPassword, code: wrongCode(secret) });
    return start;
  };
  const locked = await signInOnce();
  const refused = await locked.browser.post(locked.url, { password: demoPassword, code: nextCode(secret) });
  assert.match(await refused.text(), /locked until/);

  const ra = { kind: "person" as const, id: "555000000001", source: "CIM" };
  assert.deepEqual(await unlockTotp(db, ra, uuid), { wasLocked: true });
  const unlocked = await locked.browser.post(locked.url, { password: demoPassword, code: nextCode(secret) });
  assert.equal(unlocked.status, 303, "the next right code signs in at once");
  const [event] = await auditActions(db, "totp.unlocked");
  assert.equal(event?.subject_id, uuid);
  assert.deepEqual(event?.after, { lockedUntil: null, failures: 0 });

  assert.deepEqual(await unlockTotp(db, ra, uuid), { wasLocked: false }, "nothing to unlock");
  assert.equal((await auditActions(db, "totp.unlocked")).length, 1, "and nothing recorded");
  await assert.rejects(unlockTotp(db, ra, "555999999999"), /has no authenticator app/);
  await assert.rejects(unlockTotp(db, ra, "nobody"), /12-digit/);
});

/** A six-digit code that is none of the three the window accepts now. */
function wrongCode(secret: string): string {
  const now = Date.now();
  const valid = new Set([-30_000, 0, 30_000, 60_000].map((offset) => codeAt(secret, new Date(now + offset))));
  for (let candidate = 0; ; candidate++) {
    const code = String(candidate).padStart(6, "0");
    if (!valid.has(code)) return code;
  }
}

/** Starts a sign-in and says who is signing in; returns the page the journey then shows. */
async function beginSignIn(
  server: Cis2Server,
  configuration: client.Configuration,
  identifier: string,
  acr: string,
) {
  const { browser, action: identify } = await identifyStep(server, acr, new Browser(), configuration);
  const next = await browser.follow(await browser.post(identify, { identifier }), identify, server.origin);
  return { browser, url: next.url, html: await next.response.text() };
}
