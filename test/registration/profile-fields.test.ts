import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../support/cis2-server.ts";
import { uuidOf } from "../support/ra-directory.ts";
import { accessTokenFor, caller } from "./cim-api.ts";
import { pageText, signInToCim } from "./cim-browser.ts";

/** What everyone signed in sees of a profile on the API: name, UUID and current positions. */
const publicFields = ["familyName", "givenName", "middleNames", "positions", "title", "uuid"];

test("CIM API: a person with no RA role gets only the public fields, and 403 for NI-number search", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const clarke = await uuidOf(db, "Clarke");
  const bennett = await uuidOf(db, "Bennett");
  const colleague = caller(server, await accessTokenFor(server, "oliver.bennett@nhs.net"));

  const profile = await colleague("GET", `/profiles/${clarke}`);
  assert.equal(profile.status, 200);
  assert.deepEqual(Object.keys(profile.body).sort(), publicFields);
  assert.equal(profile.body.familyName, "Clarke");
  assert.ok(
    profile.body.positions.every((position: { endDate: string | null }) => position.endDate === null),
  );

  for (const query of ["niNumber=RB306849A", "email=bethany.clarke%40nhs.net", "dateOfBirth=2000-06-14"]) {
    const refused = await colleague("GET", `/profiles?${query}`);
    assert.equal(refused.status, 403, query);
    assert.match(refused.type, /^application\/problem\+json/);
    assert.match(refused.body.detail, /Only RA staff whose role covers a person may search by/);
  }
  const byName = await colleague("GET", "/profiles?name=clarke");
  assert.equal(byName.status, 200);
  assert.deepEqual(
    byName.body.map((found: object) => Object.keys(found).sort()),
    [["familyName", "givenName", "middleNames", "title", "uuid"]],
  );
  for (const part of ["authenticators", "smartcards"]) {
    const hidden = await colleague("GET", `/profiles/${clarke}/${part}`);
    assert.equal(hidden.status, 403, part);
    assert.match(hidden.type, /^application\/problem\+json/);
  }
  const positions = await colleague("GET", `/profiles/${clarke}/assignments`);
  assert.equal(positions.status, 200);
  assert.deepEqual(positions.body, profile.body.positions);

  const own = await colleague("GET", `/profiles/${bennett}`);
  assert.equal(own.body.niNumber, "NP926430B", "a person sees their own record");
  assert.equal("history" in own.body, false, "but not the RA's history of it");

  const agent = caller(server, await accessTokenFor(server, "tunde.adebayo@nhs.net"));
  const inScope = await agent("GET", `/profiles/${bennett}`);
  assert.equal(inScope.body.dateOfBirth, "1988-12-19");
  assert.ok(Array.isArray(inScope.body.history) && inScope.body.history.length > 0);
  const outOfScope = await agent("GET", `/profiles/${clarke}`);
  assert.deepEqual(Object.keys(outOfScope.body).sort(), publicFields, "outside the agent's organisation");
  const byNiNumber = await agent("GET", "/profiles?niNumber=NP926430B");
  assert.equal(byNiNumber.status, 200);
  assert.equal(byNiNumber.body[0].email, "oliver.bennett@nhs.net");
  const badDate = await agent("GET", "/profiles?dateOfBirth=19-12-1988");
  assert.equal(badDate.status, 400);
});

test("CIM pages: a person with no RA role sees name, UUID and current positions only, and a 403 page for NI-number search", async (t) => {
  const server = await startCis2Server(t);
  const clarke = await uuidOf(server.store.db, "Clarke");
  const { browser } = await signInToCim(server, "oliver.bennett@nhs.net");
  const get = async (path: string) => {
    const response = await browser.get(`${server.origin}/cim${path}`);
    return { status: response.status, html: await pageText(response) };
  };

  const form = await get("/profiles");
  assert.equal(form.status, 200);
  assert.match(form.html, /id="q"/);
  assert.doesNotMatch(
    form.html,
    /id="niNumber"|id="email"|id="dateOfBirth"|an email address|a National Insurance number/,
    "no boxes, nor words in the one box's hint, for searches refused",
  );
  const typedNi = await get("/profiles?q=RB+30+68+49+A");
  assert.equal(typedNi.status, 400, "an NI number in the one box is refused where its box would be");
  assert.match(typedNi.html, /href="#q">You cannot search by National Insurance number/);
  assert.doesNotMatch(typedNi.html, /Bethany Clarke/);

  const refused = await get("/profiles?niNumber=RB306849A");
  assert.equal(refused.status, 403);
  assert.match(refused.html, /<h1 class="nhsuk-heading-xl">You cannot do this<\/h1>/);
  assert.match(refused.html, /search by National Insurance number/);

  const found = await get("/profiles?name=clarke");
  assert.equal(found.status, 200);
  assert.match(found.html, /Bethany Clarke/);
  assert.doesNotMatch(found.html, /bethany\.clarke@nhs\.net|2000-06-14|14 June 2000/);

  const profile = await get(`/profiles/${clarke}`);
  assert.equal(profile.status, 200);
  assert.match(profile.html, /Miss Bethany Clarke/);
  assert.match(profile.html, /id="positions"[\s\S]*A99001/);
  assert.doesNotMatch(profile.html, /RB306849A|2000-06-14|14 June 2000|bethany\.clarke@nhs\.net|07700900124/);
  assert.doesNotMatch(profile.html, /id="history"|id="authenticators-heading"|id="smartcards-heading"/);
  assert.doesNotMatch(profile.html, /National Insurance number|Date of birth|Email address/);

  const agent = await signInToCim(server, "tunde.adebayo@nhs.net");
  const bennett = await uuidOf(server.store.db, "Bennett");
  const full = await pageText(await agent.browser.get(`${server.origin}/cim/profiles/${bennett}`));
  assert.match(full, /NP926430B/);
  assert.match(full, /id="history"/);
  const byNi = await pageText(await agent.browser.get(`${server.origin}/cim/profiles?niNumber=NP926430B`));
  assert.match(byNi, /oliver\.bennett@nhs\.net/);
  const byDate = await pageText(
    await agent.browser.get(
      `${server.origin}/cim/profiles?dateOfBirth-day=19&dateOfBirth-month=12&dateOfBirth-year=1988`,
    ),
  );
  assert.match(byDate, /Oliver Bennett/);
});
