/**
 * CIS2 full sign-in: authorize, sign-in page, identify, password (Argon2id), role selection,
 * token (private_key_jwt) and UserInfo, driven over HTTP as a browser and a relying party would
 * (the journey of test/cis2/journey.ts, openid-client as the relying party), with several users
 * signing in at once against `careid serve` on a fresh PostgreSQL database. This is the baseline
 * the authenticator issue must beat.
 *
 *   BENCH_ADMIN_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npm run bench:cis2-sign-in -- \
 *     [--sign-ins 600] [--warmup 60] [--users 8]
 */
import { parseArgs } from "node:util";
import * as client from "openid-client";
import { demoUsers } from "../src/seed/demo-users.ts";
import { exchange, signIn } from "../test/cis2/journey.ts";
import { Browser } from "../test/support/browser.ts";
import type { Cis2Server } from "../test/support/cis2-server.ts";
import {
  backendPids,
  benchAdminUrl,
  benchRelyingParty,
  benchScope,
  cpuSeconds,
  prepareService,
  reportSignIns,
  runSignIns,
  startProcess,
  stopProcess,
  workstationAddress,
} from "./cis2-support.ts";

const { values } = parseArgs({
  options: {
    "sign-ins": { type: "string", default: "600" },
    warmup: { type: "string", default: "60" },
    users: { type: "string", default: "8" },
    port: { type: "string", default: "3923" },
  },
});
const adminUrl = benchAdminUrl();

const { databaseUrl, issuer, environment, store, lists, cis2, key } = await prepareService({
  adminUrl,
  database: "careid_bench_cis2_sign_in",
  port: values.port,
  poolSize: 2,
  extraEnvironment: { CAREID_DEV_LOGIN: "true" },
});
const origin = `http://127.0.0.1:${values.port}`;
const people = (await demoUsers(store.db, lists)).filter((user) => user.email && user.positions.length > 0);
cis2.stop();
await store.close();
const roleCounts = people.map((user) => user.positions.length);
console.log(
  `${people.length} demo users with a password and a position (${roleCounts.filter((count) => count === 1).length} with one role, ${roleCounts.filter((count) => count > 1).length} choosing from 2 to ${Math.max(...roleCounts)})`,
);

const server = await startProcess(
  ["src/main.ts", "serve"],
  environment,
  `${issuer}/.well-known/openid-configuration`,
);
const configuration = await benchRelyingParty(issuer, key);
const target = { origin } as Cis2Server;

/** One person's whole sign-in, checked: an ID token with the role chosen, and their UserInfo. */
async function oneSignIn(index: number): Promise<void> {
  const person = people[index % people.length] as (typeof people)[number];
  const journey = await signIn(target, configuration, {
    identifier: person.email as string,
    scope: benchScope,
    acr: "AAL1_USERPASS",
    chooseRole: (html) => /name="role"[^>]*value="([^"]+)"/.exec(html)?.[1],
    browser: new Browser({ headers: workstationAddress(person.email as string) }),
  });
  const tokens = await exchange(configuration, journey);
  const claims = tokens.claims();
  if (!claims?.selected_roleid) throw new Error(`no role selected for ${person.email}`);
  const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
  if (userinfo.selected_roleid !== claims.selected_roleid) throw new Error("UserInfo disagrees");
}

const run = (count: number, users: number) => runSignIns(count, users, oneSignIn);
const users = Number(values.users);

console.log(reportSignIns("warm-up", await run(Number(values.warmup), users)));
console.log(reportSignIns("one user at a time", await run(Math.min(100, Number(values["sign-ins"])), 1)));
const count = Number(values["sign-ins"]);
const pids = { server: [server.pid as number], postgres: await backendPids(databaseUrl) };
const before = {
  server: cpuSeconds(pids.server),
  postgres: cpuSeconds(pids.postgres),
  me: process.cpuUsage(),
};
console.log(reportSignIns(`${users} users at once`, await run(count, users)));
const generator = process.cpuUsage(before.me);
const perSignIn = (seconds: number) => `${((seconds * 1000) / count).toFixed(1)} ms`;
console.log(
  `CPU per sign-in: service ${perSignIn(cpuSeconds(pids.server) - before.server)} + PostgreSQL ${perSignIn(cpuSeconds(pids.postgres) - before.postgres)}; browser and relying party ${perSignIn((generator.user + generator.system) / 1e6)}`,
);
await stopProcess(server);
