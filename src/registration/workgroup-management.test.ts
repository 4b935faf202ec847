import assert from "node:assert/strict";
import { test } from "node:test";
import { inCim, raDirectory, refusedWith, uuidOf } from "../../test/support/ra-directory.ts";
import { ConflictError, ForbiddenError, InvalidInputError } from "../errors.ts";
import { getOrganisation } from "../rbac/organisations.ts";
import { workgroupsAt } from "../rbac/workgroups.ts";
import { addLocalOrganisation, correctOrganisationName } from "./local-organisations.ts";
import { changePositionDefinition, definePosition } from "./position-definitions.ts";
import { changeWorkgroup, defineWorkgroup } from "./workgroup-management.ts";

test("an RA manager creates and edits workgroups at their organisations and below, audited; others may not", async (t) => {
  const { store, lists, actors } = await raDirectory(t);
  const manager = inCim(actors.RAM);
  const ward = await definePosition(store.db, manager, lists, {
    odsCode: "RZZ",
    name: "Ward 9 nurse",
    accessProfiles: [{ jobRole: "R8001" }],
  });
  const other = await definePosition(store.db, manager, lists, {
    odsCode: "RZZ",
    name: "Porter",
    accessProfiles: [{ jobRole: "R8010" }],
  });
  const workgroup = await defineWorkgroup(store.db, manager, "RZZ", {
    name: "Ward 9",
    description: "Ward 9 nursing team",
    positionDefinitionIds: [ward.id],
  });
  assert.match(workgroup.id, /^\d{12}$/);
  assert.ok((await workgroupsAt(store.db, "RZZ")).some((row) => row.id === workgroup.id));
  await defineWorkgroup(store.db, manager, "RZZ01", { name: "Site team" });
  // Confined to the Ward 9 position: that one may carry it, the porter's may not.
  await changePositionDefinition(store.db, manager, lists, ward.id, {
    accessProfiles: [{ jobRole: "R8001", workgroups: [workgroup.id] }],
  });
  await refusedWith(
    changePositionDefinition(store.db, manager, lists, other.id, {
      accessProfiles: [{ jobRole: "R8010", workgroups: [workgroup.id] }],
    }),
    InvalidInputError,
    /may be carried only by/,
  );
  const changed = await changeWorkgroup(store.db, manager, workgroup.id, {
    name: "Ward 9 (Elm)",
    positionDefinitionIds: [],
  });
  assert.deepEqual(
    [changed.name, changed.description, changed.positionDefinitionIds],
    ["Ward 9 (Elm)", "Ward 9 nursing team", []],
  );
  const event = await store.db
    .selectFrom("audit_events")
    .select(["actor_id", "actor_role_id", "before", "after"])
    .where("action", "=", "workgroup.changed")
    .executeTakeFirstOrThrow();
  assert.equal(event.actor_id, actors.RAM);
  assert.ok(event.actor_role_id, "audited in the position the RA acted in");
  await refusedWith(
    defineWorkgroup(store.db, manager, "A99001", { name: "Elsewhere" }),
    ForbiddenError,
    /do not extend/,
  );
  await refusedWith(
    defineWorkgroup(store.db, inCim(actors.RAA), "RZZ", { name: "Agents" }),
    ForbiddenError,
    /workgroup.manage/,
  );
  await refusedWith(
    defineWorkgroup(store.db, manager, "RZZ", { name: "Ward 9 (Elm)" }),
    ConflictError,
    /already/,
  );
  await refusedWith(defineWorkgroup(store.db, manager, "RZZ", { name: " " }), InvalidInputError, /name/);
  await refusedWith(
    defineWorkgroup(store.db, manager, "RZZ", { name: "X", positionDefinitionIds: ["000000000001"] }),
    InvalidInputError,
    /not positions at RZZ/,
  );
});

test("only a national RA manager adds local organisations and corrects names, with a reason", async (t) => {
  const { store, actors } = await raDirectory(t);
  const national = inCim(await uuidOf(store.db, "Harrington"));
  const local = await addLocalOrganisation(store.db, national, {
    odsCode: "LOC01",
    name: "Ashcombe Pop-up Clinic",
    type: "RO198",
    parentOdsCode: "RZZ",
  });
  assert.equal(local.parentOdsCode, "RZZ");
  const source = await store.db
    .selectFrom("organisations")
    .select("source")
    .where("ods_code", "=", "LOC01")
    .executeTakeFirstOrThrow();
  assert.equal(source.source, "local");
  await correctOrganisationName(store.db, national, "LOC01", {
    name: "Ashcombe Vaccination Clinic",
    reason: "Renamed locally",
  });
  assert.equal((await getOrganisation(store.db, "LOC01")).name, "Ashcombe Vaccination Clinic");
  await refusedWith(
    correctOrganisationName(store.db, national, "LOC01", { name: "X" }),
    InvalidInputError,
    /reason/,
  );
  await refusedWith(
    addLocalOrganisation(store.db, inCim(actors.RAM), {
      odsCode: "LOC02",
      name: "Not national",
      type: "RO198",
    }),
    ForbiddenError,
    /national RA manager/,
  );
  await refusedWith(
    correctOrganisationName(store.db, inCim(actors.RAM), "RZZ", { name: "Renamed", reason: "because" }),
    ForbiddenError,
    /national RA manager/,
  );
  const renamed = await store.db
    .selectFrom("audit_events")
    .select(["before", "after", "reason"])
    .where("action", "=", "organisation.renamed")
    .executeTakeFirstOrThrow();
  assert.deepEqual(
    [renamed.before, renamed.after, renamed.reason],
    [{ name: "Ashcombe Pop-up Clinic" }, { name: "Ashcombe Vaccination Clinic" }, "Renamed locally"],
  );
});
