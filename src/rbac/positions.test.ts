import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { testStore } from "../../test/support/test-store.ts";
import { operatorActor } from "../audit/actor.ts";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors.ts";
import { changePersonStatus, createPerson } from "../people/people.ts";
import type { Store } from "../store/database.ts";
import { readCodeLists } from "./code-lists.ts";
import { createOrganisation } from "./organisations.ts";
import {
  endPosition,
  grantPosition,
  type NewPosition,
  peopleAtOrganisation,
  positionsOfPerson,
} from "./positions.ts";
import { createWorkgroup } from "./workgroups.ts";

const actor = operatorActor();

/** Two organisations and one person, with a grant that defaults to a nurse at RZZ. */
async function directory(t: TestContext) {
  const store = await testStore(t);
  const lists = await readCodeLists(store.db);
  await createOrganisation(store.db, actor, { odsCode: "RZZ", name: "Ashcombe Hospitals", type: "RO197" });
  await createOrganisation(store.db, actor, { odsCode: "A99001", name: "Millbrook Surgery", type: "RO76" });
  const person = await createPerson(store.db, actor, { givenName: "Flo", familyName: "Nurse" });
  const grant = (input: NewPosition = {}) =>
    grantPosition(store.db, actor, lists, {
      uuid: person.uuid,
      odsCode: "RZZ",
      jobRole: "R8001",
      startDate: "2024-01-01",
      ...input,
    });
  return { store, lists, person, grant };
}

/** Expects an InvalidInputError naming exactly these fields. */
async function refusedNaming(attempt: Promise<unknown>, ...fields: string[]): Promise<void> {
  await assert.rejects(attempt, (error) => {
    assert.ok(error instanceof InvalidInputError, `expected InvalidInputError, got ${error}`);
    assert.deepEqual(error.problems.map((problem) => problem.field).sort(), fields.sort());
    return true;
  });
}

async function count(store: Store, table: "positions" | "person_organisations" | "audit_events") {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

test("a grant gets a 12-digit role profile id and person-org id, and reads back in full", async (t) => {
  const { person, grant } = await directory(t);
  const position = await grant({ activities: ["B0825"], areasOfWork: ["P0020:Q0300:T0640"] });
  assert.match(position.roleProfileId, /^\d{12}$/);
  assert.match(position.personOrgId, /^\d{12}$/);
  assert.notEqual(position.roleProfileId, position.personOrgId);
  assert.equal(position.uuid, person.uuid);
  assert.equal(position.odsCode, "RZZ");
  assert.equal(position.organisationName, "Ashcombe Hospitals");
  assert.equal(position.jobRole.code, "S8000:G8000:R8001");
  assert.deepEqual(position.addedActivityCodes, ["B0825"]);
  assert.ok(position.activities.some((activity) => activity.code === "B8029"));
  assert.deepEqual(position.areasOfWork, [
    { code: "P0020:Q0300:T0640", name: '"Pathology":"Pathology":"Phlebotomy"' },
  ]);
  assert.equal(position.startDate, "2024-01-01");
  assert.equal(position.endDate, null);
  assert.equal(position.status, "active");
});

test("positions at one organisation share a person-org id; another organisation gets its own", async (t) => {
  const { grant } = await directory(t);
  const nurse = await grant();
  const manager = await grant({ jobRole: "R8002" });
  const gp = await grant({ odsCode: "A99001", jobRole: "R0260" });
  assert.notEqual(manager.roleProfileId, nurse.roleProfileId);
  assert.equal(manager.personOrgId, nurse.personOrgId);
  assert.notEqual(gp.personOrgId, nurse.personOrgId);
  assert.match(gp.personOrgId, /^\d{12}$/);
});

test("only current positions are listed unless ended ones are asked for", async (t) => {
  const { store, lists, person, grant } = await directory(t);
  const current = await grant();
  const future = await grant({ jobRole: "R8002", startDate: "2099-01-01" });
  const lapsed = await grant({ jobRole: "R8003", startDate: "2020-01-01", endDate: "2020-12-31" });
  const ended = await grant({ jobRole: "R8016" });
  await endPosition(store.db, actor, lists, ended.roleProfileId, { reason: "moved ward" });

  const listed = await positionsOfPerson(store.db, lists, person.uuid);
  assert.deepEqual(
    listed.map((position) => position.roleProfileId),
    [current.roleProfileId],
  );
  const all = await positionsOfPerson(store.db, lists, person.uuid, { includeEnded: true });
  assert.deepEqual(
    all.map((position) => position.roleProfileId).sort(),
    [current, future, lapsed, ended].map((position) => position.roleProfileId).sort(),
  );
  assert.equal(all.find((position) => position.roleProfileId === ended.roleProfileId)?.status, "ended");
});

test("a position is current on its start and end dates, not the day after it ends", async (t) => {
  const { store, lists, person, grant } = await directory(t);
  const position = await grant({ startDate: "2024-03-01", endDate: "2024-03-31" });
  const on = (today: string) => positionsOfPerson(store.db, lists, person.uuid, { today });
  assert.equal((await on("2024-02-29")).length, 0);
  assert.deepEqual(
    (await on("2024-03-01")).map((listed) => listed.roleProfileId),
    [position.roleProfileId],
  );
  assert.equal((await on("2024-03-31")).length, 1);
  assert.equal((await on("2024-04-01")).length, 0);
});

test("one job role may be held twice in different workgroups", async (t) => {
  const { store, lists, person, grant } = await directory(t);
  const ward = await createWorkgroup(store.db, actor, "RZZ", "Ward 7");
  const theatres = await createWorkgroup(store.db, actor, "RZZ", "Theatres");
  const first = await grant({ workgroups: [ward.id] });
  const second = await grant({ workgroups: [theatres.id] });
  assert.deepEqual(first.workgroups, [{ id: ward.id, name: "Ward 7" }]);
  assert.deepEqual(second.workgroups, [{ id: theatres.id, name: "Theatres" }]);
  const held = await positionsOfPerson(store.db, lists, person.uuid);
  assert.deepEqual(
    held.map((position) => position.jobRole.jobRoleCode),
    ["R8001", "R8001"],
  );
});

test("malformed input is refused naming the field at fault", async (t) => {
  const { store, grant } = await directory(t);
  await refusedNaming(grant({ uuid: "12345" }), "uuid");
  await refusedNaming(grant({ jobRole: "R9999" }), "jobRole");
  await refusedNaming(grant({ activities: ["B0825", "B9999"] }), "activities");
  await refusedNaming(grant({ areasOfWork: ["P9999:Q9999:T9999"] }), "areasOfWork");
  await refusedNaming(grant({ startDate: "2024-06-01", endDate: "2024-05-31" }), "endDate");
  await refusedNaming(grant({ startDate: "2024-02-30" }), "startDate");
  await refusedNaming(grant({ uuid: "x", jobRole: "R9999" }), "uuid", "jobRole");
  assert.equal(await count(store, "positions"), 0);
});

test("a workgroup from another organisation is refused", async (t) => {
  const { store, grant } = await directory(t);
  const elsewhere = await createWorkgroup(store.db, actor, "A99001", "Clinical Team");
  await refusedNaming(grant({ workgroups: [elsewhere.id] }), "workgroups");
  assert.equal(await count(store, "positions"), 0);
});

test("an unknown organisation or person is not found", async (t) => {
  const { grant } = await directory(t);
  await assert.rejects(grant({ odsCode: "XYZ99" }), (error) => {
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.subject, "organisation");
    return true;
  });
  await assert.rejects(grant({ uuid: "999999999999" }), (error) => {
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.subject, "person");
    return true;
  });
});

test("the same position twice over overlapping dates is a conflict", async (t) => {
  const { store, grant } = await directory(t);
  const first = await grant({ startDate: "2024-01-01", endDate: "2024-12-31" });
  await assert.rejects(grant({ startDate: "2024-12-31" }), (error) => {
    assert.ok(error instanceof ConflictError);
    assert.equal(error.field, "jobRole");
    assert.match(error.message, new RegExp(first.roleProfileId));
    return true;
  });
  await grant({ startDate: "2025-01-01" });
  await grant({ startDate: "2024-06-01", activities: ["B0825"] });
  assert.equal(await count(store, "positions"), 3);
});

test("a closed profile cannot be given a position", async (t) => {
  const { store, person, grant } = await directory(t);
  await changePersonStatus(store.db, actor, person.uuid, "closed", "left the NHS");
  await assert.rejects(grant(), (error) => {
    assert.ok(error instanceof ConflictError);
    assert.equal(error.field, "uuid");
    return true;
  });
  assert.equal(await count(store, "positions"), 0);
});

test("ending a position needs a reason and an end no earlier than its start", async (t) => {
  const { store, lists, grant } = await directory(t);
  const position = await grant({ startDate: "2024-01-01" });
  const end = (change: { endDate?: string; reason: string }) =>
    endPosition(store.db, actor, lists, position.roleProfileId, change);
  await refusedNaming(end({ reason: "  " }), "reason");
  await refusedNaming(end({ endDate: "2023-12-31", reason: "left" }), "endDate");
  const ended = await end({ endDate: "2024-06-30", reason: "left" });
  assert.equal(ended.endDate, "2024-06-30");
  assert.equal(ended.status, "ended");
  assert.equal(ended.startDate, "2024-01-01");
  await assert.rejects(end({ reason: "again" }), ConflictError);
  const event = await store.db
    .selectFrom("audit_events")
    .select(["reason", "after"])
    .where("action", "=", "position.ended")
    .where("subject_id", "=", position.roleProfileId)
    .execute();
  assert.deepEqual(event, [{ reason: "left", after: { endDate: "2024-06-30", status: "ended" } }]);
});

test("people at an organisation are its current position holders, by family name", async (t) => {
  const { store, lists, person, grant } = await directory(t);
  const other = await createPerson(store.db, actor, { title: "Dr", givenName: "Ann", familyName: "Adams" });
  const gone = await createPerson(store.db, actor, { givenName: "Zed", familyName: "Zimmer" });
  const nurse = await grant();
  const manager = await grant({ jobRole: "R8002" });
  const doctor = await grant({ uuid: other.uuid, jobRole: "R8000" });
  await grant({ uuid: other.uuid, odsCode: "A99001", jobRole: "R0260" });
  await grant({ uuid: gone.uuid, startDate: "2099-01-01" });
  const left = await grant({ uuid: gone.uuid, jobRole: "R8002" });
  await endPosition(store.db, actor, lists, left.roleProfileId, { reason: "left" });

  assert.deepEqual(await peopleAtOrganisation(store.db, "RZZ"), [
    { uuid: other.uuid, name: "Adams Ann Dr", roleProfileIds: [doctor.roleProfileId] },
    {
      uuid: person.uuid,
      name: "Nurse Flo",
      roleProfileIds: [nurse.roleProfileId, manager.roleProfileId].sort(),
    },
  ]);
});

test("a failed transaction leaves no position, membership or audit event behind", async (t) => {
  const { store, lists, person } = await directory(t);
  const eventsBefore = await count(store, "audit_events");
  let granted: string | undefined;
  await assert.rejects(
    store.db.transaction().execute(async (tx) => {
      const position = await grantPosition(tx, actor, lists, {
        uuid: person.uuid,
        odsCode: "RZZ",
        jobRole: "R8001",
        startDate: "2024-01-01",
      });
      granted = position.roleProfileId;
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.match(granted ?? "", /^\d{12}$/, "the grant itself succeeded before the failure");
  assert.equal(await count(store, "positions"), 0);
  assert.equal(await count(store, "person_organisations"), 0);
  assert.equal(await count(store, "audit_events"), eventsBefore);
  const head = await store.db.selectFrom("audit_head").select("seq").executeTakeFirstOrThrow();
  assert.equal(Number(head.seq), eventsBefore);
});

test("every grant writes exactly one position.granted event describing it", async (t) => {
  const { store, grant } = await directory(t);
  const before = await count(store, "audit_events");
  const positions = [await grant(), await grant({ jobRole: "R8002" }), await grant({ odsCode: "A99001" })];
  assert.equal(await count(store, "audit_events"), before + positions.length);
  for (const position of positions) {
    const events = await store.db
      .selectFrom("audit_events")
      .select(["action", "subject_type", "after"])
      .where("subject_id", "=", position.roleProfileId)
      .execute();
    assert.equal(events.length, 1);
    assert.equal(events[0]?.action, "position.granted");
    assert.equal(events[0]?.subject_type, "position");
    assert.deepEqual(events[0]?.after, {
      uuid: position.uuid,
      odsCode: position.odsCode,
      personOrgId: position.personOrgId,
      jobRole: position.jobRole.code,
      addedActivityCodes: [],
      workgroupIds: [],
      areaOfWorkCodes: [],
      startDate: "2024-01-01",
      endDate: null,
    });
  }
});
