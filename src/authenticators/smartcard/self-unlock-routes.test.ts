import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../../../test/support/cis2-server.ts";
import { csrFor, softwareCardKeys, testActor, testPerson } from "../../../test/support/pki.ts";
import { loadConfig } from "../../config.ts";
import { startMessageDelivery } from "../../messaging/delivery.ts";
import { createCardOrder } from "./orders.ts";

test("the unlock pages: a code that cannot be sent is said so, refusals have their own page, only the agent gets an unlock code", async (t) => {
  const { store, origin, cis2 } = await startCis2Server(t);
  // An SMTP relay that is down: nothing listens on port 1.
  const down = loadConfig({
    CAREID_SMTP_URL: "smtp://127.0.0.1:1",
    CAREID_SMTP_FROM: "no-reply@careid.test",
  });
  const worker = startMessageDelivery(down, store.db, cis2.sealer, console, 100);
  t.after(() => worker.stop());
  const holder = await testPerson(store);
  await store.db
    .updateTable("people")
    .set({ email: "pat.jones@nhs.net" })
    .where("uuid", "=", holder)
    .execute();
  const order = await createCardOrder(store.db, testActor, { kind: "issue", holder });
  const issued = await fetch(`${origin}/api/smartcards/issue`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      orderCode: order.code,
      cardSerial: "PAGE0001",
      authenticationCsr: await csrFor(await softwareCardKeys()),
      signingCsr: await csrFor(await softwareCardKeys()),
    }),
  });
  assert.equal(issued.status, 201);
  const form = (path: string, fields: Record<string, string>) =>
    fetch(`${origin}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
    });

  const start = await fetch(`${origin}/smartcard/unlock`);
  assert.equal(start.status, 200);
  assert.match(await start.text(), /data-unlock-agent="http:\/\/127\.0\.0\.1:8765"/);

  const delayed = await form("/smartcard/unlock", { cardSerial: "PAGE0001", channel: "email" });
  assert.equal(delayed.status, 200);
  const delayedPage = await delayed.text();
  assert.match(delayedPage, /The code has not been sent yet/);
  assert.match(delayedPage, /p\*\*\*@nhs\.net/);
  const attempt = /name="attempt" value="([^"]+)"/.exec(delayedPage)?.[1] ?? "";

  const wrong = await form("/smartcard/unlock/code", { attempt, code: "12" });
  assert.equal(wrong.status, 422);
  const wrongPage = await wrong.text();
  assert.match(wrongPage, /There is a problem/);
  assert.match(wrongPage, /You can try 2 more times/);

  const unknown = await form("/smartcard/unlock", { cardSerial: "NOSUCH99" });
  assert.equal(unknown.status, 404);
  assert.match(await unknown.text(), /We do not know this smartcard/);
  const unreadable = await form("/smartcard/unlock", { cardSerial: "" });
  assert.equal(unreadable.status, 404);
  assert.match(await unreadable.text(), /We could not read your smartcard/);

  const release = (headers: Record<string, string>) =>
    fetch(`${origin}/api/smartcards/self-unlock/release`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ ticket: "A".repeat(43), cardSerial: "PAGE0001" }),
    });
  const fromPage = await release({ origin });
  assert.equal(fromPage.status, 403);
  assert.equal(fromPage.headers.get("content-type"), "application/problem+json; charset=utf-8");
  const badTicket = await release({});
  assert.equal(badTicket.status, 422);
  assert.match(((await badTicket.json()) as { detail: string }).detail, /not valid any more/);

  const deferred = await store.db
    .selectFrom("audit_events")
    .select("after")
    .where("action", "=", "message.delivery-deferred")
    .executeTakeFirstOrThrow();
  assert.match(JSON.stringify(deferred.after), /p\*\*\*@nhs\.net/);
  assert.doesNotMatch(JSON.stringify(deferred.after), /pat\.jones/);
});
