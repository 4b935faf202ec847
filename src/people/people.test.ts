import assert from "node:assert/strict";
import { test } from "node:test";
import { testStore } from "../../test/support/test-store.ts";
import { operatorActor } from "../audit/actor.ts";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors.ts";
import { changePersonStatus, createPerson, getPerson } from "./people.ts";

const actor = operatorActor();
const nurse = {
  title: "Mrs",
  givenName: "Flo",
  familyName: "Nurse",
  dateOfBirth: "1985-06-01",
  niNumber: "JT123456C",
  email: "Flo.Nurse@nhs.net",
  mobile: "+44 7700 900123",
  identityAssuranceLevel: 3,
  identityEvidence: { method: "face-to-face", documents: ["passport", "utility-bill", "driving-licence"] },
  registrations: [{ body: "nmc", number: "12a3456e" }],
};

test("a profile gets a 12-digit UUID and normalised details", async (t) => {
  const store = await testStore(t);
  const person = await createPerson(store.db, actor, nurse);
  assert.match(person.uuid, /^\d{12}$/);
  const read = await getPerson(store.db, person.uuid);
  assert.equal(read.email, "flo.nurse@nhs.net");
  assert.equal(read.mobile, "07700900123");
  assert.deepEqual(read.registrations, [{ body: "NMC", number: "12A3456E" }]);
  assert.equal(read.status, "active");
});

test("UUIDs are never reused, even after a rolled-back creation", async (t) => {
  const store = await testStore(t);
  const first = await createPerson(store.db, actor, { givenName: "Ann", familyName: "One" });
  await assert.rejects(
    store.db.transaction().execute(async (tx) => {
      await createPerson(tx, actor, { givenName: "Bob", familyName: "Two" });
      throw new Error("abandon");
    }),
  );
  const third = await createPerson(store.db, actor, { givenName: "Cat", familyName: "Three" });
  assert.ok(
    BigInt(third.uuid) > BigInt(first.uuid) + 1n,
    "the abandoned UUID is skipped, not handed out again",
  );
});

test("bad fields are all named at once", async (t) => {
  const store = await testStore(t);
  const error = await createPerson(store.db, actor, {
    givenName: "",
    familyName: "Smith3",
    niNumber: "DA123456A",
    email: "not-an-email",
    mobile: "12345",
    dateOfBirth: "2001-02-30",
    identityAssuranceLevel: 7,
    registrations: [{ body: "GMC", number: "12" }],
  }).catch((caught) => caught);
  assert.ok(error instanceof InvalidInputError);
  assert.deepEqual(error.problems.map((problem) => problem.field).sort(), [
    "dateOfBirth",
    "email",
    "familyName",
    "givenName",
    "identityAssuranceLevel",
    "mobile",
    "niNumber",
    "registrations[0].number",
  ]);
  assert.equal((await store.db.selectFrom("people").select("uuid").execute()).length, 0);
});

test("a verified profile must say how identity was verified", async (t) => {
  const store = await testStore(t);
  await assert.rejects(createPerson(store.db, actor, { ...nurse, identityEvidence: undefined }), (error) => {
    assert.ok(error instanceof InvalidInputError);
    assert.equal(error.problems[0]?.field, "identityEvidence");
    return true;
  });
});

test("a second person with the same NI number or registration is refused", async (t) => {
  const store = await testStore(t);
  const first = await createPerson(store.db, actor, nurse);
  await assert.rejects(createPerson(store.db, actor, { ...nurse, registrations: [] }), (error) => {
    assert.ok(error instanceof ConflictError);
    assert.equal(error.field, "niNumber");
    assert.match(error.message, new RegExp(first.uuid));
    return true;
  });
  await assert.rejects(createPerson(store.db, actor, { ...nurse, niNumber: "JT654321C" }), (error) => {
    assert.ok(error instanceof ConflictError);
    assert.equal(error.field, "registrations");
    return true;
  });
});

test("malformed and unknown UUIDs are told apart", async (t) => {
  const store = await testStore(t);
  await assert.rejects(getPerson(store.db, "12345"), InvalidInputError);
  await assert.rejects(getPerson(store.db, "999999999999"), NotFoundError);
});

test("status changes need a reason, follow the allowed paths and are audited", async (t) => {
  const store = await testStore(t);
  const person = await createPerson(store.db, actor, nurse);
  await assert.rejects(changePersonStatus(store.db, actor, person.uuid, "closed", " "), InvalidInputError);
  await changePersonStatus(store.db, actor, person.uuid, "closed", "left the NHS");
  await assert.rejects(changePersonStatus(store.db, actor, person.uuid, "suspended", "x"), ConflictError);
  const reopened = await changePersonStatus(store.db, actor, person.uuid, "active", "returned");
  assert.equal(reopened.person.status, "active");
  const actions = await store.db
    .selectFrom("audit_events")
    .select(["action", "reason"])
    .where("subject_id", "=", person.uuid)
    .orderBy("seq")
    .execute();
  assert.deepEqual(actions, [
    { action: "person.created", reason: null },
    { action: "person.closed", reason: "left the NHS" },
    { action: "person.reopened", reason: "returned" },
  ]);
});
