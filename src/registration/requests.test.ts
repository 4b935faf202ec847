import assert from "node:assert/strict";
import { test } from "node:test";
import { inCim, raDirectory, refusedWith, uuidOf } from "../../test/support/ra-directory.ts";
import { ConflictError, ForbiddenError, InvalidInputError } from "../errors.ts";
import { getPerson } from "../people/people.ts";
import { positionsOfPerson } from "../rbac/positions.ts";
import { assignPosition } from "./assignments.ts";
import { definePosition } from "./position-definitions.ts";
import { approveRequest } from "./request-approval.ts";
import { listRequests } from "./request-dashboard.ts";
import { getRequest, openRequest, receiveRequest, rejectRequest } from "./requests.ts";

/** A sponsor's request for a ward nurse position for a nurse at RZZ. */
async function sponsorRequest(t: Parameters<typeof raDirectory>[0]) {
  const directory = await raDirectory(t);
  const { store, lists, actors, places } = directory;
  const wardNurse = await definePosition(store.db, inCim(actors.RAM), lists, {
    odsCode: "RZZ",
    name: "Ward nurse",
    accessProfiles: [{ jobRole: "R8001" }],
  });
  const asked = await assignPosition(store.db, inCim(actors.SPONSOR), lists, {
    uuid: places.inside.person,
    positionDefinitionId: wardNurse.id,
    startDate: "2025-03-03",
    reason: "Joining ward 7",
  });
  const request = asked.outcome === "requested" ? asked.request : assert.fail("expected a request");
  return { ...directory, wardNurse, request };
}

test("an approver opens a request (held 15 minutes for them) and approves it; the position is granted", async (t) => {
  const { store, lists, actors, places, request } = await sponsorRequest(t);
  assert.equal(request.status, "open");
  assert.equal(request.source, "CIM");
  assert.equal(request.odsCode, "RZZ");
  const open = await listRequests(store.db, actors.RAA, "open");
  assert.deepEqual(
    open.requests.map((each) => each.id),
    [request.id],
  );
  assert.deepEqual(
    (await listRequests(store.db, actors.SPONSOR, "mine")).requests.map((each) => each.id),
    [request.id],
  );
  await refusedWith(listRequests(store.db, actors.LSA, "open"), ForbiddenError, /request.decide/);
  await refusedWith(
    approveRequest(store.db, inCim(actors.RAA), lists, request.id),
    ConflictError,
    /open request/,
  );
  const opened = await openRequest(store.db, inCim(actors.RAA), request.id);
  const minutes = ((opened.lockedUntil?.getTime() ?? 0) - Date.now()) / 60_000;
  assert.ok(minutes > 14.9 && minutes <= 15, `held ${minutes} minutes`);
  await refusedWith(
    openRequest(store.db, inCim(actors.RAA_ADVANCED), request.id),
    ConflictError,
    /another approver/,
  );
  await refusedWith(
    approveRequest(store.db, inCim(actors.RAA_ADVANCED), lists, request.id),
    ConflictError,
    /another approver/,
  );
  await refusedWith(
    approveRequest(store.db, inCim(actors.RAA), lists, request.id, { version: request.version + 1 }),
    ConflictError,
    /changed since you opened it/,
  );
  const approved = await approveRequest(store.db, inCim(actors.RAA), lists, request.id, {
    version: request.version,
    notes: "Checked with the ward manager",
  });
  assert.equal(approved.status, "completed");
  assert.equal(approved.decidedBy, actors.RAA);
  const positions = await positionsOfPerson(store.db, lists, places.inside.person, { includeEnded: true });
  assert.ok(
    positions.some(
      (position) => position.jobRole.jobRoleCode === "R8001" && position.startDate === "2025-03-03",
    ),
  );
  const granted = await store.db
    .selectFrom("audit_events")
    .select(["actor_id", "actor_role_id"])
    .where("action", "=", "assignment.created")
    .executeTakeFirstOrThrow();
  assert.equal(granted.actor_id, actors.RAA, "the change is made as the approver");
  await refusedWith(
    approveRequest(store.db, inCim(actors.RAA), lists, request.id),
    ConflictError,
    /already been completed/,
  );
  assert.deepEqual(
    (await listRequests(store.db, actors.RAA, "closed")).requests.map((each) => each.id),
    [request.id],
  );
  assert.equal((await listRequests(store.db, actors.RAA, "open")).total, 0);
});

test("a rejection needs a reason; an expired hold can be taken over; nothing is decided twice", async (t) => {
  const { store, actors, request } = await sponsorRequest(t);
  await openRequest(store.db, inCim(actors.RAA), request.id);
  await store.db
    .updateTable("registration_requests")
    .set({ locked_until: new Date(Date.now() - 1000) })
    .where("id", "=", request.id)
    .execute();
  await openRequest(store.db, inCim(actors.RAA_ADVANCED), request.id);
  await refusedWith(
    rejectRequest(store.db, inCim(actors.RAA), request.id, { reason: "No" }),
    ConflictError,
    /another approver/,
  );
  await refusedWith(
    rejectRequest(store.db, inCim(actors.RAA_ADVANCED), request.id, {}),
    InvalidInputError,
    /reason/,
  );
  const rejected = await rejectRequest(store.db, inCim(actors.RAA_ADVANCED), request.id, {
    reason: "Not on the ward establishment",
    submissionId: "reject-form-1",
  });
  assert.equal(rejected.status, "rejected");
  assert.equal(rejected.decisionReason, "Not on the ward establishment");
  await refusedWith(
    rejectRequest(store.db, inCim(actors.RAA_ADVANCED), request.id, {
      reason: "again",
      submissionId: "reject-form-2",
    }),
    ConflictError,
    /already been rejected/,
  );
  assert.equal((await getRequest(store.db, request.id)).status, "rejected");
});

test("approvers see only what they may approve: not their own, not elsewhere, not an RA role at their level", async (t) => {
  const { store, lists, actors, places, request } = await sponsorRequest(t);
  const raAgent = await definePosition(store.db, inCim(actors.RAM), lists, {
    odsCode: "RZZ",
    name: "RA agent",
    accessProfiles: [{ jobRole: "R5090" }],
  });
  const agentRequest = await assignPosition(store.db, inCim(actors.SPONSOR), lists, {
    uuid: places.inside.person,
    positionDefinitionId: raAgent.id,
  });
  assert.equal(agentRequest.outcome, "requested");
  const ids = async (uuid: string) =>
    (await listRequests(store.db, uuid, "open")).requests.map((each) => each.id);
  assert.deepEqual(
    await ids(actors.RAA),
    [request.id],
    "an RA agent does not see a request to make an RA agent",
  );
  assert.equal((await ids(actors.RAM)).length, 2);
  const elsewhere = await uuidOf(store.db, "Whitmore");
  assert.deepEqual(await ids(elsewhere), [], "an RA manager at a GP practice sees nothing at the trust");
  const managerPosition = await definePosition(store.db, inCim(actors.RAA_ADVANCED), lists, {
    odsCode: "RZZ",
    name: "RA manager",
    accessProfiles: [{ jobRole: "R5080" }],
  });
  const own = await assignPosition(store.db, inCim(actors.RAM), lists, {
    uuid: actors.RAA,
    positionDefinitionId: managerPosition.id,
  });
  const ownRequest = own.outcome === "requested" ? own.request : assert.fail("an RA manager may only ask");
  assert.ok(!(await ids(actors.RAM)).includes(ownRequest.id), "not their own");
  assert.ok(!(await ids(actors.RAA)).includes(ownRequest.id), "not about themselves");
  await refusedWith(
    openRequest(store.db, inCim(actors.RAM), ownRequest.id),
    ForbiddenError,
    /their own request/,
  );
  await refusedWith(
    openRequest(store.db, inCim(actors.RAA), ownRequest.id),
    ForbiddenError,
    /about themselves/,
  );
});

test("a leaver from ESR arrives as a request; an RA agent approves it and the profile closes", async (t) => {
  const { store, lists, actors, places } = await raDirectory(t);
  const esr = { kind: "system" as const, id: "esr-feed", source: "ESR" };
  const leaver = places.inside.person;
  await refusedWith(
    receiveRequest(store.db, inCim(actors.RAM), {
      action: "profile.close",
      odsCode: "RZZ",
      subjectUuid: leaver,
      details: {},
    }),
    ForbiddenError,
    /feeds/,
  );
  const request = await receiveRequest(store.db, esr, {
    action: "profile.close",
    odsCode: "RZZ",
    subjectUuid: leaver,
    details: {},
    reason: "ESR termination 2026-11-20",
    submissionId: "esr-msg-000123",
  });
  assert.equal(request.source, "ESR");
  assert.equal(request.requestedBy, null);
  await refusedWith(
    receiveRequest(store.db, esr, {
      action: "profile.close",
      odsCode: "RZZ",
      subjectUuid: leaver,
      details: {},
      submissionId: "esr-msg-000123",
    }),
    ConflictError,
    /already been submitted/,
  );
  await openRequest(store.db, inCim(actors.RAA), request.id);
  await approveRequest(store.db, inCim(actors.RAA), lists, request.id);
  assert.equal((await getPerson(store.db, leaver)).status, "closed");
  const closure = await store.db
    .selectFrom("audit_events")
    .select(["actor_id", "reason"])
    .where("action", "=", "person.closed")
    .executeTakeFirstOrThrow();
  assert.deepEqual(closure, { actor_id: actors.RAA, reason: "ESR termination 2026-11-20" });
});
