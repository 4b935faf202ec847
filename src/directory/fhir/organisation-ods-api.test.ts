import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type TestContext, test } from "node:test";
import { directoryServer } from "../../../test/support/directory-server.ts";
import { assertValidFhir } from "../../../test/support/fhir-schema.ts";
import { operatorActor } from "../../audit/actor.ts";
import { readCodeLists } from "../../rbac/code-lists.ts";
import { importOrganisations } from "../../rbac/ods/import.ts";

const base = "/organisation/FHIR/R4";
const fixtures = new URL("../../../test/fixtures/ods/", import.meta.url);

/** The demo directory's service with the ODS fixture files loaded into it. */
async function odsServer(t: TestContext) {
  const server = await directoryServer(t);
  const lists = await readCodeLists(server.store.db);
  for (const name of ["etr.csv", "ets.csv", "epraccur.csv", "ord.json", "changed/etr.csv"])
    await importOrganisations(
      server.store.db,
      operatorActor(),
      lists,
      { name, text: readFileSync(new URL(name, fixtures), "utf8") },
      { today: "2025-06-01" },
    );
  const get = async (path: string, status = 200) => {
    const response = await server.app.inject({ url: `${base}/${path}`, headers: { apikey: server.key } });
    assert.equal(response.statusCode, status, `${path}: ${response.body}`);
    const body = response.json();
    assertValidFhir(body);
    return body;
  };
  const ids = async (path: string) =>
    ((await get(path)).entry ?? []).map((entry: { resource: { id: string } }) => entry.resource.id);
  return { ...server, get, ids };
}

test("OrganizationAffiliation: the imported relationships, by primary and participating organisation, role and active", async (t) => {
  const { get, ids } = await odsServer(t);
  assert.deepEqual(await ids("OrganizationAffiliation?primary-organization=RX1"), [
    "RX101-RE6-RX1",
    "RX102-RE6-RX1",
  ]);
  assert.deepEqual(await ids("OrganizationAffiliation?primary-organization=Organization/99X&active=true"), [
    "Y90001-RE4-99X",
    "Y90002-RE4-99X",
  ]);
  assert.deepEqual(await ids("OrganizationAffiliation?primary-organization=99X&active=false"), [
    "Y90003-RE4-99X",
  ]);
  assert.deepEqual(
    await ids(
      "OrganizationAffiliation?participating-organization=https://fhir.nhs.uk/Id/ods-organization-code|rx4",
    ),
    ["RX4-RE4-QX1"],
  );
  assert.deepEqual(await ids("OrganizationAffiliation?role=RE5"), ["99X-RE5-QX1"]);
  const one = await get("OrganizationAffiliation/RX101-RE6-RX1");
  assert.deepEqual(one.organization.identifier, {
    system: "https://fhir.nhs.uk/Id/ods-organization-code",
    value: "RX1",
  });
  assert.equal(one.participatingOrganization.reference, "Organization/RX101");
  assert.deepEqual(one.code[0].coding[0], {
    system: "https://digital.nhs.uk/services/organisation-data-service/CodeSystem/ODSRelationshipType",
    code: "RE6",
    display: "IS OPERATED BY",
  });
  assert.deepEqual(one.period, { start: "1994-04-01" });
  await get("OrganizationAffiliation/RX101-RE6-RX2", 404);
  await get("OrganizationAffiliation/nonsense", 400);
  await get("OrganizationAffiliation?role=RO197", 400);
  await get("OrganizationAffiliation?primary-organization=Location/RX1", 400);
  await get("OrganizationAffiliation?owner=RX1", 400);
});

test("Organization: roles with the primary one, successors, lastChangeDate and _lastUpdated", async (t) => {
  const { get, ids } = await odsServer(t);
  const practice = await get("Organization/Y90001");
  const roles = practice.extension
    .filter((extension: { url: string }) => extension.url.endsWith("Extension-England-OrganisationRole"))
    .map((role: { extension: { url: string; valueCoding?: { code: string }; valueBoolean?: boolean }[] }) => [
      role.extension.find((part) => part.url === "roleCode")?.valueCoding?.code,
      role.extension.find((part) => part.url === "primaryRole")?.valueBoolean,
    ]);
  assert.deepEqual(roles, [
    ["RO177", true],
    ["RO76", false],
  ]);
  assert.deepEqual(practice.telecom, [{ system: "phone", value: "01632 960101" }]);
  assert.equal(practice.partOf.reference, "Organization/99X");
  const trust = await get("Organization/RX4");
  const successor = trust.extension.find((extension: { url: string }) =>
    extension.url.endsWith("Extension-England-OrganisationSuccessor"),
  );
  assert.equal(successor.extension[0].valueCoding.code, "Predecessor");
  assert.equal(successor.extension[1].valueReference.reference, "Organization/RX3");
  assert.deepEqual(await ids("Organization?roleCode=RO76"), ["A99001", "A99002", "Y90001", "Y90002"]);
  assert.deepEqual(await ids("Organization?primaryRoleCode=RO177"), ["Y90001", "Y90002"]);
  assert.deepEqual(await ids("Organization?nonPrimaryRoleCode=RO319"), ["99X"]);
  assert.deepEqual(await ids("Organization?lastChangeDate=ge2024-03-02&lastChangeDate=lt2025-01-01"), [
    "99X",
  ]);
  assert.deepEqual(await ids("Organization?lastChangeDate=2024-03-01"), ["QX1"]);
  const everything = (await get("Organization?_count=1")).total;
  assert.equal((await get("Organization?_lastUpdated=ge2000-01-01&_count=1")).total, everything);
  assert.equal((await get("Organization?_lastUpdated=lt2000-01-01T00:00:00Z")).total, 0);
  assert.match(trust.meta.lastUpdated, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  await get("Organization?_lastUpdated=yesterday", 400);
  await get("Organization?lastChangeDate=2024-03-01T10:00:00Z", 400);
  await get("Organization?primaryRoleCode=RE4", 400);
});

test("CodeSystem and ValueSet for organisation roles and relationship types, and the CapabilityStatement lists them", async (t) => {
  const { get, ids } = await odsServer(t);
  const roles = await get("CodeSystem/ODSOrganisationRole");
  assert.equal(
    roles.url,
    "https://digital.nhs.uk/services/organisation-data-service/CodeSystem/ODSOrganisationRole",
  );
  assert.ok(
    roles.concept.some(
      (concept: { code: string; display: string }) =>
        concept.code === "RO197" && concept.display === "NHS TRUST",
    ),
  );
  const relationships = await get("ValueSet/ODSRelationshipType");
  assert.ok(relationships.expansion.contains.some((entry: { code: string }) => entry.code === "RE6"));
  assert.deepEqual(await ids("CodeSystem"), ["ODSOrganisationRole", "ODSRelationshipType"]);
  assert.deepEqual(
    await ids(
      "CodeSystem?url=https://digital.nhs.uk/services/organisation-data-service/CodeSystem/ODSRelationshipType",
    ),
    ["ODSRelationshipType"],
  );
  await get("CodeSystem/Nothing", 404);
  const capability = await get("metadata");
  assert.deepEqual(
    capability.rest[0].resource.map((resource: { type: string }) => resource.type),
    ["Organization", "OrganizationAffiliation", "CodeSystem", "ValueSet"],
  );
});

test("the APIs answer at their national counterparts' base paths too, with links under the path used", async (t) => {
  const { app, key } = await odsServer(t);
  const national = await app.inject({
    url: "/organisation-data-terminology-api/fhir/OrganizationAffiliation?primary-organization=RX1",
    headers: { apikey: key },
  });
  assert.equal(national.statusCode, 200);
  const bundle = national.json();
  assertValidFhir(bundle);
  assert.equal(bundle.total, 2);
  assert.match(
    bundle.entry[0].fullUrl,
    /\/organisation-data-terminology-api\/fhir\/OrganizationAffiliation\/RX101-RE6-RX1$/,
  );
  assert.match(bundle.link[0].url, /\/organisation-data-terminology-api\/fhir\/OrganizationAffiliation\?/);
  const worker = await app.inject({ url: "/healthcare-worker/metadata" });
  assert.equal(worker.statusCode, 200);
  assert.match(worker.json().url, /\/healthcare-worker\/metadata$/);
  const unknown = await app.inject({ url: "/healthcare-worker/Nothing", headers: { apikey: key } });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().resourceType, "OperationOutcome");
  const own = await app.inject({ url: `${base}/Organization/RX1`, headers: { apikey: key } });
  assert.equal(own.statusCode, 200, "the service's own base path still answers");
});
