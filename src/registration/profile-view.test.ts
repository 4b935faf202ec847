import assert from "node:assert/strict";
import { test } from "node:test";
import { inCim, raDirectory, uuidOf } from "../../test/support/ra-directory.ts";
import { ForbiddenError } from "../errors.ts";
import { createPerson, getPerson } from "../people/people.ts";
import { grantPosition } from "../rbac/positions.ts";
import { fieldsSeenBy, profileFields, projectProfile } from "./profile-view.ts";
import { findProfiles, profileDetails } from "./profiles.ts";
import { runReport } from "./reports.ts";

/**
 * Who sees which field of a profile, restated here independently of data/profile-fields.json so
 * that a change to the data which widens an audience fails this test. Viewers are named by the
 * code that makes them an RA (job role or activity); "none" is a colleague with no RA role.
 */
const everyone = ["uuid", "title", "givenName", "middleNames", "familyName", "currentPositions"];
const all = [
  ...everyone,
  "status",
  "dateOfBirth",
  "niNumber",
  "email",
  "mobile",
  "identityAssuranceLevel",
  "identityEvidence",
  "registrations",
  "registeringOdsCode",
  "positions",
  "authenticators",
  "smartcards",
  "history",
];
const insideScope: Record<string, string[]> = {
  R5080: all,
  R5072: all,
  R5090: all,
  B9901: all,
  B0267: all.filter((field) => field !== "authenticators"),
  B1300: all.filter((field) => field !== "authenticators" && field !== "identityEvidence"),
  B9902: [...everyone, "status", "smartcards"],
  none: everyone,
};
/** Only the national RA manager's scope reaches the GP practice outside RZZ. */
const outsideScope: Record<string, string[]> = { ...insideScope, R5080: everyone, R5090: everyone };
for (const code of ["B9901", "B0267", "B1300", "B9902"]) outsideScope[code] = everyone;

/** A nurse at RZZ, the RA staff's own organisation, who holds no RA role. */
async function colleagueWithoutRaRole({ store, seeder, lists }: Awaited<ReturnType<typeof raDirectory>>) {
  const colleague = await createPerson(store.db, seeder, { givenName: "Nell", familyName: "Norole" });
  await grantPosition(store.db, seeder, lists, {
    uuid: colleague.uuid,
    odsCode: "RZZ",
    jobRole: "R8001",
    startDate: "2024-01-01",
  });
  return colleague;
}

const endedPosition = { startDate: "2020-01-01", endDate: "2020-12-31" };

test("every profile field, for every RA role and none, inside, below and outside the viewer's organisation", async (t) => {
  const directory = await raDirectory(t);
  const { store, seeder, lists, actors, places } = directory;
  assert.deepEqual([...profileFields].sort(), [...all].sort(), "the data knows exactly these fields");
  const colleague = await colleagueWithoutRaRole(directory);
  const viewers: Record<string, string> = {
    R5080: actors.RAM,
    R5072: await uuidOf(store.db, "Harrington"),
    R5090: actors.RAA,
    B9901: actors.RAA_ADVANCED,
    B0267: actors.ID_CHECKER,
    B1300: actors.SPONSOR,
    B9902: actors.LSA,
    none: colleague.uuid,
  };
  // Each person also held a position that has ended: only "positions" shows it.
  for (const [place, jobRole] of [
    [places.inside, "R8001"],
    [places.child, "R8000"],
    [places.outside, "R8001"],
  ] as const)
    await grantPosition(store.db, seeder, lists, {
      uuid: place.person,
      odsCode: place.ods,
      jobRole,
      ...endedPosition,
    });

  for (const [where, place] of Object.entries(places)) {
    const person = await getPerson(store.db, place.person);
    for (const [code, viewer] of Object.entries(viewers)) {
      const view = await profileDetails(store.db, viewer, place.person);
      const expected = new Set((where === "outside" ? outsideScope : insideScope)[code]);
      for (const field of all) {
        const label = `${code} viewing ${field} ${where}`;
        if (field === "currentPositions" || field === "positions") {
          const shown = view.positions;
          if (!expected.has("currentPositions")) assert.equal(shown, undefined, label);
          const ended = shown?.some((position) => position.endDate === endedPosition.endDate);
          assert.equal(ended, expected.has("positions") ? true : shown ? false : undefined, label);
          assert.ok(
            shown?.some((position) => position.endDate === null),
            `${code} sees current positions ${where}`,
          );
          continue;
        }
        assert.equal(field in view, expected.has(field), label);
        if (field in person && expected.has(field))
          assert.deepEqual(view[field as keyof typeof view], person[field as keyof typeof person], label);
      }
    }
  }
});

test("a person sees their own record, except the RA's history of it", async (t) => {
  const { store, places } = await raDirectory(t);
  const own = await profileDetails(store.db, places.outside.person, places.outside.person);
  assert.deepEqual(
    Object.keys(own).sort(),
    all.filter((field) => field !== "history" && field !== "currentPositions").sort(),
  );
  assert.equal(own.niNumber, "RB306849A");
});

test("the projection leaves hidden fields and unknown keys out, never blanked", () => {
  const profile = {
    uuid: "555000000001",
    givenName: "Ann",
    familyName: "Other",
    niNumber: "QQ123456C",
    email: "ann@example.org",
    positions: [
      { status: "active", startDate: "2020-01-01", endDate: null },
      { status: "active", startDate: "2020-01-01", endDate: "2020-12-31" },
      { status: "ended", startDate: "2020-01-01", endDate: null },
    ],
    secret: "never shown",
  };
  const colleague = projectProfile({ self: false, roles: [] }, profile);
  assert.deepEqual(colleague, {
    uuid: "555000000001",
    givenName: "Ann",
    familyName: "Other",
    positions: [{ status: "active", startDate: "2020-01-01", endDate: null }],
  });
  const agent = projectProfile({ self: false, roles: ["RAA"] }, profile);
  assert.equal(agent.niNumber, "QQ123456C");
  assert.equal(agent.positions?.length, 3);
  assert.equal("secret" in agent, false, "a key the data does not name stays hidden");
  assert.equal(fieldsSeenBy({ self: false, roles: ["LSA"] }).has("niNumber"), false);
});

test("search by email, NI number or date of birth needs a covering RA role; results show what the viewer may see", async (t) => {
  const directory = await raDirectory(t);
  const { store, actors } = directory;
  const colleague = await colleagueWithoutRaRole(directory);
  for (const search of [
    { niNumber: "NP926430B" },
    { email: "oliver.bennett@nhs.net" },
    { dateOfBirth: "1988-12-19" },
    { name: "bennett", niNumber: "NP926430B" },
  ]) {
    await assert.rejects(
      findProfiles(store.db, colleague.uuid, search),
      ForbiddenError,
      JSON.stringify(search),
    );
  }
  await assert.rejects(findProfiles(store.db, actors.LSA, { niNumber: "NP926430B" }), ForbiddenError);
  const byName = await findProfiles(store.db, colleague.uuid, { name: "bennett" });
  assert.deepEqual(byName, [
    {
      uuid: await uuidOf(store.db, "Bennett"),
      title: "Dr",
      givenName: "Oliver",
      middleNames: "James",
      familyName: "Bennett",
    },
  ]);

  const agent = await findProfiles(store.db, actors.RAA, { niNumber: "NP926430B" });
  assert.equal(agent[0]?.dateOfBirth, "1988-12-19");
  assert.equal(agent[0]?.email, "oliver.bennett@nhs.net");
  assert.deepEqual(
    await findProfiles(store.db, actors.RAA, { niNumber: "RB306849A" }),
    [],
    "an NI number outside the agent's organisations finds nobody",
  );
  assert.deepEqual(
    (await findProfiles(store.db, actors.SPONSOR, { dateOfBirth: "1988-12-19" })).map(
      (found) => found.familyName,
    ),
    ["Bennett"],
  );
  const clarke = await findProfiles(store.db, actors.RAA, { name: "clarke" });
  assert.equal(clarke.length, 1);
  assert.equal("email" in (clarke[0] ?? {}), false, "found by name outside scope: public fields only");
  const national = await findProfiles(store.db, await uuidOf(store.db, "Harrington"), {
    niNumber: "RB306849A",
  });
  assert.equal(national[0]?.email, "bethany.clarke@nhs.net");
});

test("reports show each person as the reader may see them: a leaver now elsewhere has no contact details", async (t) => {
  const { store, actors } = await raDirectory(t);
  // Chloe Whitfield's position at RZZ has ended (status ended); she now works at A99002.
  await store.db
    .updateTable("positions")
    .set({ status: "ended" })
    .where("uuid", "=", await uuidOf(store.db, "Whitfield"))
    .where("ods_code", "=", "RZZ")
    .execute();
  const users = await runReport(store.db, inCim(actors.RAA), { kind: "users", odsCode: "RZZ" });
  const lines = users.csv.trimEnd().split("\r\n");
  const whitfield = lines.find((line) => line.includes("Whitfield")) ?? "";
  const bennett = lines.find((line) => line.includes("Bennett")) ?? "";
  assert.match(bennett, /,active,oliver\.bennett@nhs\.net,3,1$/);
  assert.match(whitfield, /,Chloe,,Whitfield,,,,1$/, "status, email and assurance level left empty");
  const positions = await runReport(store.db, inCim(actors.SPONSOR), { kind: "positions", odsCode: "RZZ" });
  assert.doesNotMatch(positions.csv, /Whitfield/, "her ended position is hers, not the sponsor's to see");
});
