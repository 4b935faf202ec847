import assert from "node:assert/strict";
import { test } from "node:test";
import { inCim, raDirectory, refusedWith } from "../../test/support/ra-directory.ts";
import { operatorActor, systemActor } from "../audit/actor.ts";
import { issueEnrolmentLink } from "../authenticators/enrolment/links.ts";
import { ConflictError, ForbiddenError, InvalidInputError } from "../errors.ts";
import { getPerson } from "../people/people.ts";
import { positionsOfPerson } from "../rbac/positions.ts";
import type { Queryable } from "../store/database.ts";
import { authenticatorsOf, issueAuthenticatorLink, removeAuthenticator } from "./authenticators.ts";
import { closeProfile, reopenProfile } from "./closure.ts";
import { changeDetails, changeOwnContact } from "./profile-changes.ts";
import { createProfile, findProfiles, type NewProfile, profileDetails } from "./profiles.ts";
import { listRequests } from "./request-dashboard.ts";
import { receiveRequest } from "./requests.ts";

const documents = [
  {
    kind: "passport",
    reference: "925665416",
    nameOnDocument: "Imogen Rose Fairfax",
    expiresOn: "2031-05-01",
  },
  { kind: "utility-bill", reference: "ACC-44172" },
  { kind: "birth-certificate", reference: "BXC 123456" },
];

const newcomer: NewProfile = {
  title: "Ms",
  givenName: "Imogen",
  middleNames: "Rose",
  familyName: "Fairfax",
  dateOfBirth: "1990-06-15",
  niNumber: "PE118244C",
  email: "imogen.fairfax@nhs.net",
  odsCode: "RZZ",
  identityChecks: { documents, confirmed: true },
};

/** Counts that any change would move: people, requests, audit events. */
async function footprint(queryable: Queryable) {
  const count = async (table: "people" | "registration_requests" | "audit_events") =>
    Number(
      (
        await queryable
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    people: await count("people"),
    requests: await count("registration_requests"),
    audit: await count("audit_events"),
  };
}

test("an RA agent creates a verified profile with three documents recorded, in their own organisation", async (t) => {
  const { store, actors } = await raDirectory(t);
  const person = await createProfile(store.db, inCim(actors.RAA), { ...newcomer, submissionId: "form-0001" });
  assert.equal(person.identityAssuranceLevel, 3);
  assert.equal(person.identityEvidence.confirmedBy, actors.RAA);
  assert.match(String(person.identityEvidence.confirmedInPosition), /^\d{12}$/);
  assert.deepEqual(
    (person.identityEvidence.documents as { kind: string }[]).map((document) => document.kind),
    ["passport", "utility-bill", "birth-certificate"],
  );
  const events = await store.db
    .selectFrom("audit_events")
    .select(["action", "actor_id", "actor_role_id", "source"])
    .where("subject_id", "=", person.uuid)
    .orderBy("seq")
    .execute();
  assert.deepEqual(
    events.map((event) => event.action),
    ["person.created", "profile.identity-verified"],
  );
  assert.ok(
    events.every((event) => event.actor_id === actors.RAA && event.source === "CIM" && event.actor_role_id),
  );
  const found = await findProfiles(store.db, actors.LSA, { name: "fair" });
  assert.deepEqual(
    found.map((summary) => summary.uuid),
    [person.uuid],
  );
  assert.deepEqual(
    (await findProfiles(store.db, actors.LSA, { name: "imo fairf" })).map((summary) => summary.uuid),
    [person.uuid],
  );
  assert.deepEqual(
    (await findProfiles(store.db, actors.LSA, { name: "Fairfax Imo" })).map((summary) => summary.uuid),
    [person.uuid],
    "family name first finds them too",
  );
  assert.equal(
    (await findProfiles(store.db, actors.LSA, { name: "fair%" })).length,
    0,
    "% is not a wildcard",
  );
  const details = await profileDetails(store.db, actors.SPONSOR, person.uuid);
  assert.equal(details.registeringOdsCode, "RZZ");
  assert.equal(details.history?.length, 2);
});

test("missing or inconsistent identity evidence is refused with every fault named, and nothing changes", async (t) => {
  const { store, actors } = await raDirectory(t);
  const before = await footprint(store.db);
  const attempt = (identityChecks: NewProfile["identityChecks"], extra: Partial<NewProfile> = {}) =>
    createProfile(store.db, inCim(actors.RAA), { ...newcomer, ...extra, identityChecks });
  const fields = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof InvalidInputError, String(error));
      return error.problems.map((problem) => problem.field);
    }
    assert.fail("expected a refusal");
  };
  assert.deepEqual(await fields(attempt(undefined)), [
    "identityChecks.documents",
    "identityChecks.confirmed",
  ]);
  assert.deepEqual(await fields(attempt({ documents: documents.slice(0, 2), confirmed: true })), [
    "identityChecks.documents",
  ]);
  assert.deepEqual(await fields(attempt({ documents, confirmed: false })), ["identityChecks.confirmed"]);
  const noPhoto = [documents[1], { kind: "council-tax", reference: "CT-9" + "1234" }, documents[2]];
  assert.deepEqual(await fields(attempt({ documents: noPhoto, confirmed: true })), [
    "identityChecks.documents",
  ]);
  const wrongName = [{ ...documents[0], nameOnDocument: "Imogen Fairfax" }, documents[1], documents[2]];
  assert.deepEqual(await fields(attempt({ documents: wrongName, confirmed: true })), [
    "identityChecks.documents[0].nameOnDocument",
  ]);
  const expired = [{ ...documents[0], expiresOn: "2020-01-01" }, documents[1], documents[2]];
  assert.deepEqual(await fields(attempt({ documents: expired, confirmed: true })), [
    "identityChecks.documents[0].expiresOn",
  ]);
  const twice = [documents[0], documents[1], documents[1]];
  assert.deepEqual(await fields(attempt({ documents: twice, confirmed: true })), [
    "identityChecks.documents",
  ]);
  assert.deepEqual(await fields(attempt({ documents, confirmed: true }, { dateOfBirth: undefined })), [
    "dateOfBirth",
  ]);
  assert.deepEqual(await footprint(store.db), before);
});

test("a duplicate person is refused: same NI number, or same name and birth date unless the RA says otherwise", async (t) => {
  const { store, actors } = await raDirectory(t);
  const first = await createProfile(store.db, inCim(actors.RAA), newcomer);
  const before = await footprint(store.db);
  await refusedWith(
    createProfile(store.db, inCim(actors.RAA), newcomer),
    ConflictError,
    new RegExp(first.uuid),
  );
  const sameNameAndBirth = { ...newcomer, niNumber: "PE118245C" };
  await refusedWith(
    createProfile(store.db, inCim(actors.RAA), sameNameAndBirth),
    ConflictError,
    /same name and date of birth/,
  );
  assert.deepEqual(await footprint(store.db), before);
  const second = await createProfile(store.db, inCim(actors.RAA), {
    ...sameNameAndBirth,
    notDuplicateOf: [first.uuid],
  });
  assert.notEqual(second.uuid, first.uuid);
});

test("outside the actor's authority, by a role without the right, or submitted twice: refused, nothing changed", async (t) => {
  const { store, actors } = await raDirectory(t);
  const before = await footprint(store.db);
  await refusedWith(
    createProfile(store.db, inCim(actors.RAA), { ...newcomer, odsCode: "A99001" }),
    ForbiddenError,
    /A99001/,
  );
  await refusedWith(
    createProfile(store.db, inCim(actors.SPONSOR), newcomer),
    ForbiddenError,
    /profile.create/,
  );
  assert.deepEqual(await footprint(store.db), before);
  await createProfile(store.db, inCim(actors.ID_CHECKER), { ...newcomer, submissionId: "double-click-1" });
  const after = await footprint(store.db);
  await refusedWith(
    createProfile(store.db, inCim(actors.ID_CHECKER), {
      ...newcomer,
      niNumber: "PE118245C",
      submissionId: "double-click-1",
    }),
    ConflictError,
    /already been submitted/,
  );
  assert.deepEqual(await footprint(store.db), after);
});

test("changing details: a name change needs a reason; a sponsor's change becomes a request", async (t) => {
  const { store, actors, places } = await raDirectory(t);
  const uuid = places.inside.person;
  await refusedWith(
    changeDetails(store.db, inCim(actors.RAA), { uuid, changes: { familyName: "Bennett-Hale" } }),
    InvalidInputError,
    /reason/,
  );
  const changed = await changeDetails(store.db, inCim(actors.RAA), {
    uuid,
    changes: { familyName: "Bennett-Hale", mobile: "07700900999" },
    reason: "Marriage certificate seen",
  });
  assert.equal(changed.outcome, "done");
  assert.equal((await getPerson(store.db, uuid)).familyName, "Bennett-Hale");
  const asked = await changeDetails(store.db, inCim(actors.SPONSOR), {
    uuid,
    changes: { email: "o.bennett@nhs.net" },
  });
  assert.equal(asked.outcome, "requested");
  assert.equal((await getPerson(store.db, uuid)).email, "oliver.bennett@nhs.net", "unchanged until approved");
  const open = await listRequests(store.db, actors.RAA, "open");
  assert.deepEqual(
    open.requests.map((request) => [request.action, request.subjectUuid]),
    [["profile.change-details", uuid]],
  );
  await refusedWith(
    changeDetails(store.db, inCim(actors.RAA), {
      uuid: places.outside.person,
      changes: { mobile: "07700900998" },
    }),
    ForbiddenError,
    /do not extend/,
  );
});

test("everyone changes their own contact details, with an email at an allowed domain", async (t) => {
  const { store, places } = await raDirectory(t);
  const nurse = inCim(places.inside.person);
  await refusedWith(
    changeOwnContact(store.db, nurse, { email: "me@example.com" }),
    InvalidInputError,
    /nhs.net/,
  );
  const changed = await changeOwnContact(store.db, nurse, {
    email: "oliver.b@ashcombe.nhs.uk",
    mobile: "07700900555",
  });
  assert.equal(changed.email, "oliver.b@ashcombe.nhs.uk");
});

test("closing a profile ends positions, closes its requests, cancels authenticators; reopening restores the profile only", async (t) => {
  const { store, lists, actors, places, seeder } = await raDirectory(t);
  const uuid = places.inside.person;
  await issueEnrolmentLink(store.db, seeder, { uuid });
  await store.db
    .insertInto("totp_authenticators")
    .values({ uuid, sealed_secret: "sealed", last_used_step: 0 })
    .execute();
  await changeDetails(store.db, inCim(actors.SPONSOR), { uuid, changes: { mobile: "07700900777" } });
  await refusedWith(closeProfile(store.db, inCim(actors.RAA), { uuid }), InvalidInputError, /reason/);
  const asked = await closeProfile(store.db, inCim(actors.SPONSOR), { uuid, reason: "Left the trust" });
  assert.equal(asked.outcome, "requested");
  assert.equal((await getPerson(store.db, uuid)).status, "active");
  const closed = await closeProfile(store.db, inCim(actors.RAA), {
    uuid,
    reason: "Left the trust",
    notes: "ESR leaver",
  });
  assert.equal(closed.outcome === "done" && closed.result.profile.status, "closed");
  assert.deepEqual(await positionsOfPerson(store.db, lists, uuid), []);
  assert.deepEqual(await authenticatorsOf(store.db, uuid), []);
  const requests = await store.db
    .selectFrom("registration_requests")
    .select("status")
    .where("subject_uuid", "=", uuid)
    .execute();
  assert.deepEqual(
    requests.map((request) => request.status),
    ["rejected", "rejected"],
  );
  const event = await store.db
    .selectFrom("audit_events")
    .select(["reason", "after"])
    .where("action", "=", "profile.closed")
    .executeTakeFirstOrThrow();
  assert.equal(event.reason, "Left the trust");
  assert.equal((event.after as { notes: string }).notes, "ESR leaver");
  await refusedWith(
    closeProfile(store.db, inCim(actors.RAA), { uuid, reason: "again" }),
    ConflictError,
    /already closed/,
  );
  const reopened = await reopenProfile(store.db, inCim(actors.RAM), { uuid, reason: "Returned" });
  assert.equal(reopened.outcome === "done" && reopened.result.status, "active");
  assert.deepEqual(await positionsOfPerson(store.db, lists, uuid), []);
});

test("the operator closes and reopens with the service's authority and hears what was done; the service and feeds may not", async (t) => {
  const { store, lists, places } = await raDirectory(t);
  const uuid = places.outside.person;
  const positions = await positionsOfPerson(store.db, lists, uuid);
  assert.ok(positions.length > 0, "the person has positions to end");
  const esr = { kind: "system" as const, id: "esr-feed", source: "ESR" };
  await receiveRequest(store.db, esr, {
    action: "profile.close",
    subjectUuid: uuid,
    odsCode: places.outside.ods,
    details: {},
    reason: "ESR leaver",
  });
  for (const actor of [systemActor("cis2"), esr])
    await refusedWith(
      closeProfile(store.db, actor, { uuid, reason: "Left" }),
      ForbiddenError,
      /Only a person/,
    );
  await refusedWith(
    issueAuthenticatorLink(store.db, operatorActor(), { uuid }),
    ForbiddenError,
    /operator at the command line may not do authenticator.issue/,
  );
  assert.equal((await getPerson(store.db, uuid)).status, "active");

  const closed = await closeProfile(store.db, operatorActor(), { uuid, reason: "Left the practice" });
  assert.equal(closed.outcome, "done");
  const closure = closed.outcome === "done" ? closed.result : assert.fail("closed at once");
  assert.equal(closure.profile.status, "closed");
  assert.deepEqual(
    closure.positionsEnded.toSorted(),
    positions.map((position) => position.roleProfileId).toSorted(),
  );
  assert.equal(closure.requestsClosed, 1);
  assert.deepEqual(
    { ...closure, profile: undefined, positionsEnded: undefined, requestsClosed: undefined },
    {
      profile: undefined,
      positionsEnded: undefined,
      requestsClosed: undefined,
      authenticatorsCancelled: [],
      smartcardsCancelled: [],
      remoteSigningRevoked: [],
      sessionsEnded: 0,
      logoutsQueued: 0,
    },
  );
  const event = await store.db
    .selectFrom("audit_events")
    .select(["actor_kind", "source", "reason"])
    .where("action", "=", "profile.closed")
    .executeTakeFirstOrThrow();
  assert.deepEqual(event, { actor_kind: "operator", source: "CLI", reason: "Left the practice" });
  const reopened = await reopenProfile(store.db, operatorActor(), { uuid, reason: "Returned" });
  assert.equal(reopened.outcome === "done" && reopened.result.status, "active");
});

test("an RA agent issues an enrolment link and removes authenticators, with a reason", async (t) => {
  const { store, actors, places } = await raDirectory(t);
  const uuid = places.inside.person;
  await refusedWith(
    issueAuthenticatorLink(store.db, inCim(actors.SPONSOR), { uuid }),
    ForbiddenError,
    /authenticator.issue/,
  );
  const link = await issueAuthenticatorLink(store.db, inCim(actors.RAA), { uuid, validHours: 24 });
  assert.match(link.token, /^[A-Za-z0-9_-]{43}$/);
  const [held] = await authenticatorsOf(store.db, uuid);
  assert.equal(held?.kind, "enrolment-link");
  await refusedWith(
    removeAuthenticator(store.db, inCim(actors.RAA), { uuid, authenticatorId: String(held?.id) }),
    InvalidInputError,
    /reason/,
  );
  await removeAuthenticator(store.db, inCim(actors.RAA), {
    uuid,
    authenticatorId: String(held?.id),
    reason: "Sent to the wrong address",
  });
  assert.deepEqual(await authenticatorsOf(store.db, uuid), []);
});
