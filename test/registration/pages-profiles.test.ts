import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../support/cis2-server.ts";
import { formToken, pageText, signInToCim } from "./cim-browser.ts";

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

  // One box takes a name in either order, a UUID with spaces, an email or an NI number.
  assert.match((await find("q=Sharma+Priya")).html, /href="\/cim\/profiles\/555000000016">Dr Priya Sharma</);
  assert.match((await find("q=5550+0000+0016")).html, /Priya Sharma/);
  assert.match((await find("q=priya.sharma%40nhs.net")).html, /Priya Sharma/);
  assert.match((await find("q=CE+51+93+77+B")).html, /Priya Sharma/);
  const none = await find("q=Zzyzx");
  assert.match(none.html, /0 profiles found/);
  assert.match(none.html, /id="none-found"[\s\S]*Check the spelling/);
  const shortUuid = await find("q=5550+0000");
  assert.equal(shortUuid.status, 400);
  assert.match(shortUuid.html, /href="#q">A UUID is 12 digits/);

  const bad = await find("uuid=12ab&niNumber=XX&odsCode=");
  assert.equal(bad.status, 400);
  assert.match(bad.html, /nhsuk-error-summary/);
  assert.match(bad.html, /href="#q">A UUID is 12 digits/);
  assert.match(bad.html, /href="#q">Enter a National Insurance number in the right format/);
  assert.match(bad.html, /<title>Error: /);
  const empty = await find("name=&uuid=");
  assert.equal(empty.status, 400);
  assert.match(empty.html, /Enter a name, UUID, email address/);

  const profile = await browser.get(`${server.origin}/cim/profiles/555000000016`);
  assert.equal(profile.status, 200);
  const html = await pageText(profile);
  assert.match(html, /<h1 class="nhsuk-heading-xl">Dr Priya Sharma<\/h1>/);
  assert.match(html, /id="positions"[\s\S]*[A-Za-z] \(R0050\)/, "job roles by name, code beside");
  assert.match(html, /id="positions"[\s\S]*Ashcombe and Wexley Hospitals NHS Trust \(RZZ\)/);
  assert.match(html, /id="history"[\s\S]*Profile created/);
  assert.match(html, /Date of birth<\/dt><dd class="nhsuk-summary-list__value">3 November 1974</);
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

test("CIM reports download as CSV for the RA's organisation and are refused outside it", async (t) => {
  const server = await startCis2Server(t);
  const { browser } = await signInToCim(server, "tunde.adebayo@nhs.net");
  const url = `${server.origin}/cim/reports`;
  const token = async () => formToken(await (await browser.get(url)).text());
  const csv = await browser.post(url, { _form: await token(), kind: "users", odsCode: "RZZ" });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
  assert.match(
    csv.headers.get("content-disposition") ?? "",
    /attachment; filename="users-RZZ-\d{4}-\d{2}-\d{2}\.csv"/,
  );
  assert.match(await csv.text(), /Sharma/);
  const outside = await browser.post(url, { _form: await token(), kind: "users", odsCode: "FZZ01" });
  assert.equal(outside.status, 403);
  assert.match(await pageText(outside), /<h1 class="nhsuk-heading-xl">You cannot do this<\/h1>/);
});
