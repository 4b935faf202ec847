import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { testStore } from "../../test/support/test-store.ts";
import { type CodeLists, readCodeLists } from "./code-lists.ts";
import { effectiveActivities, qualifyJobRole } from "./job-roles.ts";

async function codeLists(t: TestContext): Promise<CodeLists> {
  const store = await testStore(t);
  return readCodeLists(store.db);
}

test("a job role is qualified by its staff group and sub-group, codes and quoted names", async (t) => {
  const lists = await codeLists(t);
  const nurse = lists.jobRoles.get("R8001");
  assert.ok(nurse, "R8001 is in the national code lists");
  assert.deepEqual(qualifyJobRole(lists, nurse), {
    code: "S8000:G8000:R8001",
    name: '"Clinical":"Clinical Provision":"Nurse Access Role"',
    jobRoleCode: "R8001",
    jobRoleName: "Nurse Access Role",
  });
});

test("an RA manager's job role sits in Admin & Clerical", async (t) => {
  const lists = await codeLists(t);
  const manager = lists.jobRoles.get("R5080");
  assert.ok(manager);
  const qualified = qualifyJobRole(lists, manager);
  assert.equal(qualified.code, "S0080:G0450:R5080");
  assert.equal(qualified.name, '"Admin & Clerical":"Management - A & C":"Registration Authority Manager"');
});

test("a job role's baseline brings every activity it includes, transitively", async (t) => {
  const lists = await codeLists(t);
  assert.ok(lists.baseline.get("R8001")?.includes("B0380"), "R8001's baseline grants B0380");
  const activities = effectiveActivities(lists, "R8001", []);
  // B0380 includes B8028, which includes B8029: neither is in R8001's baseline itself.
  assert.ok(!lists.baseline.get("R8001")?.includes("B8029"));
  for (const code of ["B0380", "B8028", "B8029", "B0055"]) assert.ok(activities.includes(code), code);
  assert.deepEqual(activities, [
    "B0028",
    "B0055",
    "B0058",
    "B0064",
    "B0168",
    "B0278",
    "B0380",
    "B0401",
    "B0420",
    "B0428",
    "B0440",
    "B0820",
    "B0825",
    "B8028",
    "B8029",
  ]);
});

test("an added activity brings the activities it includes", async (t) => {
  const lists = await codeLists(t);
  assert.deepEqual(effectiveActivities(lists, "R5090", []), ["B0267"]);
  assert.deepEqual(effectiveActivities(lists, "R5090", ["B0825"]), ["B0267", "B0820", "B0825"]);
});

test("effective activities are sorted with no duplicates, however they overlap", async (t) => {
  const lists = await codeLists(t);
  const baselineOnly = effectiveActivities(lists, "R8001", []);
  // B0380 and B8028 are already granted by the baseline; B0825 names B0820 a second time.
  const overlapping = effectiveActivities(lists, "R8001", ["B8028", "B0380", "B0825", "B0820"]);
  assert.deepEqual(overlapping, baselineOnly);
  assert.deepEqual(overlapping, [...new Set(overlapping)].sort());
});

test("a job role with no baseline grants only what was added", async (t) => {
  const lists = await codeLists(t);
  assert.deepEqual(effectiveActivities(lists, "R1995", []), []);
  assert.deepEqual(effectiveActivities(lists, "R1995", ["B8028"]), ["B8028", "B8029"]);
});
