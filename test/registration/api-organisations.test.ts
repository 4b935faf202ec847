import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../support/cis2-server.ts";
import { uuidOf } from "../support/ra-directory.ts";
import { accessTokenFor, assertProblem, caller } from "./cim-api.ts";

test("the CIM API's workgroups: an RA manager creates and changes them at their organisations; bad input and others are refused", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const manager = caller(server, await accessTokenFor(server, "margaret.oconnell@nhs.net"));
  const agent = caller(server, await accessTokenFor(server, "tunde.adebayo@nhs.net"));

  assertProblem(await caller(server)("GET", "/organisations/RZZ/workgroups"), 401);
  const listed = await agent("GET", "/organisations/rzz/workgroups");
  assert.equal(listed.status, 200);
  assert.ok(listed.body.some((workgroup: { name: string }) => workgroup.name === "Ward 7 Nursing"));

  const definition = await manager("POST", "/organisations/RZZ/positions", {
    name: "Ward 9 nurse",
    accessProfiles: [{ jobRole: "R8001" }],
  });
  assert.equal(definition.status, 201, JSON.stringify(definition.body));

  // Bad input: the schema's refusals and the domain's, each naming its field.
  assertProblem(await manager("POST", "/organisations/RZZ/workgroups", {}), 400);
  assertProblem(await manager("POST", "/organisations/RZZ/workgroups", { name: "   " }), 400, ["name"]);
  assertProblem(
    await manager("POST", "/organisations/RZZ/workgroups", {
      name: "Ward 9",
      positionDefinitionIds: ["abc"],
    }),
    400,
  );
  assertProblem(
    await manager("POST", "/organisations/RZZ/workgroups", {
      name: "Ward 9",
      positionDefinitionIds: ["999999999999"],
    }),
    400,
    ["positionDefinitionIds"],
  );
  assertProblem(
    await manager("POST", "/organisations/RZZ/workgroups", { name: "Ward 9", description: "x".repeat(501) }),
    400,
  );
  assertProblem(await manager("POST", "/organisations/not%20ods!/workgroups", { name: "Ward 9" }), 400);
  // An organisation nobody recorded is outside every local RA manager's organisations.
  assertProblem(await manager("POST", "/organisations/NOPE9/workgroups", { name: "Ward 9" }), 403);
  assertProblem(await manager("POST", "/organisations/RZZ/workgroups", { name: "Ward 7 Nursing" }), 409, [
    "name",
  ]);

  // Those without authority: an RA agent, and an RA manager outside their organisations.
  const refused = await agent("POST", "/organisations/RZZ/workgroups", { name: "Ward 9" });
  assertProblem(refused, 403);
  assert.match(refused.body.detail, /workgroup\.manage/);
  assertProblem(await manager("POST", "/organisations/A99001/workgroups", { name: "Ward 9" }), 403);

  const created = await manager("POST", "/organisations/RZZ/workgroups", {
    name: "Ward 9",
    description: "Ward 9 nursing team",
    positionDefinitionIds: [definition.body.id],
  });
  assert.equal(created.status, 201);
  assert.match(created.body.id, /^\d{12}$/);
  assert.deepEqual(
    { ...created.body, id: undefined },
    {
      id: undefined,
      odsCode: "RZZ",
      name: "Ward 9",
      description: "Ward 9 nursing team",
      positionDefinitionIds: [definition.body.id],
    },
  );
  const atSite = await manager("POST", "/organisations/RZZ01/workgroups", { name: "Site porters" });
  assert.equal(atSite.status, 201, "a site below the manager's trust");

  const path = `/workgroups/${created.body.id}`;
  assertProblem(await manager("PATCH", "/workgroups/abc", { name: "x" }), 400);
  assertProblem(await manager("PATCH", "/workgroups/999999999999", { name: "x" }), 404);
  assertProblem(await manager("PATCH", path, { name: "" }), 400, ["name"]);
  assertProblem(await manager("PATCH", path, { name: "Ward 7 Nursing" }), 409, ["name"]);
  assertProblem(await manager("PATCH", path, { positionDefinitionIds: "all" }), 400);
  assertProblem(await agent("PATCH", path, { name: "Taken over" }), 403);

  const changed = await manager("PATCH", path, {
    name: "Ward 9 (Elm)",
    positionDefinitionIds: [],
    reason: "Ward moved to Elm building",
  });
  assert.equal(changed.status, 200);
  assert.deepEqual(
    [changed.body.name, changed.body.description, changed.body.positionDefinitionIds],
    ["Ward 9 (Elm)", "Ward 9 nursing team", []],
  );
  const events = await db
    .selectFrom("audit_events")
    .select(["action", "actor_id", "source", "reason"])
    .where("subject_id", "=", created.body.id)
    .orderBy("seq")
    .execute();
  const margaret = await uuidOf(db, "O'Connell");
  assert.deepEqual(
    events.map((event) => [event.action, event.actor_id, event.reason]),
    [
      ["workgroup.created", margaret, null],
      ["workgroup.changed", margaret, "Ward moved to Elm building"],
    ],
  );
  const unchanged = await db
    .selectFrom("workgroups")
    .select("name")
    .where("id", "=", created.body.id)
    .execute();
  assert.deepEqual(unchanged, [{ name: "Ward 9 (Elm)" }], "the refused changes changed nothing");
});

test("the CIM API's organisations: a national RA manager adds local organisations and corrects names with a reason; others are refused", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const national = caller(server, await accessTokenFor(server, "elizabeth.harrington@nhs.net"));
  const manager = caller(server, await accessTokenFor(server, "margaret.oconnell@nhs.net"));
  const site = {
    odsCode: "RZZ03",
    name: "Ashcombe Urgent Treatment Centre",
    type: "RO198",
    parentOdsCode: "RZZ",
    address: { lines: ["Fenwick Road"], city: "Ashcombe", postcode: "AC1 4NH" },
  };

  assertProblem(await caller(server)("POST", "/organisations", site), 401);
  assertProblem(await national("POST", "/organisations", { name: "No code", type: "RO198" }), 400);
  assertProblem(await national("POST", "/organisations", { ...site, odsCode: "R!" }), 400);
  assertProblem(await national("POST", "/organisations", { ...site, type: "TRUST", name: " " }), 400, [
    "name",
    "type",
  ]);
  assertProblem(await national("POST", "/organisations", { ...site, parentOdsCode: "NOPE1" }), 404);
  assertProblem(await national("POST", "/organisations", { ...site, odsCode: "RZZ01" }), 409, ["odsCode"]);
  const refused = await manager("POST", "/organisations", site);
  assertProblem(refused, 403);
  assert.match(refused.body.detail, /national RA manager/);

  const added = await national("POST", "/organisations", site);
  assert.equal(added.status, 201);
  assert.deepEqual(
    [added.body.odsCode, added.body.typeCode, added.body.typeName, added.body.parentOdsCode],
    ["RZZ03", "RO198", "NHS TRUST SITE", "RZZ"],
  );
  const row = await db
    .selectFrom("organisations")
    .select(["source", "name"])
    .where("ods_code", "=", "RZZ03")
    .executeTakeFirstOrThrow();
  assert.deepEqual(row, { source: "local", name: site.name });

  const newName = "Ashcombe and Wexley Hospitals NHS Foundation Trust";
  assertProblem(await national("PATCH", "/organisations/RZZ", { name: newName }), 400, ["reason"]);
  assertProblem(await national("PATCH", "/organisations/RZZ", { name: "", reason: "typo" }), 400, ["name"]);
  assertProblem(await national("PATCH", "/organisations/RZZ", { reason: "typo" }), 400);
  assertProblem(await national("PATCH", "/organisations/NOPE9", { name: newName, reason: "typo" }), 404);
  assertProblem(await manager("PATCH", "/organisations/RZZ", { name: newName, reason: "mine" }), 403);
  const renamed = await national("PATCH", "/organisations/rzz", {
    name: newName,
    reason: "Foundation trust",
  });
  assert.equal(renamed.status, 200);
  assert.equal(renamed.body.name, newName);
  const events = await db
    .selectFrom("audit_events")
    .select(["action", "subject_id", "actor_id", "reason", "after"])
    .where("action", "in", ["organisation.created", "organisation.renamed"])
    .where("actor_kind", "=", "person")
    .orderBy("seq")
    .execute();
  const elizabeth = await uuidOf(db, "Harrington");
  assert.deepEqual(
    events.map((event) => [event.action, event.subject_id, event.actor_id, event.reason]),
    [
      ["organisation.created", "RZZ03", elizabeth, null],
      ["organisation.renamed", "RZZ", elizabeth, "Foundation trust"],
    ],
  );
  assert.deepEqual(events[1]?.after, { name: newName });
});
