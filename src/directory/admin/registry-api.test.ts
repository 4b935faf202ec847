import assert from "node:assert/strict";
import { test } from "node:test";
import { directoryServer } from "../../../test/support/directory-server.ts";
import { operatorActor } from "../../audit/actor.ts";
import { issueApplication } from "../applications/applications.ts";

const system = {
  odsCode: "A99002",
  manufacturerOdsCode: "YGD04",
  productKey: "7001",
  productName: "Kestrel Referrals (test)",
  partyKey: "A99002-900001",
  interactions: ["urn:nhs:names:services:gpconnect:fhir:rest:read:location"],
};

test("an admin application adds, reads and removes systems and endpoints; each change is audited", async (t) => {
  const { app, store } = await directoryServer(t);
  const { key, application } = await issueApplication(store.db, operatorActor(), {
    name: "Registry admin",
    admin: true,
  });
  const headers = { apikey: key };
  const added = await app.inject({ method: "POST", url: "/api/directory/systems", headers, payload: system });
  assert.equal(added.statusCode, 201, added.body);
  const asid = added.json().asid;
  assert.match(asid, /^[0-9]{12}$/, "an ASID comes from the identifier sequence when none is given");
  const read = await app.inject({ url: `/api/directory/systems/${asid}`, headers });
  assert.equal(read.json().productName, "Kestrel Referrals (test)");
  const endpoint = await app.inject({
    method: "POST",
    url: "/api/directory/endpoints",
    headers,
    payload: {
      odsCode: "A99002",
      partyKey: "A99002-900001",
      interaction: "urn:nhs:names:services:gpconnect:fhir:rest:read:location",
      cpaId: "S-TEST-1",
      fqdn: "kestrel.demo.nhs.uk",
      address: "https://kestrel.demo.nhs.uk/fhir",
      reliability: { retries: 3 },
    },
  });
  assert.equal(endpoint.statusCode, 201, endpoint.body);
  assert.equal(endpoint.json().reliability.retryInterval, "PT1M");
  const removed = await app.inject({
    method: "DELETE",
    url: `/api/directory/systems/${asid}?reason=retired`,
    headers,
  });
  assert.equal(removed.statusCode, 200);
  const gone = await app.inject({ url: `/api/directory/systems/${asid}`, headers });
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.headers["content-type"], "application/problem+json; charset=utf-8");
  const events = await store.db
    .selectFrom("audit_events")
    .select(["action", "actor_id", "source", "reason"])
    .where("actor_id", "=", `application:${application.id}`)
    .orderBy("seq")
    .execute();
  assert.deepEqual(
    events.map((event) => [event.action, event.source, event.reason]),
    [
      ["accredited-system.added", "API", null],
      ["messaging-endpoint.added", "API", null],
      ["accredited-system.removed", "API", "retired"],
    ],
  );
});

test("the registry refuses bad entries with problem details, and callers without an admin key", async (t) => {
  const { app, store, key } = await directoryServer(t);
  const { key: adminKey } = await issueApplication(store.db, operatorActor(), {
    name: "Registry admin",
    admin: true,
  });
  const bad = await app.inject({
    method: "POST",
    url: "/api/directory/systems",
    headers: { apikey: adminKey },
    payload: {
      ...system,
      asid: "12",
      partyKey: "nokey",
      interactions: ["http://example.org"],
      odsCode: "ZZZ9",
    },
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.headers["content-type"], "application/problem+json; charset=utf-8");
  assert.deepEqual(
    bad
      .json()
      .errors.map((error: { field: string }) => error.field)
      .sort(),
    ["asid", "interactions[0]", "partyKey"],
  );
  const unknownOwner = await app.inject({
    method: "POST",
    url: "/api/directory/systems",
    headers: { apikey: adminKey },
    payload: { ...system, odsCode: "ZZZ9" },
  });
  assert.equal(unknownOwner.statusCode, 404);
  const duplicate = await app.inject({
    method: "POST",
    url: "/api/directory/systems",
    headers: { apikey: adminKey },
    payload: { ...system, asid: "200000000101" },
  });
  assert.equal(duplicate.statusCode, 409);
  const noReason = await app.inject({
    method: "DELETE",
    url: "/api/directory/systems/200000000101",
    headers: { apikey: adminKey },
  });
  assert.equal(noReason.statusCode, 400);
  const readOnly = await app.inject({
    method: "POST",
    url: "/api/directory/systems",
    headers: { apikey: key },
    payload: system,
  });
  assert.equal(readOnly.statusCode, 403);
  const anonymous = await app.inject({ url: "/api/directory/systems" });
  assert.equal(anonymous.statusCode, 401);
  assert.equal(anonymous.headers["content-type"], "application/problem+json; charset=utf-8");
});
