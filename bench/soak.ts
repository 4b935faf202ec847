/**
 * A bounded soak: two `careid serve` nodes on one PostgreSQL behind HAProxy (deploy/nodes.sh, as
 * the fleet tests and the deployment guide start them), a steady mixed load for a fixed time
 * (whole sign-ins, UserInfo, CIM API writes, FHIR and organisation reads), then per operation
 * the count, errors and latency percentiles, and each node's resident memory at the start of the
 * steady state and at the end. Traffic goes to 127.0.0.1 only and stops by itself.
 *
 *   npm run bench:soak -- [--minutes 10] [--sign-ins 4] [--userinfo 10] [--writes 1] [--reads 20]
 *
 * Rates are per second. BENCH_ADMIN_URL names a PostgreSQL database this user may create
 * databases from (default: the local cluster as postgres).
 *
 * With --synthetic, one node serves the synthetic national-scale directory instead of two on a
 * fresh demo database: careid_bench as `npm run bench:seed -- --demo` leaves it (1.3 million
 * people, and the demo directory with its passwords and client, which the sign-ins and CIM writes
 * use), with the master key of ./data that the seed used (or CAREID_MASTER_KEY). FHIR reads then
 * go to random people of the whole directory. Its writes (position definitions, sessions) stay.
 * Each node's memory is also read from its /metrics (V8 heap, external) at both moments.
 * --node-options "..." starts the nodes with those NODE_OPTIONS (V8 heap settings).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as client from "openid-client";
import pg from "pg";
import { loadConfig, realmPath } from "../src/config.ts";
import { cimApp } from "../src/registration/pages/app.ts";
import { loadMasterKey } from "../src/secrets/master-key.ts";
import { firstPartyClientSecret } from "../src/web/first-party/app.ts";
import { demoClientConfiguration, exchange, signIn } from "../test/cis2/journey.ts";
import { accessTokenFor } from "../test/registration/cim-api.ts";
import type { Cis2Server } from "../test/support/cis2-server.ts";
import { freshDatabase, percentile } from "./cis2-support.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    "sign-ins": { type: "string", default: "4" },
    userinfo: { type: "string", default: "10" },
    writes: { type: "string", default: "1" },
    reads: { type: "string", default: "20" },
    port: { type: "string", default: "8480" },
    synthetic: { type: "boolean", default: false },
    "node-options": { type: "string" },
  },
});
const adminUrl = process.env.BENCH_ADMIN_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
const repository = new URL("..", import.meta.url).pathname;
const nodes = values.synthetic ? 1 : 2;
const masterKey = values.synthetic
  ? loadMasterKey({
      masterKey: loadConfig().masterKey,
      dataDir: resolve(process.env.CAREID_DATA_DIR || "./data"),
      databaseUrl: undefined,
    }).toString("hex")
  : "5e".repeat(32);
const origin = `http://127.0.0.1:${values.port}`;
const issuer = `${origin}${realmPath}`;
const folder = mkdtempSync(join(tmpdir(), "careid-soak-"));
const environment = {
  ...process.env,
  DATABASE_URL: values.synthetic ? await syntheticDatabase() : await freshDatabase(adminUrl, "careid_soak"),
  CAREID_MASTER_KEY: masterKey,
  LOG_LEVEL: "warn",
  // V8 settings for the nodes alone (docs/deployment.md, "Memory"), never for this load generator.
  ...(values["node-options"] ? { NODE_OPTIONS: values["node-options"] } : {}),
};
const deploy = (...args: string[]) =>
  execFileSync("bash", [join(repository, "deploy/nodes.sh"), ...args], {
    env: environment,
    stdio: "inherit",
  });

deploy("up", folder, "--nodes", String(nodes), "--port", values.port, "--demo");
try {
  await soak();
} finally {
  deploy("down", folder);
  rmSync(folder, { recursive: true, force: true });
}

async function soak(): Promise<void> {
  const server = { origin, issuer } as Cis2Server;
  const configuration = await demoClientConfiguration(server);
  const cim = cimApp(loadConfig({ CAREID_ISSUER: issuer }), true);
  const cimConfiguration = await demoClientConfiguration(
    server,
    client.ClientSecretPost(firstPartyClientSecret(Buffer.from(masterKey, "hex"), cim)),
    cim.clientId,
  );
  const managerToken = await accessTokenFor(server, "margaret.oconnell@nhs.net", {
    relyingParty: { configuration: cimConfiguration, redirectUri: `${origin}${cim.path}/callback` },
  });
  const apiKey = /API key \(shown once\): (\S+)/.exec(
    execFileSync(
      process.execPath,
      [join(repository, "src/main.ts"), "apps", "add", "--name", "soak", "--rate-limit", "100000"],
      {
        env: environment,
        encoding: "utf8",
      },
    ),
  )?.[1];
  if (!apiKey) throw new Error("no API key was printed");
  const practitioners = values.synthetic ? await sampleOfPeople(50_000) : demoUuids();
  const accessTokens: string[] = [];
  let written = 0;
  // Position names are unique per organisation, and --synthetic reuses its database run after run.
  const run = Date.now().toString(36);

  const operations: Record<string, { rate: number; run: (index: number) => Promise<void> }> = {
    "sign-in (whole journey)": {
      rate: Number(values["sign-ins"]),
      run: async () => {
        const journey = await signIn(server, configuration, {
          identifier: "tunde.adebayo@nhs.net",
          acr: "AAL1_USERPASS",
          chooseRole: (html) => /name="role" type="radio" value="(\d{12})"/.exec(html)?.[1],
        });
        const tokens = await exchange(configuration, journey);
        if (accessTokens.length < 200) accessTokens.push(tokens.access_token);
      },
    },
    userinfo: {
      rate: Number(values.userinfo),
      run: async (index) => {
        const token = accessTokens[index % Math.max(1, accessTokens.length)];
        if (!token) return;
        await expectStatus(
          fetch(configuration.serverMetadata().userinfo_endpoint as string, {
            headers: { authorization: `Bearer ${token}` },
          }),
          200,
        );
      },
    },
    "CIM write (position)": {
      rate: Number(values.writes),
      run: async () => {
        await expectStatus(
          fetch(`${origin}/cim/api/v1/organisations/RZZ/positions`, {
            method: "POST",
            headers: { authorization: `Bearer ${managerToken}`, "content-type": "application/json" },
            body: JSON.stringify({
              name: `Soak ward ${run}-${++written}`,
              accessProfiles: [{ jobRole: "R8001" }],
            }),
          }),
          201,
        );
      },
    },
    "FHIR Practitioner read": {
      rate: Number(values.reads),
      run: async (index) => {
        const uuid = practitioners[index % practitioners.length];
        await expectStatus(
          fetch(`${origin}/healthcare-worker/FHIR/R4/Practitioner/${uuid}`, {
            headers: { apikey: apiKey, accept: "application/fhir+json" },
          }),
          200,
        );
      },
    },
  };

  const seconds = Number(values.minutes) * 60;
  const rssAtStart = await afterWarmup();
  const memoryAtStart = await Promise.all(nodePorts().map(heapFigures));
  const results = await Promise.all(
    Object.entries(operations).map(([name, operation]) =>
      steady(name, operation.rate, seconds, operation.run),
    ),
  );
  const rssAtEnd = nodePids().map(residentKilobytes);
  const memoryAtEnd = await Promise.all(nodePorts().map(heapFigures));
  console.log(
    `\nsoak: ${values.minutes} min across ${nodes} node(s) behind HAProxy${values.synthetic ? ", synthetic directory" : ""}; load average at the end ${loadavg()
      .map((load) => load.toFixed(2))
      .join(" ")}`,
  );
  for (const result of results) console.log(result);
  rssAtEnd.forEach((end, index) => {
    const start = rssAtStart[index] ?? Number.NaN;
    console.log(
      `node ${index + 1}: RSS ${(start / 1024).toFixed(0)} MiB after warm-up, ${(end / 1024).toFixed(0)} MiB at the end`,
    );
    console.log(`  after warm-up: ${memoryAtStart[index]}\n  at the end:    ${memoryAtEnd[index]}`);
  });

  /** A minute of the same load first, so start-up allocation is not counted as growth. */
  async function afterWarmup(): Promise<number[]> {
    await Promise.all(
      Object.entries(operations).map(([name, operation]) => steady(name, operation.rate, 60, operation.run)),
    );
    return nodePids().map(residentKilobytes);
  }

  function demoUuids(): string[] {
    const users = JSON.parse(
      execFileSync(process.execPath, [join(repository, "src/main.ts"), "demo", "users", "--json"], {
        env: environment,
        encoding: "utf8",
      }),
    ) as { uuid: string }[];
    return users.map((user) => user.uuid);
  }
}

/** Starts `rate` operations a second for `seconds`, whatever the answers' pace (an open loop). */
async function steady(
  name: string,
  rate: number,
  seconds: number,
  run: (index: number) => Promise<void>,
): Promise<string> {
  const times: number[] = [];
  const failures = new Map<string, number>();
  const pending: Promise<void>[] = [];
  const total = Math.round(rate * seconds);
  const started = performance.now();
  for (let index = 0; index < total; index++) {
    const due = started + (index * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const begun = performance.now();
    pending.push(
      run(index).then(
        () => void times.push(performance.now() - begun),
        (error: Error) => void failures.set(error.message, (failures.get(error.message) ?? 0) + 1),
      ),
    );
  }
  await Promise.all(pending);
  const errors = [...failures.values()].reduce((sum, count) => sum + count, 0);
  const at = (fraction: number) => percentile(times, fraction).toFixed(0);
  const first = failures.size > 0 ? ` (first: ${[...failures.keys()][0]})` : "";
  return `${name.padEnd(26)} ${String(times.length).padStart(6)} ok ${String(errors).padStart(4)} errors${first}  p50 ${at(0.5)} ms  p99 ${at(0.99)} ms  max ${at(1)} ms`;
}

async function expectStatus(answer: Promise<Response>, status: number): Promise<void> {
  const response = await answer;
  await response.arrayBuffer();
  if (response.status !== status) throw new Error(`answered ${response.status}`);
}

/** Where the load balancer's database lives for --synthetic: careid_bench, checked to be seeded for the soak. */
async function syntheticDatabase(): Promise<string> {
  const target = new URL(adminUrl);
  target.pathname = "/careid_bench";
  const client = new pg.Client({ connectionString: target.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ people: number; demo: boolean }>(
      `SELECT (SELECT count(*)::int FROM people) AS people,
              EXISTS (SELECT 1 FROM oidc_clients WHERE client_id = '999999999999.apps.national') AS demo`,
    );
    const found = rows[0];
    if (!found?.demo)
      throw new Error("careid_bench has no demo directory: load it with npm run bench:seed -- --demo");
    console.log(`soak: careid_bench holds ${found.people.toLocaleString("en-GB")} people`);
  } finally {
    await client.end();
  }
  return target.toString();
}

async function sampleOfPeople(count: number): Promise<string[]> {
  const client = new pg.Client({ connectionString: environment.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ uuid: string }>(
      "SELECT uuid FROM people TABLESAMPLE SYSTEM (5) WHERE status = 'active' ORDER BY random() LIMIT $1",
      [count],
    );
    return rows.map((row) => row.uuid);
  } finally {
    await client.end();
  }
}

function nodePorts(): number[] {
  return Array.from({ length: nodes }, (_, index) => Number(values.port) + index + 1);
}

/** A node's own account of its memory (prom-client's default metrics), in MiB. */
async function heapFigures(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const mebibytes = (name: string) => {
    const value = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1];
    return value === undefined ? "?" : (Number(value) / 1048576).toFixed(0);
  };
  return `V8 heap used ${mebibytes("careid_nodejs_heap_size_used_bytes")} of ${mebibytes("careid_nodejs_heap_size_total_bytes")} MiB, external ${mebibytes("careid_nodejs_external_memory_bytes")} MiB`;
}

function nodePids(): number[] {
  return Array.from({ length: nodes }, (_, index) => index + 1).map((node) =>
    Number(readFileSync(join(folder, `node-${node}.pid`), "utf8").trim()),
  );
}

function residentKilobytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
}
