import assert from "node:assert/strict";
import { test } from "node:test";
import { operationOutcomeFor } from "../directory/fhir/operation-outcome.ts";
import { problemFor } from "../web/problem.ts";
import { isDatabaseUnavailable } from "./unavailable.ts";

const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
const shutdown = Object.assign(new Error("terminating connection due to administrator command"), {
  code: "57P01",
});
const dropped = new Error("Connection terminated unexpectedly");
const wrapped = new Error("temporarily_unavailable", { cause: refused });

test("a database that cannot be reached is told apart from a fault in the request or in our code", () => {
  for (const error of [refused, shutdown, dropped, wrapped])
    assert.equal(isDatabaseUnavailable(error), true, error.message);
  const unique = Object.assign(new Error("duplicate key value"), { code: "23505" });
  for (const error of [unique, new TypeError("x is undefined"), undefined, "text"])
    assert.equal(isDatabaseUnavailable(error), false, String(error));
});

test("each interface answers an unreachable database as 'unavailable, retry', saying nothing internal", () => {
  const problem = problemFor(refused);
  assert.equal(problem.status, 503);
  assert.doesNotMatch(JSON.stringify(problem), /ECONNREFUSED|5432/);
  const { status, outcome } = operationOutcomeFor(shutdown);
  assert.equal(status, 503);
  assert.equal(outcome.issue[0]?.code, "transient");
  assert.doesNotMatch(JSON.stringify(outcome), /57P01|administrator/);
});
