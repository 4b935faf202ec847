import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { operatorActor } from "../../src/audit/actor.ts";
import { signInLimits } from "../../src/authenticators/throttle.ts";
import { unlockTotp } from "../../src/authenticators/totp/app-authenticators.ts";
import { authenticatorsOf } from "../../src/registration/authenticators.ts";
import { demoPassword } from "../../src/seed/demo-sign-in.ts";
import { auditActions, enrolApp, nextCode, singlePositionPeople } from "../authenticators/enrolment.ts";
import { Browser, formAction } from "../support/browser.ts";
import { type Cis2Server, startCis2Server } from "../support/cis2-server.ts";
import { identifyStep } from "./journey.ts";

const knownEmail = "margaret.oconnell@nhs.net";
const behindProxy = { CAREID_TRUST_PROXY: "true" };

/** Starts a sign-in and posts the identify step; returns its answer, the page it leads to, and the journey's uid. */
async function identify(server: Cis2Server, identifier: string, acr: string, browser = new Browser()) {
  const { action, uid } = await identifyStep(server, acr, browser);
  const answer = await browser.post(action, { identifier });
  const next = await browser.follow(answer, action, server.origin);
  return {
    browser,
    action,
    uid,
    answer,
    next: { status: next.response.status, url: next.url, response: next.response },
  };
}

/** A page with what differs by journey (its uid, the identifier shown, the CSP nonce) taken out. */
function normalised(html: string, uid: string, identifier: string): string {
  return html
    .replaceAll(uid, "UID")
    .replaceAll(identifier, "IDENTIFIER")
    .replaceAll(/nonce="[^"]*"/g, 'nonce="NONCE"')
    .replaceAll(/data-retry-at>[^<]*</g, "data-retry-at>TIME<")
    .replaceAll(/\(in \d+ (seconds|minutes?)\)/g, "(in WAIT)");
}

async function uuidOfEmail(server: Cis2Server, email: string): Promise<string> {
  const row = await server.store.db
    .selectFrom("people")
    .select("uuid")
    .where("email", "=", email)
    .executeTakeFirstOrThrow();
  return row.uuid;
}

/** Starts an authenticator-app sign-in from a client address, as the proxy in front reports it. */
function appSignInFrom(server: Cis2Server, uuid: string, address: string) {
  return identify(server, uuid, "AAL2_TOTP", new Browser({ headers: { "x-forwarded-for": address } }));
}

/** Lets a back-off's wait pass without waiting: the throttle's last attempt is moved into the past. */
async function letTheWaitPass(server: Cis2Server): Promise<void> {
  await server.store.db
    .updateTable("sign_in_throttles")
    .set({ last_attempt_at: new Date(Date.now() - 3_600_000) })
    .where("key", "like", "password%")
    .execute();
}

test("wrong development passwords back off: the sixth in a row gets a 429 page with Retry-After, even if right", async (t) => {
  const server = await startCis2Server(t);
  const start = await identify(server, knownEmail, "AAL1_USERPASS");
  assert.match(start.next.url, /\/password$/);
  const free = signInLimits.passwordFailuresPerAccountAndAddress.free;
  for (let attempt = 1; attempt <= free; attempt++) {
    const wrong = await start.browser.post(start.next.url, { password: `wrong password ${attempt}` });
    assert.equal(wrong.status, 400, `wrong password ${attempt} is answered as wrong`);
  }
  const throttled = await start.browser.post(start.next.url, { password: demoPassword });
  assert.equal(throttled.status, 429, "even the right password waits");
  const retryAfter = Number(throttled.headers.get("retry-after"));
  assert.ok(retryAfter > 0 && retryAfter <= 30, `Retry-After ${retryAfter} is the first wait`);
  const html = await throttled.text();
  assert.match(html, /You have tried to sign in too many times/);
  assert.match(html, /You can try again at <strong data-retry-at>\d\d:\d\d UTC<\/strong> \(in \d+ seconds\)/);
  assert.match(html, /class="nhsuk-header/, "the page is in the NHS design system");
  assert.match(html, new RegExp(`href="/cis2/signin/${start.uid}/password">Try again`));

  await letTheWaitPass(server);
  const right = await start.browser.post(start.next.url, { password: demoPassword });
  assert.equal(right.status, 303, "once the wait is over the right password signs in");
  const reached = await auditActions(server.store.db, "sign-in.limit-reached");
  assert.deepEqual(
    reached.map((event) => [event.subject_id, (event.after as { limit: string }).limit]),
    [[await uuidOfEmail(server, knownEmail), "passwordFailuresPerAccountAndAddress"]],
  );
});

test("the identify step and the pages after it answer alike for known and unknown identifiers", async (t) => {
  const server = await startCis2Server(t);
  const knownUuid = await uuidOfEmail(server, knownEmail);
  const unknown = ["555999999998", "nobody.here@nhs.net"];
  const pages = async (identifier: string) => {
    // Each identifier from a clean slate: the UUID and the email of one person share their counters.
    await server.store.db.deleteFrom("sign_in_throttles").execute();
    const start = await identify(server, identifier, "AAL1_USERPASS");
    const answers = [];
    for (let attempt = 1; attempt <= signInLimits.passwordFailuresPerAccountAndAddress.free + 1; attempt++) {
      const wrong = await start.browser.post(start.next.url, { password: "not the password at all" });
      answers.push(`${wrong.status} ${normalised(await wrong.text(), start.uid, identifier)}`);
    }
    return {
      identifyStatus: start.answer.status,
      next: start.next.url.replace(start.uid, "UID"),
      page: normalised(await start.next.response.text(), start.uid, identifier),
      answers,
    };
  };
  const expected = await pages(knownUuid);
  assert.equal(expected.identifyStatus, 303);
  assert.match(expected.answers[0] as string, /^400 .*The password is not correct/s);
  assert.match(expected.answers.at(-1) as string, /^429 /);
  for (const identifier of [knownEmail, ...unknown])
    assert.deepEqual(await pages(identifier), expected, `${identifier} is answered as ${knownUuid} is`);

  // The authenticator app: someone holding one, and an identifier naming no one.
  const [holder] = (await singlePositionPeople(server.store.db, 1)) as [string];
  await enrolApp(server, holder);
  const appPages = async (identifier: string) => {
    const start = await identify(server, identifier, "AAL2_TOTP");
    const wrong = await start.browser.post(start.next.url, {
      password: "not the password at all",
      code: "123456",
    });
    return [
      start.answer.status,
      start.next.url.replace(start.uid, "UID"),
      normalised(await start.next.response.text(), start.uid, identifier),
      wrong.status,
      normalised(await wrong.text(), start.uid, identifier),
    ];
  };
  const appExpected = await appPages(holder);
  assert.match(appExpected[1] as string, /\/UID\/app$/);
  assert.deepEqual(await appPages("555999999997"), appExpected);

  // A class nobody here can meet is refused at the relying party in the same words.
  const refusal = async (identifier: string) => {
    const start = await identify(server, identifier, "AAL3_FIDO2");
    const callback = new URL(start.next.url);
    return [callback.searchParams.get("error"), callback.searchParams.get("error_description")];
  };
  assert.deepEqual(await refusal("555999999996"), await refusal(holder));
});

test("identify steps from one client address are throttled, whoever they name", async (t) => {
  const server = await startCis2Server(t, behindProxy);
  // The limit counts in windows aligned to the clock's minutes: a window that ended during the
  // few seconds of attempts would start the count again, and the last attempt would pass.
  const windowMilliseconds = signInLimits.identifyPerAddress.windowSeconds * 1000;
  const left = windowMilliseconds - (Date.now() % windowMilliseconds);
  if (left < 20_000) await sleep(left);
  const fromHere = new Browser({ headers: { "x-forwarded-for": "203.0.113.10" } });
  const start = await identify(server, knownEmail, "AAL1_USERPASS", fromHere);
  assert.equal(start.answer.status, 303);
  for (let attempt = 2; attempt <= signInLimits.identifyPerAddress.attempts; attempt++) {
    const answer = await fromHere.post(start.action, { identifier: `someone${attempt}@nhs.net` });
    assert.equal(answer.status, 303, `identify ${attempt} is answered`);
  }
  const throttled = await fromHere.post(start.action, { identifier: knownEmail });
  assert.equal(throttled.status, 429);
  assert.ok(Number(throttled.headers.get("retry-after")) <= 60);
  assert.match(await throttled.text(), /You have tried to sign in too many times/);
  const elsewhere = await identify(
    server,
    knownEmail,
    "AAL1_USERPASS",
    new Browser({ headers: { "x-forwarded-for": "198.51.100.20" } }),
  );
  assert.equal(elsewhere.answer.status, 303, "another address is not held back");
});

test("a stranger who knows someone's UUID cannot lock their authenticator app", async (t) => {
  const server = await startCis2Server(t, behindProxy);
  const db = server.store.db;
  const [victim] = (await singlePositionPeople(db, 1)) as [string];
  const secret = await enrolApp(server, victim);

  const stranger = await appSignInFrom(server, victim, "203.0.113.66");
  assert.match(stranger.next.url, /\/app$/);
  let refusedByBackOff = 0;
  for (let round = 0; round < 3; round++) {
    for (let attempt = 0; attempt < 6; attempt++) {
      const answer = await stranger.browser.post(stranger.next.url, {
        password: `guess ${round}-${attempt}`,
        code: String(100000 + attempt),
      });
      const html = await answer.text();
      if (answer.status === 429) refusedByBackOff++;
      else assert.match(html, /The password or the code is not correct/);
      assert.doesNotMatch(html, /locked/, "a stranger is never told of a lock");
    }
    await letTheWaitPass(server);
  }
  assert.ok(refusedByBackOff >= 3, "the stranger's guesses were slowed");
  const app = await db
    .selectFrom("totp_authenticators")
    .selectAll()
    .where("uuid", "=", victim)
    .executeTakeFirstOrThrow();
  assert.equal(app.locked_until, null, "the app is not locked");
  assert.equal(app.failed_attempts, 0, "wrong passwords do not count towards the app's lock");
  assert.equal((await auditActions(db, "totp.locked")).length, 0);

  const holder = await appSignInFrom(server, victim, "198.51.100.44");
  const signedIn = await holder.browser.post(holder.next.url, {
    password: demoPassword,
    code: nextCode(secret),
  });
  assert.equal(signedIn.status, 303, "the holder signs in at once from their own address");
});

test("a day's cap on wrong passwords holds from every address; an RA's unlock lifts it", async (t) => {
  const server = await startCis2Server(t, behindProxy);
  const db = server.store.db;
  const [victim] = (await singlePositionPeople(db, 1)) as [string];
  const secret = await enrolApp(server, victim);
  const { attempts } = signInLimits.guessesPerAccountPerDay;
  const perAddress = signInLimits.passwordFailuresPerAccountAndAddress.free;
  let guesses = 0;
  for (let address = 1; guesses < attempts; address++) {
    const start = await appSignInFrom(server, victim, `10.20.${address}.1`);
    for (let attempt = 0; attempt < perAddress && guesses < attempts; attempt++, guesses++) {
      const answer = await start.browser.post(start.next.url, {
        password: `guess ${guesses}`,
        code: "000000",
      });
      assert.equal(answer.status, 400, `guess ${guesses + 1} is answered`);
    }
  }
  const holder = await appSignInFrom(server, victim, "198.51.100.45");
  const capped = await holder.browser.post(holder.next.url, {
    password: demoPassword,
    code: nextCode(secret),
  });
  assert.equal(capped.status, 429, "after the day's cap not even the holder gets in");
  const endOfDay = new Date();
  endOfDay.setUTCHours(24, 0, 0, 0);
  const retryAfter = Number(capped.headers.get("retry-after"));
  assert.ok(Math.abs(Date.now() + retryAfter * 1000 - endOfDay.getTime()) < 5000, "until the UTC day ends");
  assert.match(await capped.text(), /ask your Registration Authority to unlock your sign-in/);
  const [reached] = (await auditActions(db, "sign-in.limit-reached")).filter(
    (event) => (event.after as { limit: string }).limit === "guessesPerAccountPerDay",
  );
  assert.equal(reached?.subject_id, victim);

  const [app] = await authenticatorsOf(db, victim);
  assert.equal(app?.locked, true, "Care Identity Management shows the app as locked, and so offers Unlock");
  assert.deepEqual(await unlockTotp(db, operatorActor(), victim), { wasLocked: true }, "what the CLI runs");
  const unlocked = await db
    .selectFrom("audit_events")
    .select("before")
    .where("action", "=", "totp.unlocked")
    .executeTakeFirst();
  assert.deepEqual(unlocked?.before, { lockedUntil: null, failures: 0, dailyCapReached: true });
  const after = await holder.browser.post(holder.next.url, {
    password: demoPassword,
    code: nextCode(secret),
  });
  assert.equal(after.status, 303, "after the unlock the holder signs in");
});

test("the security-key step is throttled per account and address", async (t) => {
  const server = await startCis2Server(t);
  const [person] = (await singlePositionPeople(server.store.db, 1)) as [string];
  await server.store.db
    .insertInto("webauthn_credentials")
    .values({
      credential_id: "dGVzdC1jcmVkZW50aWFs",
      uuid: person,
      method: "FIDO2",
      public_key: "AA",
      counter: 0,
      aaguid: "00000000-0000-0000-0000-000000000000",
      device_type: "singleDevice",
      backed_up: false,
      kind: "security-key",
      name: "Test key",
    })
    .execute();
  const start = await identify(server, person, "AAL3_FIDO2");
  assert.equal(start.answer.status, 200, "the identify step answers with the security-key page");
  const keyStep = formAction(await start.next.response.text(), start.action);
  assert.match(keyStep, /\/security-key$/);
  const free = signInLimits.securityKeyFailuresPerAccountAndAddress.free;
  for (let attempt = 1; attempt <= free; attempt++) {
    const answer = await start.browser.post(keyStep, {
      response: JSON.stringify({ id: "c29tZXRoaW5nLWVsc2U", type: "public-key", response: {} }),
    });
    assert.equal(answer.status, 400, `refused answer ${attempt}`);
  }
  const throttled = await start.browser.post(keyStep, { response: "{}" });
  assert.equal(throttled.status, 429);
  assert.ok(Number(throttled.headers.get("retry-after")) > 0);
  assert.match(await throttled.text(), new RegExp(`href="/cis2/signin/${start.uid}/security-key">Try again`));
  const again = await start.browser.get(keyStep);
  assert.equal(again.status, 200, "the page the refusal's link leads back to");
});
