import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type TestContext, test } from "node:test";
import { testStore } from "../../../test/support/test-store.ts";
import { operatorActor } from "../../audit/actor.ts";
import { createPerson } from "../../people/people.ts";
import { decide } from "../../ra-policy/policy.ts";
import type { Store } from "../../store/database.ts";
import { readCodeLists } from "../code-lists.ts";
import { getOrganisation, organisationLineage } from "../organisations.ts";
import { getPosition, grantPosition } from "../positions.ts";
import { importOrganisations, OdsFileError } from "./import.ts";

const actor = operatorActor();
const today = "2025-06-01";
const fixtures = new URL("../../../test/fixtures/ods/", import.meta.url);

function fixture(name: string) {
  return { name, text: readFileSync(new URL(name, fixtures), "utf8") };
}

async function load(store: Store, name: string) {
  return importOrganisations(store.db, actor, await readCodeLists(store.db), fixture(name), { today });
}

/** The three CSV extracts and the ORD JSON file, loaded in an order that needs the late placing. */
async function loaded(t: TestContext) {
  const store = await testStore(t);
  const reports = [
    await load(store, "etr.csv"),
    await load(store, "ets.csv"),
    await load(store, "epraccur.csv"),
    await load(store, "ord.json"),
  ];
  return { store, reports };
}

test("each ODS format loads, with counts, roles and the hierarchy from relationships", async (t) => {
  const { store, reports } = await loaded(t);
  assert.deepEqual(
    reports.map(({ format, added, changed, closed, unchanged }) => ({
      format,
      added,
      changed,
      closed,
      unchanged,
    })),
    [
      { format: "etr", added: 3, changed: 0, closed: 0, unchanged: 0 },
      { format: "ets", added: 4, changed: 0, closed: 0, unchanged: 0 },
      { format: "epraccur", added: 3, changed: 0, closed: 0, unchanged: 0 },
      { format: "ord", added: 3, changed: 0, closed: 0, unchanged: 0 },
    ],
  );
  const site = await getOrganisation(store.db, "RX101");
  assert.equal(site.parentOdsCode, "RX1");
  assert.equal(site.typeCode, "RO198");
  assert.equal(site.typeName, "NHS TRUST SITE");
  assert.deepEqual(site.address, { lines: ["MILL LANE"], city: "FENWICK", postcode: "FW1 2AB" });
  // The practices were loaded before their commissioner 99X: the ORD file placed them.
  assert.deepEqual(await organisationLineage(store.db, "Y90001"), ["Y90001", "99X"]);
  assert.deepEqual(await organisationLineage(store.db, "RX4"), ["RX4", "QX1"]);
  const closed = await getOrganisation(store.db, "Y90003");
  assert.equal(closed.status, "inactive");
  const roles = await store.db
    .selectFrom("organisation_roles")
    .select(["role_code", "is_primary"])
    .where("ods_code", "=", "Y90001")
    .orderBy("role_code")
    .execute();
  assert.deepEqual(roles, [
    { role_code: "RO177", is_primary: true },
    { role_code: "RO76", is_primary: false },
  ]);
  const successors = await store.db.selectFrom("organisation_successors").selectAll().execute();
  assert.deepEqual(successors, [
    { ods_code: "RX4", kind: "Predecessor", target_ods_code: "RX3", start_date: "2025-04-01" },
  ]);
  const again = await load(store, "ets.csv");
  assert.deepEqual([again.added, again.changed, again.closed, again.unchanged], [0, 0, 0, 4]);
});

test("a re-import updates changed rows, adds new ones and closes a trust, ending its positions on the close date", async (t) => {
  const { store } = await loaded(t);
  const lists = await readCodeLists(store.db);
  const person = await createPerson(store.db, actor, { givenName: "Ada", familyName: "Bridge" });
  const position = await grantPosition(store.db, actor, lists, {
    uuid: person.uuid,
    odsCode: "RX3",
    jobRole: "R8001",
    startDate: "2020-01-01",
  });
  const report = await load(store, "changed/etr.csv");
  assert.deepEqual(
    [report.added, report.changed, report.closed, report.unchanged],
    [1, 1, 1, 1],
    "RX5 added, RX1 renamed, RX3 closed, RX2 as it was",
  );
  assert.deepEqual(report.positionsEnded, [position.roleProfileId]);
  assert.equal((await getOrganisation(store.db, "RX1")).name, "FENWICK VALLEY HOSPITALS NHS TRUST");
  const trust = await getOrganisation(store.db, "RX3");
  assert.equal(trust.status, "inactive", "closed, and kept");
  const ended = await getPosition(store.db, lists, position.roleProfileId);
  assert.equal(ended.status, "ended");
  assert.equal(ended.endDate, "2025-03-31");
  const events = await store.db
    .selectFrom("audit_events")
    .select(["action", "subject_id"])
    .where("action", "in", ["organisation.closed", "position.ended", "organisations.imported"])
    .orderBy("seq")
    .execute();
  assert.deepEqual(events.slice(-3), [
    { action: "organisation.closed", subject_id: "RX3" },
    { action: "position.ended", subject_id: position.roleProfileId },
    { action: "organisations.imported", subject_id: "changed/etr.csv" },
  ]);
  const again = await load(store, "changed/etr.csv");
  assert.deepEqual([again.added, again.changed, again.closed, again.unchanged], [0, 0, 0, 4]);
});

test("a new trust's RA manager has authority over its sites and no other trust's", async (t) => {
  const { store } = await loaded(t);
  await load(store, "changed/etr.csv");
  const lists = await readCodeLists(store.db);
  const manager = await createPerson(store.db, actor, { givenName: "Rae", familyName: "Manager" });
  await grantPosition(store.db, actor, lists, {
    uuid: manager.uuid,
    odsCode: "RX1",
    jobRole: "R5080",
    startDate: "2024-01-01",
  });
  for (const ods of ["RX1", "RX101", "RX102"])
    assert.equal((await decide(store.db, manager.uuid, "profile.create", { ods })).allowed, true, ods);
  for (const ods of ["RX2", "RX201", "Y90001", "RX5"])
    assert.equal((await decide(store.db, manager.uuid, "profile.create", { ods })).allowed, false, ods);
});

test("a file with faults is refused whole, naming every fault by row", async (t) => {
  const store = await testStore(t);
  await assert.rejects(load(store, "bad/etr.csv"), (error) => {
    assert.ok(error instanceof OdsFileError);
    assert.deepEqual(
      error.rows.map((problem) => `${problem.row} ${problem.field}`),
      ["1 Name", "2 Organisation Code", "2 Open Date", "3 Close Date", "5 columns"],
    );
    return true;
  });
  const count = await store.db
    .selectFrom("organisations")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("ods_code", "=", "RX6")
    .executeTakeFirstOrThrow();
  assert.equal(Number(count.n), 0, "the good row was not loaded either");
  const ord = (text: string) =>
    importOrganisations(
      store.db,
      actor,
      { jobRoles: new Map() } as never,
      { name: "x.json", text },
      { today },
    );
  await assert.rejects(ord("{not json"), /problem/);
  await assert.rejects(
    ord(
      JSON.stringify({ Organisation: { Name: "X", OrgId: { extension: "AB1" }, Status: "Open", Roles: {} } }),
    ),
    (error) => {
      assert.ok(error instanceof OdsFileError);
      assert.deepEqual(
        error.rows.map((problem) => problem.field),
        ["Status", "Roles"],
      );
      return true;
    },
  );
});

test("a file of many batches reports its progress, and a re-import moving every site to another trust replaces their relationships", async (t) => {
  const store = await testStore(t);
  const lists = await readCodeLists(store.db);
  await load(store, "etr.csv");
  const sites = 6001;
  const extract = (trust: string, suffix: string) => ({
    name: "ets.csv",
    text: Array.from(
      { length: sites },
      (_, n) =>
        `"S${String(n).padStart(5, "0")}","SITE ${n}${suffix}","Y56","QX1","HIGH STREET","","","FENWICK","NORTHSHIRE","FW1 2AB","19990401","","","","${trust}","19990401","","","","","","0","","","","",""\r\n`,
    ).join(""),
  });
  const progress: number[] = [];
  const first = await importOrganisations(store.db, actor, lists, extract("RX1", ""), {
    today,
    progress: (done, total) => progress.push(done, total),
  });
  assert.equal(first.added, sites);
  assert.ok(progress.length > 2, "more than one batch");
  assert.deepEqual(progress.slice(-2), [sites, sites]);
  assert.deepEqual(await organisationLineage(store.db, "S06000"), ["S06000", "RX1"]);
  const moved = await importOrganisations(store.db, actor, lists, extract("RX2", " MOVED"), { today });
  assert.deepEqual([moved.added, moved.changed, moved.closed, moved.unchanged], [0, sites, 0, 0]);
  for (const site of ["S00000", "S06000"])
    assert.deepEqual(await organisationLineage(store.db, site), [site, "RX2"]);
  const relationships = await store.db
    .selectFrom("organisation_relationships")
    .select(["target_ods_code", (eb) => eb.fn.countAll<number>().as("n")])
    .where("ods_code", "like", "S%")
    .groupBy("target_ods_code")
    .execute();
  assert.deepEqual(
    relationships.map((row) => [row.target_ods_code, Number(row.n)]),
    [["RX2", sites]],
  );
});
