import assert from "node:assert/strict";
import { test } from "node:test";
import { checkPassword } from "../../src/authenticators/password/passwords.ts";
import { ForbiddenError } from "../../src/errors.ts";
import { forceAppPasswordReset } from "../../src/registration/authenticators.ts";
import { demoPassword } from "../../src/seed/demo-sign-in.ts";
import { auditActions, enrolApp } from "../authenticators/enrolment.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { inCim, uuidOf } from "../support/ra-directory.ts";
import { formToken, pageText, signInToCim } from "./cim-browser.ts";

test("an RA forces a reset of a person's authenticator app password from their profile: audited, under the RA policy", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const priya = await uuidOf(db, "Sharma");
  await enrolApp(server, priya);
  assert.equal(await checkPassword(db, priya, demoPassword), true, "the person has a password");
  const profileUrl = `${server.origin}/cim/profiles/${priya}`;

  // Someone the RA policy does not allow to issue authenticators gets no button and is refused.
  const sponsor = await signInToCim(server, "grace.mensah@nhs.net");
  const sponsorsView = await (await sponsor.browser.get(profileUrl)).text();
  assert.doesNotMatch(sponsorsView, /id="reset-app-password"/);
  await assert.rejects(
    forceAppPasswordReset(db, inCim(await uuidOf(db, "Mensah")), { uuid: priya }),
    (error: Error) => error instanceof ForbiddenError,
  );
  assert.equal(await checkPassword(db, priya, demoPassword), true, "nothing changed");

  const { browser } = await signInToCim(server, "tunde.adebayo@nhs.net");
  const profile = await (await browser.get(profileUrl)).text();
  assert.match(profile, /id="reset-app-password"/);
  const forced = await browser.post(`${profileUrl}/authenticators/authenticator-app/password-reset`, {
    _form: formToken(profile),
  });
  assert.equal(forced.status, 303);
  const after = await browser.get(new URL(String(forced.headers.get("location")), server.origin).href);
  assert.match(await pageText(after), /password no longer signs in/);
  assert.equal(await checkPassword(db, priya, demoPassword), false, "the password signs no one in");
  const tunde = await uuidOf(db, "Adebayo");
  const [event] = await auditActions(db, "password.reset-forced");
  assert.equal(event?.subject_id, priya);
  const actor = await db
    .selectFrom("audit_events")
    .select(["actor_id"])
    .where("action", "=", "password.reset-forced")
    .executeTakeFirstOrThrow();
  assert.equal(actor.actor_id, tunde);

  // A profile with no password: a clear error, nothing audited.
  const mei = await uuidOf(db, "Kowalski");
  await db.deleteFrom("passwords").where("uuid", "=", mei).execute();
  const none = await browser.post(
    `${server.origin}/cim/profiles/${mei}/authenticators/authenticator-app/password-reset`,
    {
      _form: formToken(await (await browser.get(`${server.origin}/cim/profiles/${mei}`)).text()),
    },
  );
  assert.equal(none.status, 400);
  assert.match(await pageText(none), /has no password/);
  assert.equal((await auditActions(db, "password.reset-forced")).length, 1);
});
