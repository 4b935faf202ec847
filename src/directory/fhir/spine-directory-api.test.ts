import assert from "node:assert/strict";
import { test } from "node:test";
import { directoryServer } from "../../../test/support/directory-server.ts";
import { assertValidFhir } from "../../../test/support/fhir-schema.ts";

const base = "/spine-directory/FHIR/R4";
const ods = "https://fhir.nhs.uk/Id/ods-organization-code";
const interactionSystem = "https://fhir.nhs.uk/Id/nhsServiceInteractionId";
const partyKeySystem = "https://fhir.nhs.uk/Id/nhsMhsPartyKey";
const psis = "urn:nhs:names:services:psis:REPC_IN150016UK05";
const gpcMetadata = "urn:nhs:names:services:gpconnect:fhir:rest:read:metadata-1";

// biome-ignore lint/suspicious/noExplicitAny: the tests read nested FHIR JSON freely
type Loose = Record<string, any>;
type Resource = { id: string; [field: string]: unknown };

async function searchAs(t: import("node:test").TestContext) {
  const { app, key } = await directoryServer(t);
  return async (path: string, query: [string, string][], status = 200) => {
    const response = await app.inject({
      url: `${base}/${path}?${new URLSearchParams(query)}`,
      headers: { apikey: key },
    });
    assert.equal(
      response.statusCode,
      status,
      `${path} ${JSON.stringify(query)}: ${response.body.slice(0, 300)}`,
    );
    const body = response.json();
    assertValidFhir(body);
    return {
      body,
      resources: ((body.entry ?? []) as { resource: Resource }[]).map((entry) => entry.resource),
    };
  };
}

test("Device by organisation and interaction, narrowed by party key and manufacturer", async (t) => {
  const search = await searchAs(t);
  const { resources } = await search("Device", [
    ["organization", `${ods}|A99001`],
    ["identifier", `${interactionSystem}|${psis}`],
  ]);
  assert.deepEqual(
    resources.map((device) => device.id),
    ["200000000101"],
  );
  const [device] = resources as Loose[];
  assert.deepEqual(device?.identifier, [
    { system: "https://fhir.nhs.uk/Id/nhsSpineASID", value: "200000000101" },
    { system: partyKeySystem, value: "A99001-821870" },
  ]);
  assert.deepEqual(device?.owner, { identifier: { system: ods, value: "A99001" } });
  const extensionUrls = device?.extension.map((extension: { url: string }) => extension.url);
  assert.equal(
    extensionUrls[0],
    "https://fhir.nhs.uk/StructureDefinition/Extension-SDS-ManufacturingOrganisation",
  );
  assert.equal(
    extensionUrls.filter((url: string) => url.endsWith("Extension-SDS-NhsServiceInteractionId")).length,
    4,
    "one extension per interaction",
  );
  const withKey = await search("Device", [
    ["organization", `${ods}|A99001`],
    ["identifier", `${interactionSystem}|${psis}`],
    ["identifier", `${partyKeySystem}|A99001-821870`],
    ["manufacturing-organization", `${ods}|YGA01`],
  ]);
  assert.equal(withKey.resources.length, 1);
  const otherKey = await search("Device", [
    ["organization", `${ods}|A99001`],
    ["identifier", `${interactionSystem}|${psis}`],
    ["identifier", `${partyKeySystem}|A99002-821871`],
  ]);
  assert.equal(otherKey.body.total, 0);
  const otherMaker = await search("Device", [
    ["organization", `${ods}|A99001`],
    ["identifier", `${interactionSystem}|${psis}`],
    ["manufacturing-organization", `${ods}|YGB02`],
  ]);
  assert.equal(otherMaker.body.total, 0);
});

test("Endpoint by each supported combination, with MHS identifiers and reliability settings", async (t) => {
  const search = await searchAs(t);
  const combinations: [string, [string, string][]][] = [
    [
      "org + interaction + party key",
      [
        ["organization", `${ods}|A99001`],
        ["identifier", `${interactionSystem}|${psis}`],
        ["identifier", `${partyKeySystem}|A99001-821870`],
      ],
    ],
    [
      "org + party key",
      [
        ["organization", `${ods}|A99001`],
        ["identifier", `${partyKeySystem}|A99001-821870`],
      ],
    ],
    [
      "org + interaction",
      [
        ["organization", `${ods}|A99001`],
        ["identifier", `${interactionSystem}|${psis}`],
      ],
    ],
    [
      "interaction + party key",
      [
        ["identifier", `${interactionSystem}|${psis}`],
        ["identifier", `${partyKeySystem}|A99001-821870`],
      ],
    ],
  ];
  const counts = [];
  for (const [, query] of combinations) counts.push((await search("Endpoint", query)).resources.length);
  assert.deepEqual(counts, [1, 2, 1, 1]);
  const { resources } = await search("Endpoint", combinations[0]?.[1] ?? []);
  const [mhs] = resources as Loose[];
  assert.equal(mhs?.address, "https://msg.millbrook.demo.nhs.uk/reliablemessaging/reliablerequest");
  assert.equal(mhs?.status, "active");
  assert.equal(mhs?.connectionType.code, "hl7-fhir-msg");
  assert.equal(mhs?.payloadType[0].coding[0].code, "any");
  assert.deepEqual(
    mhs?.identifier.map((identifier: { system: string }) => identifier.system.split("/").pop()),
    ["nhsMhsFQDN", "nhsMhsPartyKey", "nhsMhsCPAId", "nhsMHSId"],
  );
  const reliability = Object.fromEntries(
    mhs?.extension[0].extension.map((part: { url: string; valueString?: string; valueInteger?: number }) => [
      part.url,
      part.valueString ?? part.valueInteger,
    ]),
  );
  assert.deepEqual(reliability, {
    nhsMHSSyncReplyMode: "None",
    nhsMHSRetryInterval: "PT1M",
    nhsMHSRetries: 2,
    nhsMHSPersistDuration: "PT5M",
    nhsMHSDuplicateElimination: "always",
    nhsMHSAckRequested: "always",
    nhsMHSActor: "urn:oasis:names:tc:ebxml-msg:actor:toPartyMSH",
  });
  const gpConnect = await search("Endpoint", [
    ["organization", `${ods}|A99002`],
    ["identifier", `${interactionSystem}|${gpcMetadata}`],
  ]);
  assert.equal((gpConnect.resources[0] as Loose)?.managingOrganization.identifier.value, "A99002");
});

test("unsupported Device and Endpoint parameter combinations are refused", async (t) => {
  const search = await searchAs(t);
  const refused: [string, [string, string][], number][] = [
    ["Device", [["identifier", `${interactionSystem}|${psis}`]], 400],
    ["Device", [["organization", `${ods}|A99001`]], 400],
    [
      "Device",
      [
        ["organization", "A99001"],
        ["identifier", `${interactionSystem}|${psis}`],
      ],
      400,
    ],
    [
      "Device",
      [
        ["organization", `${ods}|A99001`],
        ["identifier", `${interactionSystem}|not-an-interaction`],
      ],
      400,
    ],
    [
      "Device",
      [
        ["organization", `${ods}|A99001`],
        ["identifier", `https://example.org/x|1`],
      ],
      400,
    ],
    [
      "Device",
      [
        ["organization", `${ods}|A99001`],
        ["identifier", `${interactionSystem}|${psis}`],
        ["status", "active"],
      ],
      400,
    ],
    ["Endpoint", [["organization", `${ods}|A99001`]], 400],
    ["Endpoint", [["identifier", `${interactionSystem}|${psis}`]], 400],
    [
      "Endpoint",
      [
        ["identifier", `${partyKeySystem}|A99001`],
        ["organization", `${ods}|A99001`],
      ],
      400,
    ],
    ["Endpoint", [], 400],
  ];
  for (const [path, query, status] of refused) {
    const { body } = await search(path, query, status);
    assert.equal(body.resourceType, "OperationOutcome");
  }
  const metadata = await search("metadata", []);
  assert.deepEqual(
    metadata.body.rest[0].resource.map((resource: { type: string }) => resource.type),
    ["Device", "Endpoint"],
  );
});
