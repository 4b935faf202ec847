/**
 * Healthcare Worker FHIR API: Practitioner read by UUID over HTTP, at directory scale, against a
 * floor. Starts the service as its own process (`careid serve`) and, beside it, the floor server
 * (bench/fhir-floor-server.ts: `node:http` + `pg`, the same query, key check and per-key count,
 * no framework), issues an application key, and drives GET /Practitioner/<uuid> with autocannon
 * across a random sample of people, so each request is a real key check, rate-limit count and
 * database read. The two are measured in alternating rounds (service, floor, service, floor...),
 * each warmed first; each round prints requests/s, p99 and the server's CPU per request, and the
 * end the ratio of the service's best round to the floor's.
 *
 *   DATABASE_URL=postgres://.../careid_bench npm run bench:fhir-practitioner -- \
 *     [--seconds 20] [--rounds 2] [--connections 8] [--only service]
 *
 * Load the directory first: BENCH_ADMIN_URL=... npm run bench:seed. The service gets the master
 * key of ./data (as the seed used), or CAREID_MASTER_KEY if set;
 * BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the service.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { sql } from "kysely";
import { operatorActor } from "../src/audit/actor.ts";
import { withAuditKey } from "../src/audit/chain-key.ts";
import { loadConfig } from "../src/config.ts";
import { issueApplication } from "../src/directory/applications/applications.ts";
import { loadMasterKey } from "../src/secrets/master-key.ts";
import { openStore } from "../src/store/database.ts";
import { migrate } from "../src/store/migrate.ts";
import { cpuSeconds } from "./cis2-support.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "20" },
    rounds: { type: "string", default: "2" },
    warmup: { type: "string", default: "5" },
    connections: { type: "string", default: "8" },
    port: { type: "string", default: "3917" },
    "floor-port": { type: "string", default: "3918" },
    samples: { type: "string", default: "50000" },
    only: { type: "string" },
  },
});
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error("Set DATABASE_URL to the PostgreSQL database to measure");

// The key the seed used (./data's, or the one set): the service opens sealed rows and keys audit events with it.
const masterKey = loadMasterKey({
  masterKey: loadConfig().masterKey,
  dataDir: resolve(process.env.CAREID_DATA_DIR || "./data"),
  databaseUrl: undefined,
});
const store = withAuditKey(await openStore({ databaseUrl, poolSize: 2 }), masterKey);
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
  { name: "benchmark", rateLimitPerMinute: 10_000_000 },
);
await store.close();

type Server = { name: string; base: string; process: ChildProcess };

const environment = { ...process.env, HOST: "127.0.0.1", LOG_LEVEL: "warn", CAREID_LDAP_PORT: "0" };
const nodeArguments = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);

const servers: Server[] = [];
if (values.only !== "floor")
  servers.push(
    await started("service", values.port, [...nodeArguments, "src/main.ts", "serve"], {
      CAREID_MASTER_KEY: masterKey.toString("base64"),
    }),
  );
if (values.only !== "service")
  servers.push(
    await started("floor", values["floor-port"], [...nodeArguments, "bench/fhir-floor-server.ts"], {}),
  );

async function started(
  name: string,
  port: string,
  args: string[],
  extra: Record<string, string>,
): Promise<Server> {
  const child = spawn(process.execPath, args, {
    env: { ...environment, ...extra, PORT: port },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`${base}/health/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (attempt > 150) throw new Error(`the ${name} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Both answer the same thing, or the comparison means nothing.
  const check = await fetch(`${base}/healthcare-worker/FHIR/R4/Practitioner/${uuids[0]}`, {
    headers: { apikey: key, accept: "application/fhir+json" },
  });
  const body = (await check.json()) as { resourceType?: string; id?: string };
  if (check.status !== 200 || body.resourceType !== "Practitioner" || body.id !== uuids[0])
    throw new Error(`the ${name} answered ${check.status} ${JSON.stringify(body)}`);
  return { name, base, process: child };
}

let next = 0;
const path = () => `/healthcare-worker/FHIR/R4/Practitioner/${uuids[next++ % uuids.length]}`;
const run = (server: Server, seconds: number) =>
  autocannon({
    url: server.base,
    connections: Number(values.connections),
    duration: seconds,
    headers: { apikey: key, accept: "application/fhir+json" },
    requests: [{ method: "GET", setupRequest: (request) => ({ ...request, path: path() }) }],
  });

type Round = {
  server: string;
  perSecond: number;
  p50: number;
  p99: number;
  failed: number;
  cpuMicros: number;
};
const rounds: Round[] = [];
try {
  // Warm the pools, the JIT and PostgreSQL's cache as a running server would be.
  for (const server of servers) await run(server, Number(values.warmup));
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const server of servers) {
      const pid = server.process.pid as number;
      const cpuBefore = cpuSeconds([pid]);
      const result = await run(server, Number(values.seconds));
      const cpu = cpuSeconds([pid]) - cpuBefore;
      const measured: Round = {
        server: server.name,
        perSecond: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        failed: result.non2xx + result.errors + result.timeouts,
        cpuMicros: (cpu * 1e6) / Math.max(1, result.requests.total),
      };
      rounds.push(measured);
      console.log(
        `round ${round} ${server.name.padEnd(7)} ${measured.perSecond.toFixed(0).padStart(6)} requests/s  ` +
          `p50 ${measured.p50} ms  p99 ${measured.p99} ms  max ${result.latency.max} ms  ` +
          `server CPU ${measured.cpuMicros.toFixed(0)} µs/request  failed ${measured.failed}`,
      );
    }
  }
} finally {
  for (const server of servers) server.process.kill("SIGTERM");
}

const best = (name: string) =>
  rounds.filter((round) => round.server === name).sort((left, right) => right.perSecond - left.perSecond)[0];
const service = best("service");
const floor = best("floor");
console.log(
  `Practitioner read by UUID over HTTP: ${values.connections} connections, ${values.seconds} s rounds`,
);
if (service && floor)
  console.log(
    `  best rounds: service ${service.perSecond.toFixed(0)}/s (p99 ${service.p99} ms), ` +
      `floor ${floor.perSecond.toFixed(0)}/s (p99 ${floor.p99} ms); service / floor ${(service.perSecond / floor.perSecond).toFixed(2)}`,
  );
