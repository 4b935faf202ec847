import assert from "node:assert/strict";
import { test } from "node:test";
import { directoryServer } from "../../../test/support/directory-server.ts";
import { assertValidFhir } from "../../../test/support/fhir-schema.ts";
import { operatorActor } from "../../audit/actor.ts";
import { changePersonStatus } from "../../people/people.ts";
import { issueApplication, revokeApplication } from "../applications/applications.ts";

const base = "/healthcare-worker/FHIR/R4";
// biome-ignore lint/suspicious/noExplicitAny: the tests read nested FHIR JSON freely
type Entry = { fullUrl: string; resource: Record<string, any>; search: { mode: string } };

test("Practitioner by UUID, bare or with the sds-user-id system, with its current roles revincluded", async (t) => {
  const { app, key, uuidOf } = await directoryServer(t);
  const uuid = await uuidOf("Whitfield");
  for (const identifier of [uuid, `https://fhir.nhs.uk/Id/sds-user-id|${uuid}`]) {
    const response = await app.inject({
      url: `${base}/Practitioner`,
      query: { identifier, _revinclude: "PractitionerRole:practitioner" },
      headers: { apikey: key, "x-correlation-id": "corr-42", "x-request-id": "req-42" },
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers["content-type"], "application/fhir+json; charset=utf-8");
    assert.equal(response.headers["x-correlation-id"], "corr-42");
    assert.equal(response.headers["x-request-id"], "req-42");
    const bundle = response.json();
    assertValidFhir(bundle);
    assert.equal(bundle.type, "searchset");
    assert.equal(bundle.total, 1);
    const [match, ...included] = bundle.entry as Entry[];
    assert.equal(match?.search.mode, "match");
    assert.equal(match?.resource.id, uuid);
    assert.deepEqual(match?.resource.identifier, [
      { system: "https://fhir.nhs.uk/Id/sds-user-id", value: uuid },
      { system: "https://fhir.hl7.org.uk/Id/nmc-number", value: "11H2745E" },
    ]);
    assert.deepEqual(match?.resource.name, [
      { use: "usual", family: "Whitfield", given: ["Chloe"], prefix: ["Mrs"] },
    ]);
    assert.match(
      String(match?.fullUrl),
      new RegExp(`^http://localhost(:\\d+)?${base}/Practitioner/${uuid}$`),
    );
    // Her position at RZZ ended in 2024; only the current one at A99002 is published.
    assert.deepEqual(
      included.map((entry) => [entry.search.mode, entry.resource.organization.identifier.value]),
      [["include", "A99002"]],
    );
  }
});

test("PractitionerRole by practitioner.identifier with the organisation and practitioner included", async (t) => {
  const { app, key, uuidOf } = await directoryServer(t);
  const uuid = await uuidOf("Sharma");
  const response = await app.inject({
    url: `${base}/PractitionerRole?practitioner.identifier=https://fhir.nhs.uk/Id/sds-user-id|${uuid}&_include=PractitionerRole:organization&_include=PractitionerRole:practitioner`,
    headers: { apikey: key },
  });
  assert.equal(response.statusCode, 200);
  const bundle = response.json();
  assertValidFhir(bundle);
  assert.equal(bundle.total, 2);
  const entries = bundle.entry as Entry[];
  const roles = entries.filter((entry) => entry.search.mode === "match").map((entry) => entry.resource);
  assert.deepEqual(
    roles.map((role) => role.code[0].coding[0].code.split(":").pop()),
    ["R0050", "R5105"],
  );
  const consultant = roles.find((role) => role.code[0].coding[0].code.endsWith("R0050"));
  assert.equal(consultant?.identifier[0].system, "https://fhir.nhs.uk/Id/sds-role-profile-id");
  assert.equal(consultant?.identifier[0].value, consultant?.id);
  assert.deepEqual(consultant?.organization, {
    reference: "Organization/RZZ",
    identifier: { system: "https://fhir.nhs.uk/Id/ods-organization-code", value: "RZZ" },
    display: "Ashcombe and Wexley Hospitals NHS Trust",
  });
  assert.equal(consultant?.practitioner.identifier.value, uuid);
  assert.equal(consultant?.period.start, "2015-08-05");
  assert.equal(
    consultant?.code[0].coding[0].system,
    "https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode",
  );
  const included = entries
    .filter((entry) => entry.search.mode === "include")
    .map((entry) => entry.resource.resourceType);
  assert.deepEqual(included.sort(), ["Organization", "Practitioner"]);

  const read = await app.inject({
    url: `${base}/PractitionerRole/${consultant?.id}`,
    headers: { apikey: key },
  });
  assert.equal(read.statusCode, 200);
  assertValidFhir(read.json());
  assert.equal(read.json().id, consultant?.id);
});

test("a closed identity answers 410 and an unknown one an empty searchset", async (t) => {
  const { app, store, key, uuidOf } = await directoryServer(t);
  const uuid = await uuidOf("Kowalski");
  await changePersonStatus(store.db, operatorActor(), uuid, "closed", "left the trust");
  for (const url of [
    `${base}/Practitioner?identifier=${uuid}`,
    `${base}/PractitionerRole?practitioner.identifier=${uuid}`,
    `${base}/Practitioner/${uuid}`,
  ]) {
    const response = await app.inject({ url, headers: { apikey: key } });
    assert.equal(response.statusCode, 410, url);
    assertValidFhir(response.json());
    assert.equal(response.json().issue[0].code, "deleted");
  }
  const unknown = await app.inject({
    url: `${base}/Practitioner?identifier=999999999999`,
    headers: { apikey: key },
  });
  assert.equal(unknown.statusCode, 200);
  assertValidFhir(unknown.json());
  assert.equal(unknown.json().total, 0);
  assert.equal(unknown.json().entry, undefined);
  const read = await app.inject({ url: `${base}/Practitioner/999999999999`, headers: { apikey: key } });
  assert.equal(read.statusCode, 404);
  assertValidFhir(read.json());
});

test("bad input is an OperationOutcome with the right status, and the service stays up", async (t) => {
  const { app, key } = await directoryServer(t);
  const cases: [string, number, string][] = [
    [`${base}/Practitioner?identifier=12345`, 400, "value"],
    [`${base}/Practitioner?identifier=https://example.org/other|555000000001`, 400, "value"],
    [`${base}/Practitioner`, 400, "required"],
    [`${base}/Practitioner?identifier=555000000001&family=Smith`, 400, "value"],
    [`${base}/Practitioner?identifier=555000000001&identifier=555000000002`, 400, "value"],
    [`${base}/Practitioner?identifier=555000000001&_revinclude=PractitionerRole:organization`, 400, "value"],
    [`${base}/PractitionerRole?practitioner.identifier=abc`, 400, "value"],
    [
      `${base}/PractitionerRole?practitioner.identifier=555000000001&_include=Organization:partof`,
      400,
      "value",
    ],
    [`${base}/Practitioner/not-a-uuid`, 400, "value"],
    [`${base}/Patient?identifier=9000000009`, 404, "not-found"],
  ];
  for (const [url, status, code] of cases) {
    const response = await app.inject({ url, headers: { apikey: key } });
    assert.equal(response.statusCode, status, url);
    const outcome = response.json();
    assertValidFhir(outcome);
    assert.equal(outcome.resourceType, "OperationOutcome");
    assert.equal(outcome.issue[0].code, code, url);
  }
  const xml = await app.inject({
    url: `${base}/Practitioner?identifier=555000000001`,
    headers: { apikey: key, accept: "application/fhir+xml" },
  });
  assert.equal(xml.statusCode, 406);
  assertValidFhir(xml.json());
  const alive = await app.inject({ url: "/health/live" });
  assert.equal(alive.statusCode, 200);
});

test("missing, unknown and revoked API keys are refused with 401; metadata needs no key", async (t) => {
  const { app, store, key, uuidOf } = await directoryServer(t);
  const url = `${base}/Practitioner?identifier=${await uuidOf("Mensah")}`;
  assert.equal((await app.inject({ url, headers: { apikey: key } })).statusCode, 200);
  for (const headers of [{}, { apikey: "" }, { apikey: "careid_not-a-real-key" }]) {
    const response = await app.inject({ url, headers });
    assert.equal(response.statusCode, 401);
    assertValidFhir(response.json());
    assert.equal(response.json().issue[0].code, "security");
  }
  const revoked = await issueApplication(store.db, operatorActor(), { name: "Former client" });
  await revokeApplication(store.db, operatorActor(), revoked.application.id);
  const refused = await app.inject({ url, headers: { apikey: revoked.key } });
  assert.equal(refused.statusCode, 401);
  assert.match(refused.json().issue[0].diagnostics, /revoked/);
  const metadata = await app.inject({ url: `${base}/metadata` });
  assert.equal(metadata.statusCode, 200);
  assertValidFhir(metadata.json());
  assert.equal(metadata.json().resourceType, "CapabilityStatement");
  assert.deepEqual(
    metadata.json().rest[0].resource.map((resource: { type: string }) => resource.type),
    ["Practitioner", "PractitionerRole"],
  );
});

test("each application has its own rate limit, told in headers", async (t) => {
  const { app, store, key, uuidOf } = await directoryServer(t, { rateLimitPerMinute: 3 });
  const url = `${base}/Practitioner?identifier=${await uuidOf("Mensah")}`;
  // Neither the CapabilityStatement nor a path the API does not have counts.
  assert.equal((await app.inject({ url: `${base}/metadata`, headers: { apikey: key } })).statusCode, 200);
  assert.equal((await app.inject({ url: `${base}/Nothing`, headers: { apikey: key } })).statusCode, 404);
  const answers = [];
  for (let request = 0; request < 4; request++)
    answers.push(await app.inject({ url, headers: { apikey: key } }));
  assert.deepEqual(
    answers.map((answer) => answer.statusCode),
    [200, 200, 200, 429],
  );
  assert.deepEqual(
    answers.map((answer) => [answer.headers["x-ratelimit-limit"], answer.headers["x-ratelimit-remaining"]]),
    [
      ["3", "2"],
      ["3", "1"],
      ["3", "0"],
      ["3", "0"],
    ],
  );
  for (const answer of answers) assert.ok(Number(answer.headers["x-ratelimit-reset"]) >= 1);
  const [limited] = answers.slice(-1);
  assert.equal(limited?.headers["retry-after"], limited?.headers["x-ratelimit-reset"]);
  assertValidFhir(limited?.json());
  assert.equal(limited?.json().issue[0].code, "throttled");
  assert.match(
    limited?.json().issue[0].diagnostics,
    /^Rate limit of 3 requests a minute exceeded; retry in (\d+ seconds?|1 minute)$/,
  );
  const other = await issueApplication(store.db, operatorActor(), { name: "Other", rateLimitPerMinute: 3 });
  assert.equal((await app.inject({ url, headers: { apikey: other.key } })).statusCode, 200);
});

test("a FHIR answer carries a page's security headers but those only a document heeds, without a nonce", async (t) => {
  const { app, key, uuidOf } = await directoryServer(t);
  const uuid = await uuidOf("Whitfield");
  const page = await app.inject({ url: "/" });
  const read = await app.inject({ url: `${base}/Practitioner/${uuid}`, headers: { apikey: key } });
  const refused = await app.inject({ url: `${base}/Practitioner/${uuid}` });
  const metadata = await app.inject({ url: `${base}/metadata` });
  assert.equal(read.statusCode, 200);
  assert.equal(refused.statusCode, 401);
  assert.equal(metadata.statusCode, 200, "the CapabilityStatement needs no key");
  const withoutNonces = (policy: unknown) => String(policy).replaceAll(/ 'nonce-[0-9a-f]+'/g, "");
  assert.match(String(page.headers["content-security-policy"]), /'nonce-/);
  for (const answer of [read, refused, metadata]) {
    for (const name of [
      "x-content-type-options",
      "x-frame-options",
      "referrer-policy",
      "cross-origin-resource-policy",
    ]) {
      assert.ok(page.headers[name], name);
      assert.equal(answer.headers[name], page.headers[name], name);
    }
    for (const name of [
      "cross-origin-opener-policy",
      "x-dns-prefetch-control",
      "x-download-options",
      "x-permitted-cross-domain-policies",
      "origin-agent-cluster",
      "x-xss-protection",
    ]) {
      assert.ok(page.headers[name], name);
      assert.equal(answer.headers[name], undefined, name);
    }
    assert.equal(
      answer.headers["content-security-policy"],
      withoutNonces(page.headers["content-security-policy"]),
    );
  }
});
