/**
 * LDAP search by uid, side by side: our server (`careid serve` on PostgreSQL) and OpenLDAP's
 * slapd holding the same tree exported with `careid directory export-ldif`, measured in one run
 * with one client (ldapts, several connections, each sending its next search when the last is
 * answered) for the same random people.
 *
 *   BENCH_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/careid_bench \
 *     npm run bench:ldap-search -- [--ldif tree.ldif] [--seconds 20] [--connections 8] [--only careid]
 *
 * Without --ldif the tree is exported first. Load the directory first with bench/seed-synthetic.ts.
 * `--only careid` skips slapd (to iterate on our server; the figure needs both).
 * `--socket DIR` connects our server to PostgreSQL through its Unix socket in DIR (Debian:
 * /var/run/postgresql) instead of BENCH_DATABASE_URL's TCP address, as PostgreSQL on the same
 * host would be reached. Debian's pg_hba.conf allows the socket by peer authentication only, so
 * the server then runs as the OS user of the database role (postgres), with a temporary data
 * directory and the master key of ./data (or CAREID_MASTER_KEY); the bench itself must run as root.
 * BENCH_SERVER_NODE_ARGS passes options to our server's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
 * For our server each round also reports PostgreSQL transactions per search (every statement
 * outside a transaction is one), from pg_stat_database.
 */
import { execFileSync, spawn } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { Client } from "ldapts";
import { loadMasterKey } from "../src/secrets/master-key.ts";
import { openStore } from "../src/store/database.ts";
import { startSlapd } from "../test/support/slapd.ts";

const { values } = parseArgs({
  options: {
    ldif: { type: "string" },
    seconds: { type: "string", default: "20" },
    connections: { type: "string", default: "8" },
    only: { type: "string" },
    socket: { type: "string" },
  },
});
const databaseUrl =
  process.env.BENCH_DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/careid_bench";
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const main = new URL("../src/main.ts", import.meta.url).pathname;

const servers = values.only ? [values.only] : ["careid", "slapd"];

const store = await openStore({ databaseUrl, poolSize: 2 });
const counts = await sql<{ people: number; positions: number }>`
  SELECT (SELECT count(*) FROM people)::int AS people, (SELECT count(*) FROM positions)::int AS positions`.execute(
  store.db,
);
console.log(`Directory: ${counts.rows[0]?.people} people, ${counts.rows[0]?.positions} positions`);
const sample = await sql<{ uuid: string }>`
  SELECT uuid FROM people TABLESAMPLE SYSTEM (2) WHERE status = 'active' ORDER BY random() LIMIT 20000`.execute(
  store.db,
);
const uuids = sample.rows.map((row) => row.uuid);

let ldif = values.ldif;
if (!ldif && servers.includes("slapd")) {
  ldif = "/tmp/careid-bench-tree.ldif";
  const started = performance.now();
  execFileSync(process.execPath, [main, "directory", "export-ldif", "--file", ldif], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  console.log(`export-ldif: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const slapd = servers.includes("slapd") && ldif ? await startSlapd(ldif, { ldifIsPath: true }) : undefined;
if (slapd) console.log(`slapadd -q: ${slapd.loadSeconds.toFixed(1)} s`);
const ours = await startOurs();

try {
  // Alternate rounds so neither server gains from running while the machine is quieter.
  const results: Record<string, Round[]> = { careid: [], slapd: [] };
  for (let round = 0; round < 2; round++) {
    const before = await transactions();
    const cpuBefore = await serverCpu(ours.pid);
    const careid = await measure(ours.url);
    const cpuAfter = await serverCpu(ours.pid);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // backends report their counts
    const perSearch = (await transactions()) - before - 1;
    const cpu = (key: "node" | "postgres") =>
      (((cpuAfter[key] - (cpuBefore[key] ?? 0)) / careid.searches) * 1000).toFixed(0);
    console.log(
      `careid round ${round + 1}: ${careid.perSecond.toFixed(0)} searches/s, ${(perSearch / careid.searches).toFixed(2)} PostgreSQL transactions and CPU ${cpu("node")} µs (server) + ${cpu("postgres")} µs (PostgreSQL backends) per search`,
    );
    results.careid?.push(careid);
    if (slapd) results.slapd?.push(await measure(slapd.url));
  }
  for (const [name, rounds] of Object.entries(results)) {
    if (rounds.length === 0) continue;
    const best = rounds.reduce((a, b) => (a.perSecond > b.perSecond ? a : b));
    console.log(
      `${name.padEnd(7)} ${rounds.map((r) => r.perSecond.toFixed(0)).join(" / ")} searches/s; best round p50 ${best.p50.toFixed(2)} ms, p99 ${best.p99.toFixed(2)} ms`,
    );
  }
  const best = (name: string) => Math.max(...(results[name] ?? []).map((round) => round.perSecond));
  if (slapd) console.log(`careid / slapd throughput: ${(best("careid") / best("slapd")).toFixed(2)}`);
} finally {
  await slapd?.stop();
  ours.stop();
  await store.close();
}

type Round = { perSecond: number; searches: number; p50: number; p99: number };

/** CPU milliseconds used so far by our server process and by its PostgreSQL backends. */
async function serverCpu(pid: number | undefined): Promise<{ node: number; postgres: number }> {
  const backends = await sql<{ pid: number }>`
    SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`.execute(
    store.db,
  );
  const ticks = (process: number | undefined) => {
    try {
      const fields = readFileSync(`/proc/${process}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    } catch {
      return 0;
    }
  };
  return { node: ticks(pid), postgres: backends.rows.reduce((sum, row) => sum + ticks(row.pid), 0) };
}

async function transactions(): Promise<number> {
  const result = await sql<{ commits: number }>`
    SELECT xact_commit::int AS commits FROM pg_stat_database WHERE datname = current_database()`.execute(
    store.db,
  );
  return result.rows[0]?.commits ?? 0;
}

async function measure(url: string): Promise<Round> {
  const clients = Array.from({ length: connections }, () => new Client({ url, timeout: 10_000 }));
  // Warm up: connections, and the servers' caches for a first pass over part of the sample.
  await Promise.all(clients.map((client, index) => search(client, uuids[index] ?? "")));
  const times: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < deadline) {
        const uuid = uuids[next++ % uuids.length] ?? "";
        const started = performance.now();
        const found = await search(client, uuid);
        if (found !== 1) throw new Error(`${url}: uid=${uuid} found ${found} entries`);
        times.push(performance.now() - started);
      }
    }),
  );
  await Promise.all(clients.map((client) => client.unbind()));
  times.sort((a, b) => a - b);
  return {
    perSecond: times.length / seconds,
    searches: times.length,
    p50: times[Math.floor(times.length * 0.5)] ?? 0,
    p99: times[Math.floor(times.length * 0.99)] ?? 0,
  };
}

async function search(client: Client, uuid: string): Promise<number> {
  const { searchEntries } = await client.search("o=nhs", { scope: "sub", filter: `(uid=${uuid})` });
  return searchEntries.length;
}

async function startOurs(): Promise<{ url: string; pid: number | undefined; stop(): void }> {
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PORT: "0",
    CAREID_LDAP_PORT: "0",
    LOG_LEVEL: "warn",
  };
  // On PostgreSQL the server needs the key its secrets were sealed with: ./data's (or the one set).
  env.CAREID_MASTER_KEY ??= loadMasterKey({
    masterKey: undefined,
    dataDir: resolve(process.env.CAREID_DATA_DIR || "./data"),
    databaseUrl: undefined,
  }).toString("base64");
  let user: { uid: number; gid: number } | undefined;
  let dataDir: string | undefined;
  if (values.socket) {
    // Same database and role, reached through the socket; peer authentication needs the role's OS user.
    const url = new URL(databaseUrl);
    const role = decodeURIComponent(url.username) || "postgres";
    const id = (flag: string) => Number(execFileSync("id", [flag, role], { encoding: "utf8" }).trim());
    user = { uid: id("-u"), gid: id("-g") };
    // The host query parameter overrides the URL's host (pg), and keeps the URL valid for the config check.
    env.DATABASE_URL = `postgres://${encodeURIComponent(role)}@localhost${url.pathname}?host=${encodeURIComponent(values.socket)}`;
    dataDir = mkdtempSync(join(tmpdir(), "careid-bench-"));
    chownSync(dataDir, user.uid, user.gid);
    env.CAREID_DATA_DIR = dataDir;
    console.log(`careid server: PostgreSQL through ${values.socket} as OS user ${role}`);
  }
  const child = spawn(process.execPath, [...nodeArgs, main, "serve"], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
    ...user,
  });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const match = /LDAP directory\s+(ldap:\/\/[^/\s]+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`careid serve exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    stop: () => {
      child.kill("SIGTERM");
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
