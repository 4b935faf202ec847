import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import Fastify from "fastify";
import { jwtVerify } from "jose";
import { startSmtpServer } from "../../test/support/smtp.ts";
import { testMasterKey, testStore } from "../../test/support/test-store.ts";
import { loadConfig } from "../config.ts";
import { sealerFor } from "../secrets/sealed.ts";
import { inTransaction } from "../store/database.ts";
import { registerDemoMessages } from "./demo-page.ts";
import { folderMessages, folderSender } from "./folder-sender.ts";
import { notifySender } from "./notify-sender.ts";
import { messageState, queueMessage } from "./outbox.ts";
import { senderFromSettings } from "./senders.ts";
import { smtpSender } from "./smtp-sender.ts";
import { defaultWorkerSettings, deliverDueMessages, retryDelaySeconds } from "./worker.ts";

const sealer = sealerFor(testMasterKey);
const code = "482916";
const unlockCode = { channel: "email" as const, to: "sam.smith@nhs.net", template: "unlock-code" as const };

async function queued(db: Awaited<ReturnType<typeof testStore>>["db"]) {
  return inTransaction(db, (tx) =>
    queueMessage(tx, sealer, { ...unlockCode, personalisation: { code, minutes: "15" } }),
  );
}

test("a queued email goes out by SMTP once, audited without its code", async (t) => {
  const store = await testStore(t);
  const smtp = await startSmtpServer(t);
  const id = await queued(store.db);
  const sealed = await store.db
    .selectFrom("message_outbox")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  assert.ok(
    !sealed.sealed_content.includes(code) && !sealed.sealed_content.includes("sam.smith"),
    "sealed at rest",
  );
  assert.equal(sealed.masked_recipient, "s***@nhs.net");
  const sender = smtpSender({ url: smtp.url, from: "Care Identity <no-reply@careid.test>" });
  t.after(() => sender.close?.());
  assert.deepEqual(await deliverDueMessages(store.db, sender, sealer), { sent: 1, failed: 0 });
  assert.deepEqual(await deliverDueMessages(store.db, sender, sealer), { sent: 0, failed: 0 }, "sent once");
  assert.equal(smtp.received.length, 1);
  assert.deepEqual(smtp.received[0]?.to, ["sam.smith@nhs.net"]);
  assert.match(smtp.received[0]?.text ?? "", /Subject: Your smartcard unlock code/);
  assert.match(smtp.received[0]?.text ?? "", new RegExp(`unlock your NHS smartcard is ${code}`));
  assert.match(smtp.received[0]?.text ?? "", new RegExp(`Message-ID: <${id}@careid.test>`, "i"));
  assert.equal((await messageState(store.db, id))?.status, "sent");
  const events = await store.db.selectFrom("audit_events").selectAll().where("subject_id", "=", id).execute();
  assert.deepEqual(
    events.map((event) => event.action),
    ["message.sent"],
  );
  assert.ok(!JSON.stringify(events).includes(code) && !JSON.stringify(events).includes("sam.smith"));
});

test("an SMTP server that is down or says try later is retried with growing waits; one that refuses fails the message", async (t) => {
  const store = await testStore(t);
  const settings = { ...defaultWorkerSettings, maxAttempts: 3 };
  const down = smtpSender({ url: "smtp://127.0.0.1:1", from: "no-reply@careid.test" });
  const id = await queued(store.db);
  const start = new Date();
  assert.deepEqual(await deliverDueMessages(store.db, down, sealer, settings, start), { sent: 0, failed: 1 });
  let state = await messageState(store.db, id);
  assert.equal(state?.status, "queued");
  assert.match(state?.lastError ?? "", /SMTP/);
  assert.deepEqual(
    await deliverDueMessages(store.db, down, sealer, settings, start),
    { sent: 0, failed: 0 },
    "waits",
  );
  const later = await startSmtpServer(t, { refuse: 451 });
  const busy = smtpSender({ url: later.url, from: "no-reply@careid.test" });
  const second = new Date(start.getTime() + retryDelaySeconds(settings, 1) * 1000);
  assert.deepEqual(await deliverDueMessages(store.db, busy, sealer, settings, second), {
    sent: 0,
    failed: 1,
  });
  assert.equal((await messageState(store.db, id))?.status, "queued", "451 is tried again");
  const working = await startSmtpServer(t);
  const sender = smtpSender({ url: working.url, from: "no-reply@careid.test" });
  const third = new Date(second.getTime() + retryDelaySeconds(settings, 2) * 1000);
  assert.deepEqual(await deliverDueMessages(store.db, sender, sealer, settings, third), {
    sent: 1,
    failed: 0,
  });
  assert.equal(working.received.length, 1);
  state = await messageState(store.db, id);
  assert.equal(state?.attempts, 3);

  const refusing = await startSmtpServer(t, { refuse: 550 });
  const refused = await queued(store.db);
  await deliverDueMessages(
    store.db,
    smtpSender({ url: refusing.url, from: "no-reply@careid.test" }),
    sealer,
    settings,
  );
  assert.equal((await messageState(store.db, refused))?.status, "failed", "550 is for good");
  const actions = (
    await store.db
      .selectFrom("audit_events")
      .select("action")
      .where("subject_type", "=", "message")
      .orderBy("seq")
      .execute()
  ).map((event) => event.action);
  assert.deepEqual(actions, [
    "message.delivery-deferred",
    "message.delivery-deferred",
    "message.sent",
    "message.failed",
  ]);
  for (const used of [down, busy, sender]) used.close?.();
});

test("two workers at once send a message once", async (t) => {
  const store = await testStore(t);
  const smtp = await startSmtpServer(t);
  const sender = smtpSender({ url: smtp.url, from: "no-reply@careid.test" });
  t.after(() => sender.close?.());
  for (let index = 0; index < 6; index++) await queued(store.db);
  const rounds = await Promise.all([1, 2, 3].map(() => deliverDueMessages(store.db, sender, sealer)));
  assert.equal(
    rounds.reduce((sum, round) => sum + round.sent, 0),
    6,
  );
  assert.equal(smtp.received.length, 6);
});

test("GOV.UK Notify is called with its template, personalisation and a JWT signed with the key's secret", async (t) => {
  const store = await testStore(t);
  const serviceId = "26785a09-ab16-4eb0-8407-a37497a57506";
  const secret = "3d844edf-8d35-48ac-975b-e847b4f122b0";
  const templateId = "f33517ff-2a88-4f6e-b855-c550268ce08a";
  const calls: { path: string; body: Record<string, unknown>; issuer: unknown }[] = [];
  const notify = createServer(async (request, response) => {
    let text = "";
    for await (const chunk of request) text += chunk;
    const token = String(request.headers.authorization ?? "").replace(/^Bearer /, "");
    try {
      const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ["HS256"] });
      if (Math.abs(Number(payload.iat) - Date.now() / 1000) > 30) throw new Error("stale");
      calls.push({ path: request.url ?? "", body: JSON.parse(text), issuer: payload.iss });
      response.writeHead(201, { "content-type": "application/json" });
      response.end(JSON.stringify({ id: "740e5834-3a29-46b4-9a6f-16142fde533a" }));
    } catch {
      response.writeHead(403, { "content-type": "application/json" });
      response.end(
        JSON.stringify({ errors: [{ error: "AuthError", message: "Invalid token" }], status_code: 403 }),
      );
    }
  });
  await new Promise<void>((resolve) => notify.listen(0, "127.0.0.1", resolve));
  t.after(() => notify.close());
  const baseUrl = `http://127.0.0.1:${(notify.address() as AddressInfo).port}`;
  const sender = notifySender({
    apiKey: `careid_test-${serviceId}-${secret}`,
    baseUrl,
    templateIds: { "unlock-code": templateId },
  });
  const sms = await inTransaction(store.db, (tx) =>
    queueMessage(tx, sealer, {
      channel: "sms",
      to: "07700900123",
      template: "unlock-code",
      personalisation: { code, minutes: "15" },
    }),
  );
  assert.deepEqual(await deliverDueMessages(store.db, sender, sealer), { sent: 1, failed: 0 });
  assert.deepEqual(calls, [
    {
      path: "/v2/notifications/sms",
      issuer: serviceId,
      body: {
        template_id: templateId,
        phone_number: "07700900123",
        personalisation: { code, minutes: "15" },
        reference: sms,
      },
    },
  ]);
  const wrongKey = notifySender({
    apiKey: `careid_test-${serviceId}-${"0".repeat(8)}-8d35-48ac-975b-e847b4f122b0`,
    baseUrl,
    templateIds: { "unlock-code": templateId },
  });
  const refused = await queued(store.db);
  assert.deepEqual(await deliverDueMessages(store.db, wrongKey, sealer), { sent: 0, failed: 1 });
  const state = await messageState(store.db, refused);
  assert.equal(state?.status, "failed", "a 403 is not retried");
  assert.match(state?.lastError ?? "", /Notify 403: Invalid token/);
});

test("without SMTP or Notify, messages are written to the outbox folder; configuration chooses the sender", async (t) => {
  const store = await testStore(t);
  const folder = mkdtempSync(join(tmpdir(), "careid-outbox-"));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const config = loadConfig({ CAREID_OUTBOX_DIR: folder, CAREID_DATA_DIR: folder });
  const sender = senderFromSettings(config.messages);
  assert.equal(sender.kind, "outbox-folder");
  await queued(store.db);
  await deliverDueMessages(store.db, sender, sealer);
  const [message] = folderMessages(folder);
  assert.match(
    message?.text ?? "",
    new RegExp(`To: sam.smith@nhs.net\nSubject: Your smartcard unlock code[\\s\\S]*${code}`),
  );
  assert.equal(folderSender(folder).kind, "outbox-folder");
  const app = Fastify();
  registerDemoMessages(app, folder);
  const page = await app.inject({ url: "/demo/messages" });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, new RegExp(`<pre data-message>To: sam.smith@nhs.net[\\s\\S]*${code}`));
  const smtpOnly = loadConfig({ CAREID_SMTP_URL: "smtp://127.0.0.1:25", CAREID_SMTP_FROM: "a@b.test" });
  assert.equal(senderFromSettings(smtpOnly.messages).kind, "smtp");
  assert.throws(
    () => loadConfig({ CAREID_SMTP_URL: "http://x" }),
    /CAREID_SMTP_URL must be an smtp:\/\/.*\n.*set together/,
  );
  assert.throws(
    () => loadConfig({ CAREID_NOTIFY_API_KEY: "nonsense" }),
    /Notify API key[\s\S]*needs CAREID_NOTIFY_TEMPLATES/,
  );
});
