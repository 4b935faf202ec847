/**
 * Person by UUID and positions of a person, at directory scale: times each lookup alone
 * (one after another, so the figure is latency, not throughput) for a random sample of people.
 *
 *   DATABASE_URL=postgres://... npm run bench:lookup -- [--samples 20000]
 *
 * Load the directory first: careid seed synthetic --people 1300000
 */
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { getPerson } from "../src/people/people.ts";
import { readCodeLists } from "../src/rbac/code-lists.ts";
import { positionsOfPerson } from "../src/rbac/positions.ts";
import { openStore } from "../src/store/database.ts";
import { summarise } from "./summarise.ts";

const { values } = parseArgs({ options: { samples: { type: "string", default: "20000" } } });
const samples = Number(values.samples);
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error("Set DATABASE_URL to the PostgreSQL database to measure");

const store = await openStore({ databaseUrl, poolSize: 4 });
const lists = await readCodeLists(store.db);
const counts = await sql<{ people: number; positions: number }>`
  SELECT (SELECT count(*) FROM people)::int AS people, (SELECT count(*) FROM positions)::int AS positions`.execute(
  store.db,
);
console.log(`Directory: ${counts.rows[0]?.people} people, ${counts.rows[0]?.positions} positions`);

const sample = await sql<{ uuid: string }>`
  SELECT uuid FROM people TABLESAMPLE SYSTEM (5) ORDER BY random() LIMIT ${samples}`.execute(store.db);
const uuids = sample.rows.map((row) => row.uuid);

// Warm the pool and the plan cache as a running service would be.
for (const uuid of uuids.slice(0, 500)) await getPerson(store.db, uuid);

const personTimes: number[] = [];
const positionTimes: number[] = [];
for (const uuid of uuids) {
  let started = performance.now();
  await getPerson(store.db, uuid);
  personTimes.push(performance.now() - started);
  started = performance.now();
  await positionsOfPerson(store.db, lists, uuid, { includeEnded: true });
  positionTimes.push(performance.now() - started);
}
console.log(`person by UUID       ${summarise(personTimes)}`);
console.log(`positions of person  ${summarise(positionTimes)}`);
await store.close();
