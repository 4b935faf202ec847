import assert from "node:assert/strict";
import { test } from "node:test";
import { directoryServer } from "../../../test/support/directory-server.ts";
import { assertValidFhir } from "../../../test/support/fhir-schema.ts";

const base = "/organisation/FHIR/R4";

test("Organization by ODS code carries its identifier, address and ODS role extension", async (t) => {
  const { app, key } = await directoryServer(t);
  const response = await app.inject({ url: `${base}/Organization/RZZ01`, headers: { apikey: key } });
  assert.equal(response.statusCode, 200);
  const organisation = response.json();
  assertValidFhir(organisation);
  assert.equal(organisation.id, "RZZ01");
  assert.deepEqual(organisation.identifier, [
    { system: "https://fhir.nhs.uk/Id/ods-organization-code", value: "RZZ01" },
  ]);
  assert.equal(organisation.name, "Ashcombe General Hospital");
  assert.equal(organisation.address[0].postalCode, "AC1 4NH");
  assert.equal(organisation.partOf.reference, "Organization/RZZ");
  const role = organisation.extension.find(
    (extension: { url: string }) =>
      extension.url === "https://fhir.nhs.uk/England/StructureDefinition/Extension-England-OrganisationRole",
  );
  const roleCode = role.extension.find((part: { url: string }) => part.url === "roleCode").valueCoding;
  assert.deepEqual(roleCode, {
    system: "https://digital.nhs.uk/services/organisation-data-service/CodeSystem/ODSOrganisationRole",
    code: "RO198",
    display: "NHS TRUST SITE",
  });
  const missing = await app.inject({ url: `${base}/Organization/ZZZ99`, headers: { apikey: key } });
  assert.equal(missing.statusCode, 404);
  assertValidFhir(missing.json());
});

test("Organization search by each parameter, with paging links", async (t) => {
  const { app, key } = await directoryServer(t);
  const search = async (query: string) => {
    const response = await app.inject({ url: `${base}/Organization?${query}`, headers: { apikey: key } });
    assert.equal(response.statusCode, 200, query);
    const bundle = response.json();
    assertValidFhir(bundle);
    return {
      bundle,
      ids: ((bundle.entry ?? []) as { resource: { id: string } }[]).map((entry) => entry.resource.id),
    };
  };
  assert.deepEqual((await search("identifier=https://fhir.nhs.uk/Id/ods-organization-code|rzz")).ids, [
    "RZZ",
  ]);
  assert.deepEqual((await search("name=ashcombe")).ids, ["FZZ01", "RZZ", "RZZ01"]);
  assert.deepEqual((await search("name:contains=hospital")).ids, ["RZZ", "RZZ01", "RZZ02"]);
  assert.deepEqual((await search("name:exact=Ashcombe")).ids, []);
  assert.deepEqual((await search("name:exact=Wexley Green Surgery")).ids, ["A99002"]);
  assert.deepEqual((await search("address-postalcode=AC14")).ids, ["RZZ", "RZZ01"]);
  assert.deepEqual((await search("address-city=wexley")).ids, ["A99002", "RZZ02", "VZZ01"]);
  assert.deepEqual((await search("roleCode=RO197")).ids, ["RZY", "RZZ"]);
  assert.deepEqual((await search("active=false")).ids, []);
  const first = await search("active=true&_count=4");
  assert.equal(first.bundle.total, 9);
  assert.equal(first.ids.length, 4);
  const links = Object.fromEntries(
    first.bundle.link.map((link: { relation: string; url: string }) => [link.relation, link.url]),
  );
  assert.equal(links.previous, undefined);
  const next = new URL(links.next);
  assert.equal(next.pathname, `${base}/Organization`);
  assert.equal(next.searchParams.get("_offset"), "4");
  assert.equal(next.searchParams.get("active"), "true");
  const second = await search(next.search.slice(1));
  assert.equal(second.ids.length, 4);
  assert.ok(!second.ids.some((id: string) => first.ids.includes(id)), "pages do not overlap");
  const last = await search("active=true&_count=4&_offset=8");
  assert.equal(last.ids.length, 1);
  assert.ok(!last.bundle.link.some((link: { relation: string }) => link.relation === "next"));
  const beyond = await search("_count=4&_offset=40");
  assert.equal(beyond.bundle.total, 9);
});

test("bad Organization searches are OperationOutcomes", async (t) => {
  const { app, key } = await directoryServer(t);
  for (const query of [
    "colour=blue",
    "active=maybe",
    "_count=0",
    "_count=abc",
    "roleCode=trust",
    "identifier=https://example.org|RZZ",
    "identifier=not%20a%20code",
    "name=a&name:contains=b",
  ]) {
    const response = await app.inject({ url: `${base}/Organization?${query}`, headers: { apikey: key } });
    assert.equal(response.statusCode, 400, query);
    assertValidFhir(response.json());
  }
  const metadata = await app.inject({
    url: `${base}/metadata`,
    headers: { accept: "application/fhir+json" },
  });
  assertValidFhir(metadata.json());
  assert.equal(metadata.json().rest[0].resource[0].type, "Organization");
});
