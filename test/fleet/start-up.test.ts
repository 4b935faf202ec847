import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { assertAuditIntact, checkFleetTools, postgresCluster, startFleet } from "./fleet.ts";

test("two serve --demo nodes started together on an empty PostgreSQL both come up", async (t) => {
  checkFleetTools();
  const database = await postgresCluster(t, 55501);
  // As the owner and with nothing migrated: both nodes race through every start-up step
  // (migrations, code lists, demo directory, signing key, first-party and demo clients).
  const fleet = await startFleet(
    t,
    { ...database, url: database.ownerUrl, ownerUrl: "" },
    {
      nodes: 2,
      port: 4500,
      demo: true,
    },
  );
  for (const k of [1, 2]) {
    const ready = await fetch(`${fleet.nodeOrigin(k)}/health/ready`);
    assert.equal(ready.status, 200, `node ${k} is ready`);
    assert.doesNotMatch(readFileSync(join(fleet.dir, `node-${k}.log`), "utf8"), /already registered|Error/);
  }
  const users = (await (await fetch(`${fleet.origin}/demo/users.json`)).json()) as unknown[];
  assert.ok(users.length >= 30, "the demo directory was loaded once");
  await assertAuditIntact(fleet.env);
});
