import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { testStore } from "../../test/support/test-store.ts";
import { operatorActor } from "../audit/actor.ts";
import { verifyAuditLog } from "../audit/verify.ts";
import { InvalidInputError } from "../errors.ts";
import { readCodeLists } from "../rbac/code-lists.ts";
import { createOrganisation } from "../rbac/organisations.ts";
import { positionsOfPerson } from "../rbac/positions.ts";
import type { Db } from "../store/database.ts";
import { readDemoDirectory, seedDemo } from "./demo.ts";
import { addPeople, type PersonEntry } from "./people-loader.ts";

const actor = operatorActor();
const demo = readDemoDirectory();

/** Sorted by code point here, not by the database's collation, so both sides compare alike. */
const sorted = (values: string[]) => [...values].sort((left, right) => (left < right ? -1 : 1));

/** What the directory holds, as sorted keys, and how far the audit log has got. */
async function snapshot(db: Db) {
  const [organisations, workgroups, people, positions, head] = await Promise.all([
    db.selectFrom("organisations").select("ods_code").execute(),
    db.selectFrom("workgroups").select(["ods_code", "name"]).execute(),
    db.selectFrom("people").select("family_name").execute(),
    db.selectFrom("positions").select("role_profile_id").execute(),
    db.selectFrom("audit_head").select("seq").executeTakeFirstOrThrow(),
  ]);
  return {
    organisations: sorted(organisations.map((row) => row.ods_code)),
    workgroups: sorted(workgroups.map((row) => `${row.ods_code}/${row.name}`)),
    familyNames: sorted(people.map((row) => row.family_name)),
    positions: positions.length,
    auditSeq: Number(head.seq),
  };
}

test("the demo directory loads whole into an empty store", async (t) => {
  const store = await testStore(t);
  assert.equal(await seedDemo(store.db, actor), true);
  const loaded = await snapshot(store.db);
  assert.deepEqual(loaded.organisations, sorted(demo.organisations.map((org) => String(org.odsCode))));
  assert.deepEqual(
    loaded.workgroups,
    sorted(demo.workgroups.map((workgroup) => `${workgroup.odsCode}/${workgroup.name}`)),
  );
  assert.deepEqual(loaded.familyNames, sorted(demo.people.map((person) => String(person.familyName))));
  const positionsInFile = demo.people.reduce((total, person) => total + (person.positions?.length ?? 0), 0);
  assert.equal(loaded.positions, positionsInFile);
  assert.ok(positionsInFile > demo.people.length, "the demo has people with several positions");
});

test("seeding again changes nothing", async (t) => {
  const store = await testStore(t);
  await seedDemo(store.db, actor);
  const first = await snapshot(store.db);
  assert.equal(await seedDemo(store.db, actor), false);
  assert.deepEqual(await snapshot(store.db), first);
});

test("the seeded audit log verifies", async (t) => {
  const store = await testStore(t);
  await seedDemo(store.db, actor);
  const report = await verifyAuditLog(store.db);
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  assert.equal(report.checked, (await snapshot(store.db)).auditSeq);
});

test("the seven-position demo person holds seven current positions", async (t) => {
  const store = await testStore(t);
  await seedDemo(store.db, actor);
  const karimi = await store.db
    .selectFrom("people")
    .select("uuid")
    .where("family_name", "=", "Karimi")
    .executeTakeFirstOrThrow();
  const positions = await positionsOfPerson(store.db, await readCodeLists(store.db), karimi.uuid);
  assert.equal(positions.length, 7);
  assert.deepEqual(
    new Set(positions.map((position) => position.odsCode)),
    new Set(["A99001", "A99002", "RZZ", "RZY", "VZZ01"]),
  );
  assert.equal(new Set(positions.map((position) => position.personOrgId)).size, 5);
});

const goodEntry: PersonEntry = {
  givenName: "Ann",
  familyName: "Good",
  positions: [{ odsCode: "RZZ", jobRole: "R8001", startDate: "2024-01-01" }],
};

async function storeWithTrust(t: TestContext) {
  const store = await testStore(t);
  await createOrganisation(store.db, actor, { odsCode: "RZZ", name: "Ashcombe Hospitals", type: "RO197" });
  return { store, lists: await readCodeLists(store.db), before: await snapshot(store.db) };
}

test("a file of people is added all or nothing, naming where the fault is", async (t) => {
  const { store, lists, before } = await storeWithTrust(t);
  const badEntry: PersonEntry = {
    givenName: "Bob",
    familyName: "Bad",
    positions: [{ odsCode: "RZZ", jobRole: "R9999", startDate: "2024-01-01" }],
  };
  await assert.rejects(addPeople(store.db, actor, lists, [goodEntry, badEntry]), (error) => {
    assert.ok(error instanceof InvalidInputError);
    assert.deepEqual(
      error.problems.map((problem) => problem.field),
      ["people[1].positions[0].jobRole"],
    );
    return true;
  });
  assert.deepEqual(await snapshot(store.db), before);
});

test("a fault in a person's own details is named by the entry", async (t) => {
  const { store, lists, before } = await storeWithTrust(t);
  await assert.rejects(
    addPeople(store.db, actor, lists, [goodEntry, { givenName: "", familyName: "Blank" }]),
    (error) => {
      assert.ok(error instanceof InvalidInputError);
      assert.deepEqual(
        error.problems.map((problem) => problem.field),
        ["people[1].givenName"],
      );
      return true;
    },
  );
  assert.deepEqual(await snapshot(store.db), before);
});

test("a good file adds every person with their positions", async (t) => {
  const { store, lists, before } = await storeWithTrust(t);
  const added = await addPeople(store.db, actor, lists, [
    goodEntry,
    { givenName: "Cat", familyName: "Also" },
  ]);
  assert.deepEqual(
    added.map(({ person, positions }) => [person.familyName, positions.length]),
    [
      ["Good", 1],
      ["Also", 0],
    ],
  );
  const after = await snapshot(store.db);
  assert.deepEqual(after.familyNames, ["Also", "Good"]);
  assert.equal(after.positions, 1);
  assert.equal(after.auditSeq, before.auditSeq + 3, "two people created and one position granted");
});
