import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { inCim, raDirectory, refusedWith } from "../../test/support/ra-directory.ts";
import { ConflictError, ForbiddenError, InvalidInputError } from "../errors.ts";
import { createPerson } from "../people/people.ts";
import { positionsOfPerson } from "../rbac/positions.ts";
import type { Queryable } from "../store/database.ts";
import { assignPosition, batchAssign, changeAssignmentDates, removeAssignment } from "./assignments.ts";
import {
  definePosition,
  listPositionDefinitions,
  setSponsorAssignable,
  sponsorAssignablePositions,
} from "./position-definitions.ts";

async function positionCount(queryable: Queryable): Promise<number> {
  const row = await queryable
    .selectFrom("positions")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The RA directory with a two-profile "Ward nurse" position and an "RA agent" position at RZZ. */
async function withPositions(t: TestContext) {
  const directory = await raDirectory(t);
  const { store, lists, actors } = directory;
  const wardNurse = await definePosition(store.db, inCim(actors.RAM), lists, {
    odsCode: "RZZ",
    name: "Ward nurse",
    accessProfiles: [
      { jobRole: "R8001", activities: ["B0825"] },
      { jobRole: "S8000:G8000:R8000", areasOfWork: [] },
    ],
  });
  const raAgent = await definePosition(store.db, inCim(actors.RAA_ADVANCED), lists, {
    odsCode: "RZZ",
    name: "RA agent",
    accessProfiles: [{ jobRole: "R5090" }],
  });
  return { ...directory, wardNurse, raAgent };
}

test("position definitions: RA managers and advanced agents define them per organisation; bad ones are refused", async (t) => {
  const { store, lists, actors, wardNurse } = await withPositions(t);
  // Beside the demo's own definitions at RZZ (Healthcare student, Medical secretary, Staff nurse).
  assert.deepEqual(
    (await listPositionDefinitions(store.db, "RZZ")).map((definition) => definition.name),
    ["Healthcare student", "Medical secretary", "RA agent", "Staff nurse", "Ward nurse"],
  );
  assert.equal(wardNurse.accessProfiles[1]?.jobRole, "R8000");
  await refusedWith(
    definePosition(store.db, inCim(actors.RAA), lists, {
      odsCode: "RZZ",
      name: "Porter",
      accessProfiles: [{ jobRole: "R8008" }],
    }),
    ForbiddenError,
    /position.define/,
  );
  await refusedWith(
    definePosition(store.db, inCim(actors.RAM), lists, {
      odsCode: "RZZ",
      name: "ward NURSE",
      accessProfiles: [{ jobRole: "R8001" }],
    }),
    ConflictError,
    /already has a position/,
  );
  await refusedWith(
    definePosition(store.db, inCim(actors.RAM), lists, {
      odsCode: "RZZ",
      name: "Odd",
      accessProfiles: [{ jobRole: "R9999", activities: ["B0000"] }],
    }),
    InvalidInputError,
    /R9999.*B0000|B0000.*R9999/s,
  );
  await refusedWith(
    definePosition(store.db, inCim(actors.RAM), lists, {
      odsCode: "A99001",
      name: "GP",
      accessProfiles: [{ jobRole: "R0260" }],
    }),
    ForbiddenError,
    /A99001/,
  );
});

test("assigning a position gives one role profile per access profile, from its start date, with the RA's position on record", async (t) => {
  const { store, lists, actors, places, wardNurse } = await withPositions(t);
  const uuid = places.child.person;
  const done = await assignPosition(store.db, inCim(actors.RAA), lists, {
    uuid,
    positionDefinitionId: wardNurse.id,
    startDate: "2025-01-06",
    reason: "New starter",
    notes: "Ward 7",
  });
  assert.equal(done.outcome, "done");
  const assignment = done.outcome === "done" ? done.result : assert.fail();
  assert.equal(assignment.roleProfileIds.length, 2);
  assert.deepEqual(assignment.jobRoles, ["R8001", "R8000"]);
  const current = await positionsOfPerson(store.db, lists, uuid);
  assert.equal(
    current.filter((position) => assignment.roleProfileIds.includes(position.roleProfileId)).length,
    2,
  );
  const event = await store.db
    .selectFrom("audit_events")
    .select(["actor_id", "actor_role_id", "reason", "after"])
    .where("action", "=", "assignment.created")
    .executeTakeFirstOrThrow();
  assert.equal(event.actor_id, actors.RAA);
  assert.match(String(event.actor_role_id), /^\d{12}$/);
  assert.equal(event.reason, "New starter");
  assert.equal((event.after as { notes: string }).notes, "Ward 7");
});

test("bad assignments change nothing: end before start, outside authority, to oneself, an RA role at one's own level", async (t) => {
  const { store, lists, actors, places, wardNurse, raAgent } = await withPositions(t);
  const before = await positionCount(store.db);
  const assign = (actor: string, input: Record<string, unknown>) =>
    assignPosition(store.db, inCim(actor), lists, {
      positionDefinitionId: wardNurse.id,
      startDate: "2025-01-06",
      ...input,
    });
  await refusedWith(
    assign(actors.RAA, { uuid: places.inside.person, endDate: "2025-01-05" }),
    InvalidInputError,
    /before the start/,
  );
  await refusedWith(assign(actors.RAA, { uuid: actors.RAA }), ForbiddenError, /their own positions/);
  await refusedWith(
    assign(actors.RAA, { uuid: places.inside.person, positionDefinitionId: raAgent.id }),
    ForbiddenError,
    /at or above their own level/,
  );
  const gp = await definePosition(store.db, inCim(await gpManager(store.db)), lists, {
    odsCode: "A99001",
    name: "Receptionist",
    accessProfiles: [{ jobRole: "R8009" }],
  });
  const afterDefinition = await positionCount(store.db);
  assert.equal(afterDefinition, before);
  await refusedWith(
    assign(actors.RAM, { uuid: places.inside.person, positionDefinitionId: gp.id }),
    ForbiddenError,
    /A99001/,
  );
  await refusedWith(assign(actors.RAA, { uuid: "12345" }), InvalidInputError, /uuid/);
  assert.equal(await positionCount(store.db), before);
  const ok = await assign(actors.RAM, { uuid: places.inside.person, positionDefinitionId: raAgent.id });
  assert.equal(ok.outcome, "done", "an RA manager may make an RA agent");
});

async function gpManager(queryable: Queryable): Promise<string> {
  const row = await queryable
    .selectFrom("people")
    .select("uuid")
    .where("family_name", "=", "Whitmore")
    .executeTakeFirstOrThrow();
  return row.uuid;
}

test("end dates change (never before the start); removal ends the role profiles; a removed assignment is stale", async (t) => {
  const { store, lists, actors, places, wardNurse } = await withPositions(t);
  const uuid = places.inside.person;
  const done = await assignPosition(store.db, inCim(actors.RAA), lists, {
    uuid,
    positionDefinitionId: wardNurse.id,
    startDate: "2025-01-06",
  });
  const { assignmentId } = done.outcome === "done" ? done.result : assert.fail();
  await refusedWith(
    changeAssignmentDates(store.db, inCim(actors.RAA), { assignmentId, endDate: "2024-12-31" }),
    InvalidInputError,
    /before the start/,
  );
  const changed = await changeAssignmentDates(store.db, inCim(actors.RAA), {
    assignmentId,
    endDate: "2030-03-31",
  });
  assert.equal(changed.outcome === "done" && changed.result.endDate, "2030-03-31");
  await refusedWith(
    removeAssignment(store.db, inCim(actors.RAA), lists, { assignmentId }),
    InvalidInputError,
    /reason/,
  );
  const removed = await removeAssignment(store.db, inCim(actors.RAA), lists, {
    assignmentId,
    reason: "Moved ward",
  });
  assert.equal(removed.outcome === "done" && removed.result.status, "ended");
  await refusedWith(
    removeAssignment(store.db, inCim(actors.RAA), lists, { assignmentId, reason: "again" }),
    ConflictError,
    /already been removed/,
  );
  const seeded = (await positionsOfPerson(store.db, lists, uuid))[0];
  const seededEnd = await changeAssignmentDates(store.db, inCim(actors.RAA), {
    assignmentId: String(seeded?.roleProfileId),
    endDate: "2031-01-01",
  });
  assert.equal(seededEnd.outcome, "done", "a position granted outside CIM is its own assignment");
});

test("a sponsor assigns an assignable position directly and requests anything else", async (t) => {
  const { store, lists, actors, places, wardNurse, raAgent } = await withPositions(t);
  const uuid = places.inside.person;
  const input = { uuid, positionDefinitionId: wardNurse.id, startDate: "2025-02-03" };
  const asked = await assignPosition(store.db, inCim(actors.SPONSOR), lists, input);
  assert.equal(asked.outcome, "requested");
  await refusedWith(
    setSponsorAssignable(store.db, inCim(actors.RAA), {
      positionDefinitionId: wardNurse.id,
      sponsorUuid: actors.SPONSOR,
      assignable: true,
    }),
    ForbiddenError,
    /choose-sponsor-assignable/,
  );
  await refusedWith(
    setSponsorAssignable(store.db, inCim(actors.RAM), {
      positionDefinitionId: wardNurse.id,
      sponsorUuid: actors.RAA,
      assignable: true,
    }),
    InvalidInputError,
    /B1300/,
  );
  await setSponsorAssignable(store.db, inCim(actors.RAM), {
    positionDefinitionId: wardNurse.id,
    sponsorUuid: actors.SPONSOR,
    assignable: true,
  });
  assert.deepEqual(
    (await sponsorAssignablePositions(store.db, actors.SPONSOR)).map((definition) => definition.id),
    [wardNurse.id],
  );
  const direct = await assignPosition(store.db, inCim(actors.SPONSOR), lists, {
    ...input,
    startDate: "2026-01-05",
  });
  assert.equal(direct.outcome, "done");
  const other = await assignPosition(store.db, inCim(actors.SPONSOR), lists, {
    ...input,
    positionDefinitionId: raAgent.id,
  });
  assert.equal(other.outcome, "requested");
});

test("batch assignment: up to 100 people, all or nothing, each fault named by its place", async (t) => {
  const { store, lists, actors, places, seeder, wardNurse } = await withPositions(t);
  const people: string[] = [];
  for (let index = 0; index < 3; index++)
    people.push(
      (await createPerson(store.db, seeder, { givenName: "Batch", familyName: `Person${"abc"[index]}` }))
        .uuid,
    );
  const before = await positionCount(store.db);
  const batch = (actor: string, uuids: unknown[]) =>
    batchAssign(store.db, inCim(actor), lists, {
      positionDefinitionId: wardNurse.id,
      uuids,
      startDate: "2025-04-01",
    });
  await refusedWith(batch(actors.RAA, people), ForbiddenError, /batch-assign/);
  await refusedWith(
    batch(
      actors.RAM,
      Array.from({ length: 101 }, () => people[0]),
    ),
    InvalidInputError,
    /1 to 100/,
  );
  await refusedWith(batch(actors.RAM, [people[0], people[0]]), InvalidInputError, /listed twice/);
  await refusedWith(batch(actors.RAM, [people[0], actors.RAM]), InvalidInputError, /uuids\[1\].*themselves/);
  await refusedWith(
    batch(actors.RAM, [people[0], "999999999999"]),
    InvalidInputError,
    /uuids\[1\]: 999999999999/,
  );
  assert.equal(await positionCount(store.db), before);
  const assigned = await batch(actors.RAA_ADVANCED, [...people, places.inside.person]);
  assert.equal(assigned.length, 4);
  assert.equal(await positionCount(store.db), before + 8);
});
