import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../support/cis2-server.ts";
import { uuidOf } from "../support/ra-directory.ts";
import { formToken, pageText, signInToCim } from "./cim-browser.ts";

test("someone without an RA role changes their own contact details; a personal email address is refused", async (t) => {
  const server = await startCis2Server(t);
  const { browser, home } = await signInToCim(server, "priya.sharma@nhs.net");
  assert.match(home, /href="\/cim\/me\/contact"/);
  const url = `${server.origin}/cim/me/contact`;
  const send = async (form: Record<string, string>) =>
    browser.post(url, { _form: formToken(await (await browser.get(url)).text()), ...form });
  const email = async () =>
    (
      await server.store.db
        .selectFrom("people")
        .select(["email", "mobile"])
        .where("uuid", "=", await uuidOf(server.store.db, "Sharma"))
        .executeTakeFirstOrThrow()
    ).email;

  const personal = await send({ email: "priya@gmail.com", mobile: "07700900123" });
  assert.equal(personal.status, 400);
  assert.match(await pageText(personal), /<a href="#email">Email address must be at one of nhs\.net/);
  assert.equal(await email(), "priya.sharma@nhs.net", "bad input changes nothing");

  const saved = await send({ email: "priya.sharma2@nhs.net", mobile: "07700900123" });
  assert.equal(saved.status, 303);
  assert.equal(saved.headers.get("location"), "/cim/me/contact?done=contact-changed");
  assert.equal(await email(), "priya.sharma2@nhs.net");
  const page = await pageText(await browser.get(`${url}?done=contact-changed`));
  assert.match(page, /Your contact details were saved\./);
  assert.match(page, /value="07700900123"/);
});
