import assert from "node:assert/strict";
import { test } from "node:test";
import { raDirectory as demo, uuidOf } from "../../test/support/ra-directory.ts";
import { systemActor } from "../audit/actor.ts";
import { ForbiddenError } from "../errors.ts";
import { changePersonStatus, createPerson } from "../people/people.ts";
import { grantPosition } from "../rbac/positions.ts";
import type { Queryable } from "../store/database.ts";
import { nextIdentifier } from "../store/identifiers.ts";
import {
  authorise,
  decide,
  type FourEyesCase,
  fourEyes,
  type RaRole,
  type RegistrationAction,
  registrationActions,
} from "./policy.ts";

/**
 * The domain reference's "who may do what" table, restated here independently of
 * data/ra-roles.json so that a change to the data which breaks the table fails this test.
 * "request" means the role may ask for it (a request an approver decides), not do it directly.
 */
type Expectation = Partial<Record<RaRole, "yes" | "request">>;
const all: Expectation = { RAM: "yes", RAA_ADVANCED: "yes", RAA: "yes" };
const table: Record<string, Expectation> = {
  "profile.create": { ...all, ID_CHECKER: "yes" },
  "profile.change-details": { ...all, ID_CHECKER: "yes", SPONSOR: "request" },
  "profile.close": { ...all, SPONSOR: "request" },
  "profile.reopen": { ...all, SPONSOR: "request" },
  "smartcard.issue": all,
  "smartcard.repair": all,
  "smartcard.clear": all,
  "smartcard.cancel": all,
  "smartcard.renew-expired": all,
  "smartcard.unlock": { ...all, SPONSOR: "yes", LSA: "yes" },
  "smartcard.renew-near-expiry": { ...all, SPONSOR: "yes", LSA: "yes" },
  "authenticator.issue": all,
  "authenticator.remove": all,
  "position.assign": { ...all, SPONSOR: "request" },
  "position.edit-dates": { ...all, SPONSOR: "request" },
  "position.remove": { ...all, SPONSOR: "request" },
  "position.define": { RAM: "yes", RAA_ADVANCED: "yes" },
  "position.choose-sponsor-assignable": { RAM: "yes", RAA_ADVANCED: "yes" },
  "request.decide": all,
  "position.batch-assign": { RAM: "yes", RAA_ADVANCED: "yes" },
  "report.run": { ...all, SPONSOR: "yes", ID_CHECKER: "yes" },
  // Workgroups: RA managers at their organisations (issue 18).
  "workgroup.manage": { RAM: "yes" },
  // The organisations themselves: national RA managers only, so no local role here.
  "organisation.manage": {},
  // Apply for Care ID (section 5): any inviter; the review by ID checkers (RA staff carry the
  // ID checker activity B0267 in their baseline, so they may review too).
  "apply.invite": { ...all, SPONSOR: "yes", ID_CHECKER: "yes" },
  "apply.review": { ...all, ID_CHECKER: "yes" },
};
const everyone: RegistrationAction[] = ["profile.find"];
const ownProfileOnly: RegistrationAction[] = ["profile.change-own-contact", "authenticator.register-own"];
/** Actions aimed at an organisation rather than at a person. */
const organisationActions = new Set([
  "profile.create",
  "position.define",
  "position.choose-sponsor-assignable",
  "request.decide",
  "position.batch-assign",
  "report.run",
  "workgroup.manage",
  "organisation.manage",
  "apply.invite",
  "apply.review",
]);
/** Actions aimed at a person's position at an organisation: both count. */
const positionActions = new Set(["position.assign", "position.edit-dates", "position.remove"]);

async function defineTestPosition(
  queryable: Queryable,
  odsCode: string,
  jobRole: string,
  activities: string[] = [],
) {
  const id = await nextIdentifier(queryable);
  await queryable
    .insertInto("position_definitions")
    .values({
      id,
      ods_code: odsCode,
      name: `${jobRole} ${id}`,
      access_profiles: JSON.stringify([{ jobRole, activities, workgroups: [], areasOfWork: [] }]),
    })
    .execute();
  return id;
}

test("every action in the who-may-do-what table, for every RA role, inside, below and outside the actor's organisation", async (t) => {
  const { store, actors, roles, places } = await demo(t);
  assert.deepEqual(
    [...registrationActions].sort(),
    [...Object.keys(table), ...everyone, ...ownProfileOnly].sort(),
    "the policy knows exactly the actions of the table",
  );
  for (const [action, expected] of Object.entries(table) as [RegistrationAction, Expectation][]) {
    for (const role of roles) {
      for (const [where, place] of Object.entries(places)) {
        const target = organisationActions.has(action)
          ? { ods: place.ods }
          : positionActions.has(action)
            ? { uuid: place.person, ods: place.ods }
            : { uuid: place.person };
        const decision = await decide(store.db, actors[role], action, target);
        const want = where === "outside" ? undefined : expected[role];
        const got = decision.allowed ? (decision.byRequest ? "request" : "yes") : undefined;
        assert.equal(got, want, `${role} ${action} ${where}: ${JSON.stringify(decision)}`);
        if (decision.allowed) {
          assert.equal(decision.role, role);
          assert.match(String(decision.position), /^\d{12}$/, "names the position acted in");
        } else {
          assert.ok(decision.reason.length > 0);
        }
      }
    }
  }
});

test("everyone signed in may find a profile; only their own profile for self-service actions", async (t) => {
  const { store, actors, places } = await demo(t);
  const nurse = places.inside.person;
  for (const uuid of [...Object.values(actors), nurse, places.outside.person]) {
    for (const where of Object.values(places)) {
      assert.deepEqual(await decide(store.db, uuid, "profile.find", { uuid: where.person }), {
        allowed: true,
        role: "SIGNED_IN",
      });
    }
    for (const action of ownProfileOnly) {
      assert.deepEqual(await decide(store.db, uuid, action, { uuid }), { allowed: true, role: "SELF" });
      const other = uuid === nurse ? places.outside.person : nurse;
      const refused = await decide(store.db, uuid, action, { uuid: other });
      assert.equal(refused.allowed, false, `${action} on someone else`);
    }
  }
});

test("reports: sponsors run smartcard and position reports, ID checkers also users and requests", async (t) => {
  const { store, actors } = await demo(t);
  const allowed = async (
    role: RaRole,
    report: "users" | "requests" | "positions" | "authenticators" | "smartcards",
  ) => (await decide(store.db, actors[role], "report.run", { ods: "RZZ", report })).allowed;
  for (const report of ["users", "requests", "positions", "authenticators", "smartcards"] as const) {
    for (const role of ["RAM", "RAA_ADVANCED", "RAA"] as const)
      assert.equal(await allowed(role, report), true);
    assert.equal(await allowed("SPONSOR", report), report === "smartcards" || report === "positions", report);
    assert.equal(
      await allowed("ID_CHECKER", report),
      ["users", "requests", "smartcards", "positions"].includes(report),
      report,
    );
    assert.equal(await allowed("LSA", report), false);
  }
});

test("a sponsor assigns directly only the positions chosen as assignable for them", async (t) => {
  const { store, actors, places } = await demo(t);
  const nurse = await defineTestPosition(store.db, "RZZ", "R8001");
  const target = { uuid: places.inside.person, positionDefinition: nurse };
  assert.deepEqual(await decide(store.db, actors.SPONSOR, "position.assign", target), {
    allowed: true,
    role: "SPONSOR",
    position: (await authorise(store.db, actors.SPONSOR, "position.assign", target)).position,
    byRequest: true,
  });
  await store.db
    .insertInto("sponsor_assignable_positions")
    .values({ position_definition_id: nurse, sponsor_uuid: actors.SPONSOR })
    .execute();
  const direct = await decide(store.db, actors.SPONSOR, "position.assign", target);
  assert.equal(direct.allowed && direct.byRequest, undefined, "now direct");
  assert.equal(direct.allowed && direct.role, "SPONSOR");
  const elsewhere = await defineTestPosition(store.db, "A99001", "R8001");
  const outside = await decide(store.db, actors.SPONSOR, "position.assign", {
    uuid: places.inside.person,
    positionDefinition: elsewhere,
  });
  assert.equal(outside.allowed, false, "a position defined outside the sponsor's organisation");
});

test("four-eyes: nobody changes their own positions or grants an RA role at or above their own", async (t) => {
  const { store, actors, places } = await demo(t);
  const manager = await defineTestPosition(store.db, "RZZ", "R5080");
  const agent = await defineTestPosition(store.db, "RZZ", "R5090");
  const checker = await defineTestPosition(store.db, "RZZ", "R8010", ["B0267"]);
  const nurse = places.inside.person;
  const grant = (role: RaRole, definition: string) =>
    decide(store.db, actors[role], "position.assign", { uuid: nurse, positionDefinition: definition });
  const managerByManager = await grant("RAM", manager);
  assert.equal(
    managerByManager.allowed && managerByManager.byRequest && managerByManager.role,
    "SPONSOR",
    "an RA manager (whose job role's baseline holds B1300) may only ask for another RA manager",
  );
  assert.equal((await grant("RAM", agent)).allowed, true);
  assert.equal((await grant("RAA", agent)).allowed, false);
  assert.equal((await grant("RAA", checker)).allowed, true);
  assert.equal((await grant("RAA_ADVANCED", agent)).allowed, true);
  const refused = await grant("RAA", agent);
  assert.match(refused.allowed ? "" : refused.reason, /at or above their own level/);
  for (const action of ["position.assign", "position.edit-dates", "position.remove"] as const) {
    const self = await decide(store.db, actors.RAM, action, { uuid: actors.RAM, ods: "RZZ" });
    assert.equal(self.allowed, false, action);
  }
});

test("authorise throws ForbiddenError with the reason; closed or unknown actors may do nothing", async (t) => {
  const { store, seeder: actor, actors, places } = await demo(t);
  await assert.rejects(
    authorise(store.db, actors.RAA, "profile.create", { ods: "A99001" }),
    (error) => error instanceof ForbiddenError && /A99001/.test(error.message),
  );
  const allowed = await authorise(store.db, actors.RAA, "profile.create", { ods: "RZZ" });
  assert.equal(allowed.role, "RAA");
  await changePersonStatus(store.db, actor, actors.RAM, "closed", "left the trust");
  assert.equal((await decide(store.db, actors.RAM, "profile.find", {})).allowed, false);
  assert.equal((await decide(store.db, "999999999999", "profile.find", {})).allowed, false);
  const root = await uuidOf(store.db, "Harrington");
  const national = await decide(store.db, root, "position.define", { ods: places.outside.ods });
  assert.equal(national.allowed && national.role, "RAM", "the root RA manager acts everywhere");
});

test("an RA role lapses with its position's end date and starts with its start date", async (t) => {
  const { store, lists, actors } = await demo(t);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await store.db
    .updateTable("positions")
    .set({ end_date: yesterday })
    .where("uuid", "=", actors.RAA)
    .execute();
  assert.equal((await decide(store.db, actors.RAA, "profile.close", { uuid: actors.RAM })).allowed, false);
  const someone = await createPerson(store.db, systemActor("test"), { givenName: "Fut", familyName: "Ure" });
  await grantPosition(store.db, systemActor("test"), lists, {
    uuid: someone.uuid,
    odsCode: "RZZ",
    jobRole: "R5090",
    startDate: tomorrow,
  });
  assert.equal((await decide(store.db, someone.uuid, "profile.close", { uuid: actors.RAM })).allowed, false);
});

test("the four-eyes rule, case by case", () => {
  const me = "100000000001";
  const other = "100000000002";
  const third = "100000000003";
  const cases: [FourEyesCase, RegExp | undefined][] = [
    [{ action: "position.assign", actorUuid: me, subjectUuid: me }, /their own positions/],
    [{ action: "position.edit-dates", actorUuid: me, subjectUuid: me }, /their own positions/],
    [{ action: "position.remove", actorUuid: me, subjectUuid: me }, /their own positions/],
    [{ action: "position.batch-assign", actorUuid: me, subjectUuid: me }, /a position to themselves/],
    [{ action: "profile.close", actorUuid: me, subjectUuid: me }, /their own profile/],
    [{ action: "profile.reopen", actorUuid: me, subjectUuid: me }, /their own profile/],
    [{ action: "request.decide", actorUuid: me, subjectUuid: other, requestedBy: me }, /their own request/],
    [{ action: "request.decide", actorUuid: me, subjectUuid: me, requestedBy: other }, /about themselves/],
    [{ action: "request.decide", actorUuid: me, subjectUuid: other, requestedBy: third }, undefined],
    [{ action: "request.decide", actorUuid: me, subjectUuid: other, requestedBy: null }, undefined],
    [{ action: "position.assign", actorUuid: me, subjectUuid: other }, undefined],
    [{ action: "profile.close", actorUuid: me, subjectUuid: other }, undefined],
    // Actions a person may do to their own profile.
    [{ action: "profile.find", actorUuid: me, subjectUuid: me }, undefined],
    [{ action: "profile.change-own-contact", actorUuid: me, subjectUuid: me }, undefined],
    [{ action: "authenticator.register-own", actorUuid: me, subjectUuid: me }, undefined],
    // Ranks: granting below one's own is allowed; at or above it is not.
    [
      { action: "position.assign", actorUuid: me, subjectUuid: other, grants: { rank: 2, actorRank: 3 } },
      undefined,
    ],
    [
      { action: "position.assign", actorUuid: me, subjectUuid: other, grants: { rank: 0, actorRank: 1 } },
      undefined,
    ],
    [
      { action: "position.assign", actorUuid: me, subjectUuid: other, grants: { rank: 3, actorRank: 3 } },
      /at or above their own level$/,
    ],
    [
      { action: "position.batch-assign", actorUuid: me, grants: { rank: 4, actorRank: 3, actorRole: "RAA" } },
      /at or above their own level \(you act as RA agent\)/,
    ],
  ];
  for (const [check, refusal] of cases) {
    const reason = fourEyes(check);
    if (refusal) assert.match(reason ?? "", refusal, JSON.stringify(check));
    else assert.equal(reason, undefined, JSON.stringify(check));
  }
});
