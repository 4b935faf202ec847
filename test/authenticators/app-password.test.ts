import assert from "node:assert/strict";
import { test } from "node:test";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { newPasswordProblem } from "../../src/authenticators/password/new-password.ts";
import { checkPassword, forcePasswordReset } from "../../src/authenticators/password/passwords.ts";
import { codeAt, timeStep } from "../../src/authenticators/totp/codes.ts";
import { smtpSender } from "../../src/messaging/smtp-sender.ts";
import { deliverDueMessages } from "../../src/messaging/worker.ts";
import { demoClientConfiguration, signIn } from "../cis2/journey.ts";
import { Browser } from "../support/browser.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { startSmtpServer } from "../support/smtp.ts";
import { auditActions, enrolmentUrl, nextCode, secretOnPage, singlePositionPeople } from "./enrolment.ts";

test("a new password follows NIST SP 800-63B: 8 characters or more, not on the common list, no composition rules", () => {
  assert.match(String(newPasswordProblem("short")), /at least 8/);
  assert.match(String(newPasswordProblem("Password123")), /too common/);
  assert.match(String(newPasswordProblem("qwertyuiop")), /too common/);
  assert.match(String(newPasswordProblem("aaaaaaaaaa")), /repeated/);
  assert.match(String(newPasswordProblem("my 555057896106 pass", { uuid: "555057896106" })), /UUID/);
  assert.equal(newPasswordProblem("correct horse battery staple"), undefined);
  assert.equal(newPasswordProblem("alllowercase words"), undefined, "no composition rules");
  assert.equal(newPasswordProblem("ünïcødé✓✓"), undefined, "any characters");
});

test("the authenticator app for real users: a password chosen at enrolment, sign-in, a forgotten password reset by email and app codes, an RA's forced reset", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const smtp = await startSmtpServer(t);
  const sender = smtpSender({ url: smtp.url, from: "Care Identity <no-reply@careid.test>" });
  t.after(() => sender.close?.());
  const [uuid] = (await singlePositionPeople(db, 1)) as [string];
  // A real user: no demo password.
  await db.deleteFrom("passwords").where("uuid", "=", uuid).execute();
  await db.updateTable("people").set({ email: "new.starter@nhs.net" }).where("uuid", "=", uuid).execute();

  const setsBefore = (await auditActions(db, "password.set")).filter(
    (event) => event.subject_id === uuid,
  ).length;
  const { token } = await issueEnrolmentLink(db, operatorActor(), { uuid });
  const browser = new Browser();
  const url = enrolmentUrl(server, token, "app");
  const secret = secretOnPage(await (await browser.get(url)).text());
  const chosen = "a long walk by the river";
  const code = () => codeAt(secret, new Date());
  for (const [form, message] of [
    [{ code: code() }, /at least 8 characters/],
    [{ code: code(), password: "password123", confirmation: "password123" }, /too common/],
    [{ code: code(), password: chosen, confirmation: `${chosen}.` }, /do not match/],
  ] as const) {
    const refused = await browser.post(url, form);
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), message);
  }
  assert.equal(await checkPassword(db, uuid, chosen), false, "nothing set by a refused form");
  const enrolled = await browser.post(url, { code: code(), password: chosen, confirmation: chosen });
  assert.equal(enrolled.status, 200);
  assert.match(await enrolled.text(), /Your authenticator app is set up/);
  assert.equal(await checkPassword(db, uuid, chosen), true);
  assert.deepEqual(
    (await auditActions(db, "password.set")).filter((event) => event.subject_id === uuid).length,
    setsBefore + 1,
  );
  assert.ok(!JSON.stringify(await db.selectFrom("passwords").selectAll().execute()).includes(chosen));

  // Signing in to a relying party with the app and the chosen password.
  const journey = await signIn(server, await demoClientConfiguration(server), {
    identifier: uuid,
    acr: "AAL2_TOTP",
    password: chosen,
    code: () => nextCode(secret),
  });
  assert.ok(journey.callback.searchParams.get("code"), "signed in with the app and the chosen password");

  // Forgotten: ask for a code by email; enter it with an app code and a new password.
  const reset = new Browser();
  const origin = server.origin;
  const asked = await reset.post(`${origin}/authenticators/password-reset`, { identifier: uuid });
  assert.equal(asked.status, 200);
  assert.deepEqual(await deliverDueMessages(db, sender, server.cis2.sealer), { sent: 1, failed: 0 });
  assert.deepEqual(smtp.received[0]?.to, ["new.starter@nhs.net"]);
  const emailed = /reset the password you use with your authenticator app is (\d{6})/.exec(
    (smtp.received[0]?.text ?? "").replaceAll(/=\r?\n/g, ""),
  )?.[1];
  assert.ok(emailed, "the email holds the code");
  const renewed = "a different walk by the sea";
  // The sign-in spent the next step's code: wait (at most one step) until a later one is current.
  const spent = timeStep(new Date()) + 1;
  while (timeStep(new Date(Date.now() + 30_000)) <= spent)
    await new Promise((resolve) => setTimeout(resolve, 500));
  const appCode = codeAt(secret, new Date(Date.now() + 30_000));
  const wrong = await reset.post(`${origin}/authenticators/password-reset/confirm`, {
    emailCode: emailed === "000000" ? "111111" : "000000",
    appCode,
    password: renewed,
    confirmation: renewed,
  });
  assert.equal(wrong.status, 400);
  assert.match(await wrong.text(), /not correct/);
  const stranger = await new Browser().post(`${origin}/authenticators/password-reset/confirm`, {
    emailCode: emailed,
    appCode,
    password: renewed,
    confirmation: renewed,
  });
  assert.equal(stranger.status, 400, "the code works only in the browser that asked for it");
  const done = await reset.post(`${origin}/authenticators/password-reset/confirm`, {
    emailCode: emailed,
    appCode,
    password: renewed,
    confirmation: renewed,
  });
  assert.equal(done.status, 200);
  assert.match(await done.text(), /Your password has been changed/);
  assert.equal(await checkPassword(db, uuid, renewed), true);
  assert.equal(await checkPassword(db, uuid, chosen), false);
  const again = await reset.post(`${origin}/authenticators/password-reset/confirm`, {
    emailCode: emailed,
    appCode: codeAt(secret, new Date(Date.now() + 30_000)),
    password: "yet another long one",
    confirmation: "yet another long one",
  });
  assert.equal(again.status, 400, "a reset is used once");
  assert.deepEqual(
    [
      ...(await auditActions(db, "password.reset-requested")),
      ...(await auditActions(db, "password.reset-refused")),
      ...(await auditActions(db, "password.reset")),
    ].map((event) => event.action),
    ["password.reset-requested", "password.reset-refused", "password.reset"],
  );
  assert.ok(!JSON.stringify(await auditActions(db, "password.reset-requested")).includes(emailed));

  // An unknown identifier is answered alike, and nothing is sent.
  const unknown = await new Browser().post(`${origin}/authenticators/password-reset`, {
    identifier: "nobody@nhs.net",
  });
  assert.equal(unknown.status, 200);
  assert.deepEqual(await deliverDueMessages(db, sender, server.cis2.sealer), { sent: 0, failed: 0 });

  // An RA forces a reset: the password signs no one in until its holder resets it.
  await forcePasswordReset(db, operatorActor(), uuid);
  assert.equal(await checkPassword(db, uuid, renewed), false);
  assert.equal((await auditActions(db, "password.reset-forced")).at(-1)?.subject_id, uuid);
});
