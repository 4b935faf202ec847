import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../support/cis2-server.ts";
import { formToken, pageText, signInToCim } from "./cim-browser.ts";

const adaEvidence = {
  odsCode: "RZZ",
  title: "Ms",
  givenName: "Ada",
  familyName: "Lovelace",
  "dateOfBirth-day": "10",
  "dateOfBirth-month": "12",
  "dateOfBirth-year": "1985",
  niNumber: "AB 12 34 56 C",
  email: "ada.lovelace@nhs.net",
  document0Kind: "passport",
  document0Reference: "123456789",
  document0Name: "Ada Lovelace",
  document0Expires: "2031-01-01",
  document1Kind: "utility-bill",
  document1Reference: "ELEC-99812",
  document2Kind: "bank-statement",
  document2Reference: "BANK-55120",
  confirmed: "yes",
};

test("an ID checker creates a profile with its identity checks; a likely duplicate is caught; an RA agent changes a name with a reason", async (t) => {
  const server = await startCis2Server(t);
  const checker = await signInToCim(server, "hannah.kowalski@nhs.net");
  assert.match(checker.home, /href="\/cim\/profiles\/new"/, "the ID checker is offered Create a profile");
  const create = `${server.origin}/cim/profiles/new`;
  const send = async (form: Record<string, string>) => {
    const token = formToken(await (await checker.browser.get(create)).text());
    return checker.browser.post(create, { _form: token, ...form });
  };

  const created = await send(adaEvidence);
  assert.equal(created.status, 303, await pageText(created));
  const location = created.headers.get("location") ?? "";
  assert.match(location, /^\/cim\/profiles\/\d{12}\?done=created$/);
  const uuid = location.slice("/cim/profiles/".length, "/cim/profiles/".length + 12);
  const ada = await server.store.db
    .selectFrom("people")
    .selectAll()
    .where("uuid", "=", uuid)
    .executeTakeFirstOrThrow();
  assert.equal(ada.date_of_birth, "1985-12-10");
  assert.equal(ada.ni_number, "AB123456C");
  assert.equal(ada.identity_assurance_level, 3);
  const evidence = ada.identity_evidence as { documents: { kind: string }[]; confirmedBy: string };
  assert.deepEqual(
    evidence.documents.map((document) => document.kind),
    ["passport", "utility-bill", "bank-statement"],
  );
  const profile = await pageText(await checker.browser.get(`${server.origin}${location}`));
  assert.match(profile, /The profile was created\./);
  assert.match(profile, /Identity verified/);

  const again = await send({ ...adaEvidence, niNumber: "" });
  assert.equal(again.status, 409);
  const html = await pageText(again);
  assert.match(html, new RegExp(`<a href="#notDuplicateOf">${uuid} has the same name and date of birth`));
  assert.match(html, /id="notDuplicateOf"/, "the RA can say they checked it is someone else");

  const agent = await signInToCim(server, "tunde.adebayo@nhs.net");
  const change = `${server.origin}/cim/profiles/${uuid}/change`;
  const changeForm = async () => {
    const page = await (await agent.browser.get(change)).text();
    assert.match(page, /value="Lovelace"/, "the form starts from the profile");
    return formToken(page);
  };
  const withoutReason = await agent.browser.post(change, {
    _form: await changeForm(),
    ...adaEvidence,
    familyName: "King",
  });
  assert.equal(withoutReason.status, 400);
  assert.match(await pageText(withoutReason), /<a href="#reason">Reason is required to change a name/);
  const renamed = await agent.browser.post(change, {
    _form: await changeForm(),
    ...adaEvidence,
    familyName: "King",
    reason: "Marriage",
  });
  assert.equal(renamed.status, 303);
  const after = await server.store.db
    .selectFrom("people")
    .select(["family_name", "ni_number"])
    .where("uuid", "=", uuid)
    .executeTakeFirstOrThrow();
  assert.deepEqual(after, { family_name: "King", ni_number: "AB123456C" });
});
