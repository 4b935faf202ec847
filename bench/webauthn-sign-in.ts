/**
 * CIS2 sign-ins with a security key and with the authenticator app, whole, over PostgreSQL:
 * authorize, the sign-in pages, the WebAuthn assertion (or password and TOTP code), role
 * selection, the code exchanged by openid-client with private_key_jwt, then UserInfo, against
 * `careid serve` on a fresh database (bench/webauthn-workload.ts).
 *
 *   BENCH_ADMIN_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npm run bench:webauthn-sign-in -- \
 *     [--users 256] [--sign-ins 3000] [--warmup 300] [--concurrency 32] \
 *     [--totp-users 512] [--totp-sign-ins 600] [--attestation full|packed|none] \
 *     [--baseline DIR] [--rounds 2]
 *
 * With `--baseline DIR`, a second checkout (an earlier commit exported with `git archive`, with
 * this bench folder copied in and node_modules linked) is prepared and served beside this one on
 * its own database, and security-key rounds alternate between the two (baseline first), so both
 * are measured in the same run on the same machine. Each round reports the CPU per sign-in of
 * the service and of its PostgreSQL backends (from /proc), and the statements (from
 * pg_stat_statements, where PostgreSQL loads it) and commits (pg_stat_database) per sign-in.
 *
 * Each concurrent sign-in works through its own share of the users, so no two sign-ins of one
 * person overlap: their signature counters rise in order and their TOTP codes are each used once.
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { passwordHashParameters } from "../src/authenticators/password/passwords.ts";

import { backendPids, benchAdminUrl, cpuSeconds, percentile } from "./cis2-support.ts";
import { prepareWorkload, type Workload } from "./webauthn-workload.ts";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "256" },
    "sign-ins": { type: "string", default: "3000" },
    warmup: { type: "string", default: "300" },
    concurrency: { type: "string", default: "32" },
    "totp-users": { type: "string", default: "512" },
    "totp-sign-ins": { type: "string", default: "600" },
    attestation: { type: "string", default: "full" },
    port: { type: "string", default: "3924" },
    baseline: { type: "string" },
    rounds: { type: "string", default: "2" },
  },
});
const adminUrl = benchAdminUrl();
const concurrency = Number(values.concurrency);
const keyUsers = Number(values.users);
const appUsers = Number(values["totp-users"]);
if (keyUsers < concurrency || (appUsers > 0 && appUsers < concurrency))
  throw new Error("give every concurrent sign-in users of its own: --users and --totp-users ≥ --concurrency");

const sizes = { adminUrl, keyUsers, appUsers, attestation: values.attestation, concurrency };
const workloads: { label: string; workload: Workload }[] = [];
if (values.baseline) {
  const module = (await import(
    resolve(values.baseline, "bench/webauthn-workload.ts")
  )) as typeof import("./webauthn-workload.ts");
  const workload = await module.prepareWorkload({
    ...sizes,
    appUsers: 0,
    database: "careid_bench_webauthn_baseline",
    port: String(Number(values.port) + 1),
  });
  workloads.push({ label: "baseline", workload });
}
workloads.push({
  label: values.baseline ? "this checkout" : "service",
  workload: await prepareWorkload({ ...sizes, database: "careid_bench_webauthn", port: values.port }),
});

type Run = { times: number[]; failed: number; firstFailure?: string; seconds: number; perSecond: number };

/** `count` sign-ins, `concurrency` at once; sign-in number i of worker w uses that worker's own users. */
async function run(
  workload: Workload,
  people: string[],
  count: number,
  acr: string,
  method: string,
): Promise<Run> {
  const times: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const begun = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      const own = people.filter((_, index) => index % concurrency === worker);
      for (let turn = 0; next < count; turn++) {
        const uuid = own[turn % own.length] as string;
        if (!workload.usable(uuid, method)) {
          // Every code this user could give now is spent: wait for the next time step.
          if (own.every((other) => !workload.usable(other, method)))
            await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        next++;
        const sent = performance.now();
        try {
          await workload.signIn(uuid, acr, method);
          times.push(performance.now() - sent);
        } catch (error) {
          failed++;
          firstFailure ??= (error as Error).message;
        }
      }
    }),
  );
  const seconds = (performance.now() - begun) / 1000;
  return { times, failed, firstFailure, seconds, perSecond: times.length / seconds };
}

const report = (label: string, result: Run) =>
  `${label.padEnd(34)} ${result.perSecond.toFixed(1).padStart(6)} sign-ins/s  p50 ${percentile(result.times, 0.5).toFixed(0)} ms  p99 ${percentile(result.times, 0.99).toFixed(0)} ms  max ${percentile(result.times, 1).toFixed(0)} ms  (${result.times.length} in ${result.seconds.toFixed(1)} s, ${result.failed} failed${result.firstFailure ? `: ${result.firstFailure}` : ""})`;

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const statementsCounted = await admin
  .query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
  .then(() => admin.query("SELECT 1 FROM pg_stat_statements LIMIT 1"))
  .then(
    () => true,
    () => false,
  );

/** What PostgreSQL has counted for a database: statements other than BEGIN/COMMIT, and commits. */
async function databaseCounts(databaseUrl: string): Promise<{ statements: number; commits: number }> {
  const database = new URL(databaseUrl).pathname.slice(1);
  const commits = await admin.query<{ commits: string }>(
    "SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = $1",
    [database],
  );
  const statements = statementsCounted
    ? await admin.query<{ statements: string }>(
        `SELECT coalesce(sum(calls), 0) AS statements FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
         WHERE d.datname = $1 AND upper(s.query) NOT IN ('BEGIN', 'COMMIT', 'ROLLBACK')`,
        [database],
      )
    : { rows: [{ statements: "NaN" }] };
  return { statements: Number(statements.rows[0]?.statements), commits: Number(commits.rows[0]?.commits) };
}

/** CPU seconds of a database's backends since `since`, counting backends born meanwhile whole. */
async function backendCpu(databaseUrl: string, since: Map<number, number>): Promise<number> {
  let seconds = 0;
  const pids = new Set([...since.keys(), ...(await backendPids(databaseUrl))]);
  for (const pid of pids) seconds += cpuSeconds([pid]) - (since.get(pid) ?? 0);
  return seconds;
}

type Measured = {
  label: string;
  run: Run;
  count: number;
  service: number;
  postgres: number;
  generator: number;
};
const measuredRounds: Measured[] = [];

/**
 * One measured round. PostgreSQL flushes a backend's counters within a second under load and
 * within ten when idle, so a round's commits are read when its service is idle again: at the
 * start of its next round, or after a pause at the end.
 */
async function measured(
  label: string,
  workload: Workload,
  people: string[],
  count: number,
  acr: string,
  method: string,
) {
  const backends = new Map<number, number>();
  for (const pid of await backendPids(workload.databaseUrl)) backends.set(pid, cpuSeconds([pid]));
  const before = { server: cpuSeconds([workload.serverPid]), me: process.cpuUsage() };
  const result = await run(workload, people, count, acr, method);
  const generator = process.cpuUsage(before.me);
  const round = {
    label,
    run: result,
    count,
    service: cpuSeconds([workload.serverPid]) - before.server,
    postgres: await backendCpu(workload.databaseUrl, backends),
    generator: (generator.user + generator.system) / 1e6,
  };
  measuredRounds.push(round);
  const perSignIn = (seconds: number) => `${((seconds * 1000) / count).toFixed(1)} ms`;
  console.log(report(label, result));
  console.log(
    `  CPU per sign-in: service ${perSignIn(round.service)} + PostgreSQL ${perSignIn(round.postgres)}; browser and relying party ${perSignIn(round.generator)}`,
  );
  return round;
}

console.log(`load average before: ${execFileSync("uptime").toString().trim()}`);
for (const { label, workload } of workloads)
  console.log(
    report(
      `warm-up, ${label}`,
      await run(workload, workload.keyPeople, Number(values.warmup), "AAL3_FIDO2", "FIDO2"),
    ),
  );
const counted = new Map<Workload, { statements: number; commits: number; signIns: number }[]>();
await new Promise((resolve) => setTimeout(resolve, 11_000));
for (let round = 1; round <= Number(values.rounds); round++)
  for (const { label, workload } of workloads) {
    const counts = await databaseCounts(workload.databaseUrl);
    counted.set(workload, [...(counted.get(workload) ?? []), { ...counts, signIns: 0 }]);
    const signIns = Number(values["sign-ins"]);
    await measured(
      `security key, ${label}, round ${round}`,
      workload,
      workload.keyPeople,
      signIns,
      "AAL3_FIDO2",
      "FIDO2",
    );
    (counted.get(workload)?.at(-1) as { signIns: number }).signIns = signIns;
  }
await new Promise((resolve) => setTimeout(resolve, 11_000));
for (const { label, workload } of workloads) {
  const snapshots = [
    ...(counted.get(workload) ?? []),
    { ...(await databaseCounts(workload.databaseUrl)), signIns: 0 },
  ];
  const perRound = snapshots.slice(0, -1).map((snapshot, index) => {
    const next = snapshots[index + 1] as typeof snapshot;
    // The next snapshot of a service is taken before its next round: nothing ran between.
    return `${((next.statements - snapshot.statements) / snapshot.signIns).toFixed(1)} statements, ${((next.commits - snapshot.commits) / snapshot.signIns).toFixed(2)} commits`;
  });
  console.log(`${label}: per sign-in, by round: ${perRound.join("; ")}`);
}
if (workloads.length === 2) {
  const cpu = (label: string) =>
    Math.min(
      ...measuredRounds
        .filter((round) => round.label.includes(label))
        .map((round) => ((round.service + round.postgres) * 1000) / round.count),
    );
  const [baseline, current] = workloads.map(({ label }) => cpu(`, ${label},`)) as [number, number];
  console.log(
    `service + PostgreSQL CPU per sign-in, best round: baseline ${baseline.toFixed(1)} ms, this checkout ${current.toFixed(1)} ms: ${(current / baseline).toFixed(2)} of the baseline`,
  );
}
const current = workloads.at(-1)?.workload as Workload;
if (appUsers > 0)
  await measured(
    `app (Argon2id m=${passwordHashParameters.memoryCost} KiB t=${passwordHashParameters.timeCost} p=${passwordHashParameters.parallelism} + TOTP), ${concurrency} at once`,
    current,
    current.appPeople,
    Number(values["totp-sign-ins"]),
    "AAL2_TOTP",
    "TOTP",
  );
console.log(`load average after: ${execFileSync("uptime").toString().trim()}`);
await admin.end();
for (const { workload } of workloads) await workload.stop();
