import assert from "node:assert/strict";
import { test } from "node:test";
import { directoryServer } from "../../../test/support/directory-server.ts";
import { assertValidFhir } from "../../../test/support/fhir-schema.ts";

const organisation = "/organisation/FHIR/R4";
const worker = "/healthcare-worker/FHIR/R4";
const spine = "/spine-directory/FHIR/R4";

/**
 * Every FHIR search and read with a parameter carrying a NUL byte, or a number past what the
 * database holds: each answers 400 with an OperationOutcome, never a 500.
 */
const requests: [string, string][] = [
  ["Organization by name", `${organisation}/Organization?name=Ash%00`],
  ["Organization by name:contains", `${organisation}/Organization?name:contains=%00`],
  ["Organization by postcode", `${organisation}/Organization?address-postalcode=AC1%00`],
  ["Organization by city", `${organisation}/Organization?address-city=%00`],
  ["Organization by identifier", `${organisation}/Organization?identifier=RZZ%00`],
  ["Organization read", `${organisation}/Organization/RZZ%00`],
  ["Organization with a NUL parameter name", `${organisation}/Organization?na%00me=Ash`],
  ["Organization offset past bigint", `${organisation}/Organization?name=Ash&_offset=99999999999999999999`],
  ["Organization count past bigint", `${organisation}/Organization?name=Ash&_count=99999999999999999999`],
  ["Practitioner by identifier", `${worker}/Practitioner?identifier=%00`],
  ["Practitioner read", `${worker}/Practitioner/5550%000000`],
  ["PractitionerRole by practitioner", `${worker}/PractitionerRole?practitioner.identifier=%00`],
  ["Device by organisation", `${spine}/Device?organization=RZZ%00&identifier=x`],
  ["Endpoint by identifier", `${spine}/Endpoint?organization=RZZ&identifier=%00`],
  ["metadata", `${organisation}/metadata?_format=%00`],
];

test("NUL bytes and huge numbers in FHIR parameters are 400 OperationOutcomes", async (t) => {
  const { app, key } = await directoryServer(t);
  for (const [name, url] of requests) {
    const response = await app.inject({ url, headers: { apikey: key } });
    assert.equal(response.statusCode, 400, `${name}: ${response.body}`);
    assert.match(String(response.headers["content-type"]), /^application\/fhir\+json/, name);
    const outcome = response.json();
    assertValidFhir(outcome);
    assert.equal(outcome.resourceType, "OperationOutcome", name);
    assert.equal(outcome.issue[0].details.coding[0].code, "INVALID_PARAMETER", name);
  }
});
