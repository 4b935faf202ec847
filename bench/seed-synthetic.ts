/**
 * Loads a synthetic directory into an empty PostgreSQL database and reports the time taken.
 *
 *   BENCH_ADMIN_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npm run bench:seed -- [--people 1300000] [--demo]
 *
 * Creates (and first drops) the database careid_bench beside the admin database. With --demo the
 * demo directory goes in first, with what `careid seed demo` adds for signing in (the demo
 * people's development password, the example app's client): the soak signs in with those
 * (`bench:soak -- --synthetic`). It must come first, as both refuse a database that has people.
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { startCis2 } from "../src/app/start-cis2.ts";
import { operatorActor, systemActor } from "../src/audit/actor.ts";
import { withAuditKey } from "../src/audit/chain-key.ts";
import { loadConfig } from "../src/config.ts";
import { readCodeLists, syncCodeLists } from "../src/rbac/code-lists.ts";
import { loadMasterKey } from "../src/secrets/master-key.ts";
import { seedDemo } from "../src/seed/demo.ts";
import { seedSynthetic } from "../src/seed/synthetic.ts";
import { openStore } from "../src/store/database.ts";
import { migrate } from "../src/store/migrate.ts";
import { benchAdminUrl } from "./cis2-support.ts";

const { values } = parseArgs({
  options: { people: { type: "string", default: "1300000" }, demo: { type: "boolean", default: false } },
});
const adminUrl = benchAdminUrl();

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query("DROP DATABASE IF EXISTS careid_bench WITH (FORCE)");
await admin.query("CREATE DATABASE careid_bench");
await admin.end();

const target = new URL(adminUrl);
target.pathname = "/careid_bench";
// The events are keyed with the master key `careid` would use in this environment, so the
// loaded database verifies and serves with it.
const config = loadConfig();
const store = withAuditKey(
  await openStore({ databaseUrl: target.toString(), poolSize: 2 }),
  loadMasterKey(config),
);
await migrate(store);
await syncCodeLists(store.db, systemActor("bench"));
if (values.demo) {
  await seedDemo(store.db, operatorActor());
  (
    await startCis2(config, store, await readCodeLists(store.db), { seed: true, actor: operatorActor() })
  ).stop();
  console.log("seed synthetic: the demo directory, its passwords and the example app's client first");
}
const result = await seedSynthetic(store, operatorActor(), {
  people: Number(values.people),
  positionsPerPerson: 1.5,
  progress: (line) => console.log(line),
});
console.log(
  `seed synthetic: ${result.people} people, ${result.positions} positions in ${result.seconds.toFixed(1)} s`,
);
console.log(`Then: DATABASE_URL=${target.toString().replace(/:[^:@/]*@/, ":***@")} npm run bench:lookup`);
await store.close();
