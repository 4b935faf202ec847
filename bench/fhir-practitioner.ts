/**
 * Healthcare Worker FHIR API: Practitioner by UUID over HTTP, at directory scale. Starts the
 * service as its own process (`careid serve`) on the given PostgreSQL database, issues an
 * application key, and drives GET /Practitioner?identifier=<uuid> with autocannon across a random
 * sample of people, so each request is a real key check, rate-limit count and database read.
 *
 *   DATABASE_URL=postgres://.../careid_bench npm run bench:fhir-practitioner -- [--seconds 30] [--connections 32]
 *
 * Load the directory first: BENCH_ADMIN_URL=... npm run bench:seed
 */
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { sql } from "kysely";
import { operatorActor } from "../src/audit/actor.ts";
import { issueApplication } from "../src/directory/applications/applications.ts";
import { openStore } from "../src/store/database.ts";
import { migrate } from "../src/store/migrate.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "30" },
    connections: { type: "string", default: "32" },
    port: { type: "string", default: "3917" },
    samples: { type: "string", default: "50000" },
  },
});
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error("Set DATABASE_URL to the PostgreSQL database to measure");

const store = await openStore({ databaseUrl, poolSize: 2 });
await migrate(store);
const counts = await sql<{ people: number }>`SELECT count(*)::int AS people FROM people`.execute(store.db);
console.log(`Directory: ${counts.rows[0]?.people} people`);
const sample = await sql<{ uuid: string }>`
  SELECT uuid FROM people TABLESAMPLE SYSTEM (5) WHERE status = 'active' ORDER BY random() LIMIT ${Number(values.samples)}`.execute(
  store.db,
);
const uuids = sample.rows.map((row) => row.uuid);
const { key } = await issueApplication(
  store.db,
  { ...operatorActor(), source: "BENCH" },
  {
    name: "benchmark",
    rateLimitPerMinute: 10_000_000,
  },
);
await store.close();

const server = spawn(process.execPath, ["src/main.ts", "serve"], {
  env: { ...process.env, PORT: values.port, HOST: "127.0.0.1", LOG_LEVEL: "warn" },
  stdio: ["ignore", "ignore", "inherit"],
});
const base = `http://127.0.0.1:${values.port}`;
for (let attempt = 0; ; attempt++) {
  try {
    if ((await fetch(`${base}/health/ready`)).ok) break;
  } catch {
    // not listening yet
  }
  if (attempt > 100) throw new Error("the server did not start");
  await new Promise((resolve) => setTimeout(resolve, 200));
}

let next = 0;
const path = () => `/healthcare-worker/FHIR/R4/Practitioner?identifier=${uuids[next++ % uuids.length]}`;
const run = (seconds: number) =>
  autocannon({
    url: base,
    connections: Number(values.connections),
    duration: seconds,
    headers: { apikey: key, accept: "application/fhir+json" },
    requests: [{ method: "GET", setupRequest: (request) => ({ ...request, path: path() }) }],
  });

await run(5); // warm the pool, the JIT and PostgreSQL's cache as a running service would be
const result = await run(Number(values.seconds));
server.kill("SIGTERM");
const non2xx = result.non2xx + result.errors + result.timeouts;
console.log(
  [
    `Practitioner by UUID over HTTP: ${result.connections} connections for ${result.duration} s`,
    `  requests/s  mean ${result.requests.average.toFixed(0)}, total ${result.requests.total}, failed ${non2xx}`,
    `  latency ms  p50 ${result.latency.p50}, p90 ${result.latency.p90}, p99 ${result.latency.p99}, max ${result.latency.max}`,
  ].join("\n"),
);
