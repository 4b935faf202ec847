import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../support/cis2-server.ts";
import { pageText, signInToCim } from "./cim-browser.ts";

test("CIM finds profiles by name, UUID, email, NI number and organisation, and shows one", async (t) => {
  const server = await startCis2Server(t);
  const { browser, home } = await signInToCim(server, "tunde.adebayo@nhs.net");
  assert.match(home, /href="\/cim\/profiles"/);
  const find = async (query: string) => {
    const response = await browser.get(`${server.origin}/cim/profiles?${query}`);
    return { status: response.status, html: await pageText(response) };
  };

  const byName = await find("name=sharma");
  assert.equal(byName.status, 200);
  assert.match(byName.html, /href="\/cim\/profiles\/555000000016">Dr Priya Sharma</);
  assert.match((await find("name=priya+sh")).html, /Priya Sharma/);
  assert.match((await find("uuid=555000000016")).html, /Priya Sharma/);
  assert.match((await find("email=PRIYA.SHARMA%40nhs.net")).html, /Priya Sharma/);
  const byOrganisation = await find("odsCode=fzz01");
  assert.match(byOrganisation.html, /Mei Chen/);
  assert.doesNotMatch(byOrganisation.html, /Priya Sharma/);

  const bad = await find("uuid=12ab&niNumber=XX&odsCode=");
  assert.equal(bad.status, 400);
  assert.match(bad.html, /nhsuk-error-summary/);
  assert.match(bad.html, /href="#uuid">A UUID is 12 digits/);
  assert.match(bad.html, /href="#niNumber">Enter a National Insurance number in the right format/);
  assert.match(bad.html, /<title>Error: /);
  const empty = await find("name=&uuid=");
  assert.equal(empty.status, 400);
  assert.match(empty.html, /Enter a name, UUID, email address/);

  const profile = await browser.get(`${server.origin}/cim/profiles/555000000016`);
  assert.equal(profile.status, 200);
  const html = await pageText(profile);
  assert.match(html, /<h1 class="nhsuk-heading-xl">Dr Priya Sharma<\/h1>/);
  assert.match(html, /id="positions"[\s\S]*R0050[\s\S]*RZZ/);
  assert.match(html, /id="history"[\s\S]*person.created/);
  assert.match(html, /id="assign-position">Assign a position</, "an RA agent may assign positions at RZZ");
  assert.match(html, /id="close-profile">Close this profile</);

  const pharmacist = await server.store.db
    .selectFrom("people")
    .select("uuid")
    .where("email", "=", "mei.chen@nhs.net")
    .executeTakeFirstOrThrow();
  const outside = await pageText(await browser.get(`${server.origin}/cim/profiles/${pharmacist.uuid}`));
  assert.doesNotMatch(
    outside,
    /id="assign-position"|id="close-profile"/,
    "no actions outside the agent's organisation",
  );
  assert.equal((await browser.get(`${server.origin}/cim/profiles/999999999999`)).status, 404);
  assert.equal((await browser.get(`${server.origin}/cim/profiles/nope`)).status, 400);
});
