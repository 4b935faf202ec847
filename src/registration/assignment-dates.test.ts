import assert from "node:assert/strict";
import { test } from "node:test";
import { directoryServer } from "../../test/support/directory-server.ts";
import { inCim, raStaff } from "../../test/support/ra-directory.ts";
import { accountClaims } from "../cis2/claims.ts";
import { getPerson } from "../people/people.ts";
import { readCodeLists } from "../rbac/code-lists.ts";
import { assignPosition } from "./assignments.ts";
import { definePosition } from "./position-definitions.ts";

function day(offset: number): string {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Assignments take effect on their start date and lapse after their end date with nobody acting:
 * the CIS2 claims and the directory's FHIR API read the dates at the moment they answer.
 */
test("CIS2 claims and the FHIR directory publish an assignment only from its start date to its end date", async (t) => {
  const { app, store, key, uuidOf } = await directoryServer(t);
  const lists = await readCodeLists(store.db);
  const manager = inCim(await uuidOf(raStaff.RAM));
  const agent = inCim(await uuidOf(raStaff.RAA));
  const uuid = await uuidOf("Murphy");
  const jobRoles: (string | undefined)[] = ["R8002", "R8003", "R8012", "R8013"];
  const dates = [
    { startDate: day(1), endDate: null },
    { startDate: day(-30), endDate: day(-1) },
    { startDate: day(0), endDate: null },
    { startDate: day(-30), endDate: day(0) },
  ];
  for (const [index, jobRole] of jobRoles.entries()) {
    const definition = await definePosition(store.db, manager, lists, {
      odsCode: "RZZ",
      name: `Dated ${jobRole}`,
      accessProfiles: [{ jobRole }],
    });
    const done = await assignPosition(store.db, agent, lists, {
      uuid,
      positionDefinitionId: definition.id,
      ...dates[index],
    });
    assert.equal(done.outcome, "done");
  }
  const published = ["R8012", "R8013"];

  const claimedJobRoles = async () => {
    const claims = await accountClaims(
      store.db,
      lists,
      await getPerson(store.db, uuid),
      "openid nationalrbacaccess",
      {
        aal: 3,
        selectedRoleId: async () => undefined,
      },
    );
    return (claims.nhsid_nrbac_roles as { role_code: string }[]).map((role) =>
      role.role_code.split(":").pop(),
    );
  };
  const claimed = await claimedJobRoles();
  assert.deepEqual(claimed.filter((code) => jobRoles.includes(code)).sort(), published);

  const response = await app.inject({
    url: "/healthcare-worker/FHIR/R4/PractitionerRole",
    query: { "practitioner.identifier": uuid },
    headers: { apikey: key },
  });
  assert.equal(response.statusCode, 200);
  const codes = (response.json().entry as { resource: { code: { coding: { code: string }[] }[] } }[]).map(
    (entry) => entry.resource.code[0]?.coding[0]?.code.split(":").pop(),
  );
  assert.deepEqual(codes.filter((code) => jobRoles.includes(code)).sort(), published);

  // The future one starts: a day passes (moved back by a day, as a clock cannot be).
  await store.db
    .updateTable("positions")
    .set({ start_date: day(0) })
    .where("uuid", "=", uuid)
    .where("job_role_code", "=", "R8002")
    .execute();
  assert.ok(
    (await claimedJobRoles()).includes("R8002"),
    "the position appears on its start date with no RA action",
  );
});
