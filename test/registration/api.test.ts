import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../support/cis2-server.ts";
import { uuidOf } from "../support/ra-directory.ts";
import { accessTokenFor, api, caller } from "./cim-api.ts";

const newcomer = {
  givenName: "Imogen",
  familyName: "Fairfax",
  dateOfBirth: "1990-06-15",
  niNumber: "PE118244C",
  odsCode: "RZZ",
  identityChecks: {
    documents: [
      { kind: "passport", reference: "925665416", nameOnDocument: "Imogen Fairfax" },
      { kind: "utility-bill", reference: "ACC-44172" },
      { kind: "birth-certificate", reference: "BXC 123456" },
    ],
    confirmed: true,
  },
};

test("the CIM API: OpenAPI document, Bearer tokens from CIS2, the RA policy, problem+json errors", async (t) => {
  const server = await startCis2Server(t);
  const anonymous = caller(server);

  const document = await anonymous("GET", "/openapi.json");
  assert.equal(document.status, 200);
  assert.equal(document.body.openapi, "3.1.0");
  for (const path of ["/profiles", "/assignments", "/requests/{id}/approve", "/reports/{kind}"])
    assert.ok(document.body.paths[`${api}${path}`], `documents ${path}`);
  assert.deepEqual(document.body.components.securitySchemes.cis2, { type: "http", scheme: "bearer" });
  assert.equal(
    Object.keys(document.body.paths).some((path: string) => !path.startsWith(api)),
    false,
  );

  const missing = await anonymous("GET", "/profiles?name=ben");
  assert.equal(missing.status, 401);
  assert.match(missing.type, /^application\/problem\+json/);
  assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="cim"');
  const forged = await caller(server, "not-a-real-token")("GET", "/profiles?name=ben");
  assert.equal(forged.status, 401);
  assert.match(String(forged.headers.get("www-authenticate")), /error="invalid_token"/);

  const agent = caller(server, await accessTokenFor(server, "tunde.adebayo@nhs.net"));
  const sponsor = caller(server, await accessTokenFor(server, "grace.mensah@nhs.net"));

  const found = await agent("GET", "/profiles?name=benn");
  assert.equal(found.status, 200);
  assert.deepEqual(
    found.body.map((person: { familyName: string }) => person.familyName),
    ["Bennett"],
  );

  const refused = await sponsor("POST", "/profiles", newcomer);
  assert.equal(refused.status, 403);
  assert.match(refused.type, /^application\/problem\+json/);
  assert.match(refused.body.detail, /profile.create/);
  const badEvidence = await agent("POST", "/profiles", {
    ...newcomer,
    identityChecks: { documents: [], confirmed: false },
  });
  assert.equal(badEvidence.status, 400);
  assert.deepEqual(
    badEvidence.body.errors.map((error: { field: string }) => error.field),
    ["identityChecks.documents", "identityChecks.confirmed"],
  );
  const schemaRefusal = await agent("POST", "/profiles", { ...newcomer, odsCode: "not an ods code!" });
  assert.equal(schemaRefusal.status, 400);
  const created = await agent("POST", "/profiles", newcomer, { "idempotency-key": "api-create-0001" });
  assert.equal(created.status, 201);
  assert.match(created.body.uuid, /^\d{12}$/);
  const again = await agent(
    "POST",
    "/profiles",
    { ...newcomer, niNumber: "PE118245C" },
    { "idempotency-key": "api-create-0001" },
  );
  assert.equal(again.status, 409);
  const duplicate = await agent("POST", "/profiles", newcomer);
  assert.equal(duplicate.status, 409);
  const outside = await agent("POST", "/profiles", { ...newcomer, niNumber: "PE118246C", odsCode: "A99001" });
  assert.equal(outside.status, 403);

  const manager = caller(server, await accessTokenFor(server, "margaret.oconnell@nhs.net"));
  const defined = await manager("POST", "/organisations/RZZ/positions", {
    name: "Ward nurse",
    accessProfiles: [{ jobRole: "R8001" }],
  });
  assert.equal(defined.status, 201);
  const asked = await sponsor("POST", "/assignments", {
    uuid: created.body.uuid,
    positionDefinitionId: defined.body.id,
    startDate: "2025-01-06",
    reason: "New starter on ward 7",
  });
  assert.equal(asked.status, 202);
  assert.equal(asked.body.outcome, "requested");
  const dashboard = await agent("GET", "/requests?view=open");
  assert.equal(dashboard.status, 200);
  assert.deepEqual(
    dashboard.body.requests.map((request: { id: string }) => request.id),
    [asked.body.request.id],
  );
  const unopened = await agent("POST", `/requests/${asked.body.request.id}/approve`, {});
  assert.equal(unopened.status, 409);
  assert.equal((await agent("POST", `/requests/${asked.body.request.id}/open`)).status, 200);
  const lockedOut = await manager("POST", `/requests/${asked.body.request.id}/open`);
  assert.equal(lockedOut.status, 409);
  const approved = await agent("POST", `/requests/${asked.body.request.id}/approve`, { notes: "Checked" });
  assert.equal(approved.status, 200);
  assert.equal(approved.body.status, "completed");
  const assignments = await agent("GET", `/profiles/${created.body.uuid}/assignments`);
  assert.deepEqual(
    assignments.body.map((assignment: { name: string }) => assignment.name),
    ["Ward nurse"],
  );

  const endBeforeStart = await agent("POST", "/assignments", {
    uuid: created.body.uuid,
    positionDefinitionId: defined.body.id,
    startDate: "2025-01-06",
    endDate: "2025-01-01",
  });
  assert.equal(endBeforeStart.status, 400);
  assert.equal(endBeforeStart.body.errors[0].field, "endDate");

  const report = await agent("GET", "/reports/positions?odsCode=RZZ");
  assert.equal(report.status, 200);
  assert.match(report.type, /^text\/csv/);
  assert.match(report.body, new RegExp(`${created.body.uuid}`));

  // A leaver's tokens stop working at once: closing the profile ends their CIS2 sessions.
  const closed = await agent("POST", `/profiles/${await uuidOf(server.store.db, "Mensah")}/close`, {
    reason: "Left the trust",
  });
  assert.equal(closed.status, 200);
  assert.equal((await sponsor("GET", "/profiles?name=benn")).status, 401);
});
