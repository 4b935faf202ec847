import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sql } from "kysely";
import { onPostgres, testMasterKey, testStore } from "../../test/support/test-store.ts";
import { createPerson } from "../people/people.ts";
import { openStore } from "../store/database.ts";
import { migrate } from "../store/migrate.ts";
import { operatorActor } from "./actor.ts";
import { withAuditKey } from "./chain-key.ts";
import { pinUnkeyedEvents } from "./keying.ts";
import { verifyAuditLog } from "./verify.ts";

const rolesScript = readFileSync(new URL("../../docs/postgres-roles.sql", import.meta.url), "utf8");

test("the documented runtime role runs the service and appends to the audit log, but cannot rewrite it", {
  skip: onPostgres ? false : "roles and privileges are PostgreSQL's: set TEST_DATABASE_URL",
}, async (t) => {
  const store = await testStore(t);
  const owner = (await sql<{ name: string }>`SELECT current_user AS name`.execute(store.db)).rows[0]?.name;
  const runtime = `careid_runtime_${process.pid}_${Date.now().toString(36)}`;
  const password = "runtime-test-password";
  // The script as documented, for this test's database: the test's own user is the owner.
  await store.runScript(
    rolesScript.replaceAll("careid_runtime", runtime).replaceAll("careid_owner", `"${owner}"`),
  );
  await sql.raw(`ALTER ROLE ${runtime} PASSWORD '${password}'`).execute(store.db);
  const url = new URL(store.location);
  url.username = runtime;
  url.password = password;
  const asRuntime = withAuditKey(
    await openStore({ databaseUrl: url.toString(), poolSize: 1 }),
    testMasterKey,
  );
  try {
    // What `careid serve` does at start, and a change with its event.
    assert.deepEqual(await migrate(asRuntime), []);
    await pinUnkeyedEvents(asRuntime.db);
    await createPerson(asRuntime.db, operatorActor(), { givenName: "Rita", familyName: "Runtime" });
    assert.equal((await verifyAuditLog(asRuntime.db)).ok, true);

    const refusals: [string, RegExp][] = [
      [
        "UPDATE audit_events SET reason = 'approved' WHERE seq = 1",
        /permission denied for table audit_events/,
      ],
      ["DELETE FROM audit_events WHERE seq = 1", /permission denied for table audit_events/],
      ["TRUNCATE audit_events", /permission denied for table audit_events/],
      [
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
        /must be owner of table audit_events/,
      ],
      ["DROP TABLE audit_events", /must be owner of table audit_events/],
    ];
    for (const [statement, refusal] of refusals)
      await assert.rejects(sql.raw(statement).execute(asRuntime.db), refusal, statement);
    assert.equal((await verifyAuditLog(asRuntime.db)).ok, true);
  } finally {
    await asRuntime.close();
    await sql.raw(`DROP OWNED BY ${runtime}; DROP ROLE ${runtime}`).execute(store.db);
  }
});
