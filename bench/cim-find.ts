/**
 * Care Identity Management at directory scale: finding a profile by family-name prefix and by
 * UUID (the domain's findProfiles, policy check included), and the request dashboard of an
 * organisation with 10,000 open requests (the domain's listRequests, then the rendered page).
 * Each call is timed alone, one after another, so the figures are latency.
 *
 *   DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/careid_bench npm run bench:cim-find -- \
 *     [--samples 2000] [--requests 10000]
 *
 * Load the directory first (bench/seed-synthetic.ts). The first run migrates the database and
 * adds, at the synthetic practice ZS0001, an RA manager, an RA agent, a sponsor, a position and
 * the sponsor's open requests; later runs reuse them.
 */
import { parseArgs } from "node:util";
import fastifyFormbody from "@fastify/formbody";
import Fastify from "fastify";
import { sql } from "kysely";
import { operatorActor } from "../src/audit/actor.ts";
import { withAuditKey } from "../src/audit/chain-key.ts";
import { loadConfig, realmPath } from "../src/config.ts";
import { createPerson } from "../src/people/people.ts";
import { readCodeLists } from "../src/rbac/code-lists.ts";
import { grantPosition } from "../src/rbac/positions.ts";
import { cimApp } from "../src/registration/pages/app.ts";
import { registerCimPages } from "../src/registration/pages/plugin.ts";
import { sessionCookie } from "../src/registration/pages/sign-in-routes.ts";
import { definePosition, listPositionDefinitions } from "../src/registration/position-definitions.ts";
import { findProfiles } from "../src/registration/profiles.ts";
import { listRequests } from "../src/registration/request-dashboard.ts";
import { loadMasterKey } from "../src/secrets/master-key.ts";
import { sealerFor } from "../src/secrets/sealed.ts";
import { type Db, openStore } from "../src/store/database.ts";
import { migrate } from "../src/store/migrate.ts";
import { startSession } from "../src/web/first-party/sessions.ts";
import { registerAssets } from "../src/web/pages.ts";
import { registerSecurityHeaders, securityHeaderOptions } from "../src/web/security-headers.ts";
import { summarise } from "./summarise.ts";

const { values } = parseArgs({
  options: { samples: { type: "string", default: "2000" }, requests: { type: "string", default: "10000" } },
});
const samples = Number(values.samples);
const wantedRequests = Number(values.requests);
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error("Set DATABASE_URL to the PostgreSQL database to measure");
const organisation = "ZS0001";

const config = loadConfig();
const store = withAuditKey(await openStore({ databaseUrl, poolSize: 4 }), loadMasterKey(config));
const migrated = await migrate(store);
if (migrated.length > 0) console.log(`migrated: ${migrated.join(", ")}`);
const lists = await readCodeLists(store.db);
const operator = operatorActor();

/** A bench person holding one position at the organisation, made once and found again later. */
async function benchPerson(
  db: Db,
  givenName: string,
  jobRole: string,
  activities: string[] = [],
): Promise<string> {
  const existing = await db
    .selectFrom("people")
    .select("uuid")
    .where("family_name", "=", "Benchmark")
    .where("given_name", "=", givenName)
    .executeTakeFirst();
  if (existing) return existing.uuid;
  const person = await createPerson(db, operator, { givenName, familyName: "Benchmark" });
  await grantPosition(db, operator, lists, {
    uuid: person.uuid,
    odsCode: organisation,
    jobRole,
    activities,
    startDate: "2024-01-01",
  });
  return person.uuid;
}

const manager = await benchPerson(store.db, "Manager", "R5080");
const agent = await benchPerson(store.db, "Agent", "R5090");
const sponsor = await benchPerson(store.db, "Sponsor", "R8000", ["B1300"]);
const definition =
  (await listPositionDefinitions(store.db, organisation)).find((each) => each.name === "Bench clerk") ??
  (await definePosition(store.db, { kind: "person", id: manager, source: "BENCH" }, lists, {
    odsCode: organisation,
    name: "Bench clerk",
    accessProfiles: [{ jobRole: "R8010" }],
  }));

// Requests as a sponsor makes them, written in one statement: 10,000 calls through the domain
// would only time the setup. Their subjects are synthetic people elsewhere.
const open = await sql<{ n: number }>`
  SELECT count(*)::int AS n FROM registration_requests WHERE ods_code = ${organisation} AND status = 'open'`.execute(
  store.db,
);
const missing = wantedRequests - (open.rows[0]?.n ?? 0);
if (missing > 0) {
  await sql`
    INSERT INTO registration_requests (id, action, ods_code, subject_uuid, position_definition_id, details, source, requested_by, reason, created_at)
    SELECT nextval('careid_identifiers')::text, 'position.assign', ${organisation}, p.uuid, ${definition.id},
           '{"startDate":"2026-12-01","endDate":null}', 'CIM', ${sponsor}, 'Bench request',
           now() - (random() * interval '20 days')
      FROM (SELECT uuid FROM people TABLESAMPLE SYSTEM (2) WHERE family_name <> 'Benchmark' LIMIT ${missing}) p`.execute(
    store.db,
  );
  // As autovacuum would leave it: statistics, and a visibility map for index-only scans.
  await sql`VACUUM ANALYZE registration_requests`.execute(store.db);
  console.log(`added ${missing} open requests at ${organisation}`);
}
const counts = await sql<{ people: number; requests: number }>`
  SELECT (SELECT count(*) FROM people)::int AS people,
         (SELECT count(*) FROM registration_requests WHERE ods_code = ${organisation} AND status = 'open')::int AS requests`.execute(
  store.db,
);
console.log(
  `Directory: ${counts.rows[0]?.people} people; ${counts.rows[0]?.requests} open requests at ${organisation}`,
);

const names = await sql<{ family_name: string; given_name: string }>`
  SELECT family_name, given_name FROM people TABLESAMPLE SYSTEM (1) ORDER BY random() LIMIT ${samples}`.execute(
  store.db,
);
// Prefixes of 2 to 5 letters, some with a given-name prefix as well ("ol smi").
const prefixes = names.rows.map((row, index) => {
  const family = row.family_name.slice(0, 2 + (index % 4)).toLowerCase();
  return index % 3 === 0 ? `${row.given_name.slice(0, 2).toLowerCase()} ${family}` : family;
});
const uuids = await sql<{ uuid: string }>`
  SELECT uuid FROM people TABLESAMPLE SYSTEM (1) ORDER BY random() LIMIT ${samples}`.execute(store.db);

async function timed(runs: number, call: (index: number) => Promise<unknown>): Promise<number[]> {
  for (let index = 0; index < Math.min(runs, 100); index++) await call(index);
  const times: number[] = [];
  for (let index = 0; index < runs; index++) {
    const started = performance.now();
    await call(index);
    times.push(performance.now() - started);
  }
  return times;
}

const byName = await timed(prefixes.length, async (index) => {
  const found = await findProfiles(store.db, agent, { name: prefixes[index] }, { limit: 50 });
  if (found.length === 0) throw new Error(`nobody found for ${prefixes[index]}`);
});
console.log(`find by surname prefix (50 a page)  ${summarise(byName)}`);
const byUuid = await timed(uuids.rows.length, async (index) => {
  const found = await findProfiles(store.db, agent, { uuid: uuids.rows[index]?.uuid });
  if (found.length !== 1) throw new Error("a sampled UUID was not found");
});
console.log(`find by UUID                        ${summarise(byUuid)}`);
const dashboard = await timed(300, async () => {
  const page = await listRequests(store.db, agent, "open", { limit: 50 });
  if (page.total < wantedRequests) throw new Error(`the dashboard shows ${page.total} open requests`);
});
console.log(`request dashboard (domain query)    ${summarise(dashboard)}`);

// The page itself, as the RA agent's browser gets it: the CIM pages with a session, in a
// server of their own (the rest of the service, CIS2 included, plays no part in this page).
const sealer = sealerFor(Buffer.from("ab".repeat(32), "hex"));
const app = Fastify({ logger: false });
const cimConfig = loadConfig({ CAREID_CIM_IDLE_MINUTES: "30" });
// The service's own security headers, as server.ts sets them.
registerSecurityHeaders(app, securityHeaderOptions(cimConfig));
await app.register(fastifyFormbody);
await registerAssets(app);
const cim = cimApp(cimConfig, false);
registerCimPages(app, {
  db: store.db,
  sealer,
  lists,
  issuer: `http://127.0.0.1:3000${realmPath}`,
  app: cim,
  clientSecret: "not used: no sign-in happens here",
  relyingParties: {
    settings: cimConfig.relyingParties,
    validate: async () => {
      throw new Error("not used: no client is registered here");
    },
  },
  // The dashboard is measured alone: no Apply for Care ID pages or figures are plugged in.
  otherReports: {},
});
await app.ready();
const token = await startSession(store.db, sealer, cim, {
  uuid: agent,
  sid: undefined,
  idToken: "bench",
  acr: "AAL3_ANY",
  method: undefined,
});
const rendered = await timed(300, async () => {
  const response = await app.inject({ url: "/cim/requests?view=open", cookies: { [sessionCookie]: token } });
  if (response.statusCode !== 200) throw new Error(`the dashboard page answered ${response.statusCode}`);
});
console.log(`request dashboard (rendered page)   ${summarise(rendered)}`);
await app.close();
await store.close();
