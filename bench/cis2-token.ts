/**
 * CIS2 token endpoint: authorization-code exchanges per second with private_key_jwt client
 * authentication and RS256-signed ID tokens, against the service (`careid serve` as its own
 * process on a fresh PostgreSQL database) and, in the same run with the same generator, against
 * two peers (bench/cis2-bare-provider.ts): oidc-provider with the conventional PostgreSQL adapter
 * (bench/oidc-postgres-adapter.ts) on a fresh database of the same PostgreSQL, the fair yardstick,
 * and oidc-provider with its in-memory adapter, the ceiling.
 *
 *   BENCH_ADMIN_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npm run bench:cis2-token -- \
 *     [--codes 20000] [--warmup 3000] [--concurrency 32]
 *
 * Codes are minted ahead through the providers' own models (a Session and a Grant of its own
 * for each, shaped as the sign-in journey leaves them) and client assertions are signed ahead
 * (RS256, a fresh jti each), so the generator only sends requests and reads answers.
 */
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { positionsOfPerson } from "../src/rbac/positions.ts";
import {
  type Account,
  analyzeDatabase,
  backendPids,
  benchAdminUrl,
  benchClientId,
  benchRedirectUri,
  codeVerifier,
  cpuSeconds,
  fire,
  freshDatabase,
  type LoadResult,
  mintCodes,
  percentile,
  prepareService,
  signAssertions,
  startProcess,
  stopProcess,
} from "./cis2-support.ts";

const { values } = parseArgs({
  options: {
    codes: { type: "string", default: "20000" },
    warmup: { type: "string", default: "3000" },
    concurrency: { type: "string", default: "32" },
    port: { type: "string", default: "3921" },
    "bare-port": { type: "string", default: "3922" },
    "peer-port": { type: "string", default: "3923" },
  },
});
const adminUrl = benchAdminUrl();
const measured = Number(values.codes);
const warmup = Number(values.warmup);
const concurrency = Number(values.concurrency);
const total = warmup + measured + 1;

// The service's database: migrated, the demo directory, and the benchmark relying party.
const { databaseUrl, issuer, environment, store, lists, cis2, key } = await prepareService({
  adminUrl,
  database: "careid_bench_cis2",
  port: values.port,
  poolSize: 8,
});
const people = await store.db.selectFrom("people").select("uuid").where("status", "=", "active").execute();
const accounts: Account[] = [];
for (const { uuid } of people) {
  const [position] = await positionsOfPerson(store.db, lists, uuid);
  if (position) accounts.push({ uuid, roleProfileId: position.roleProfileId });
}
console.log(`Service database: ${accounts.length} demo people with positions, client ${benchClientId}`);

const server = await startProcess(
  ["src/main.ts", "serve"],
  environment,
  `${issuer}/.well-known/openid-configuration`,
);
let started = performance.now();
const ourCodes = await mintCodes(cis2.host.provider(), accounts, total, {
  onSession: async (sessionUid, account) => {
    await store.db
      .insertInto("cis2_role_selections")
      .values({
        session_uid: sessionUid,
        uuid: account.uuid,
        role_profile_id: account.roleProfileId as string,
      })
      .execute();
  },
});
console.log(`Minted ${total} codes in PostgreSQL in ${((performance.now() - started) / 1000).toFixed(1)} s`);

/** A peer oidc-provider as its own process, minting the same number of codes in its own store. */
async function startPeer(port: string, extraEnvironment: Record<string, string>) {
  const peerIssuer = `http://127.0.0.1:${port}`;
  const codesFile = join(tmpdir(), `careid-bench-peer-codes-${process.pid}-${port}.json`);
  const child = await startProcess(
    ["bench/cis2-bare-provider.ts", "--port", port, "--codes", String(total), "--out", codesFile],
    { BENCH_CLIENT_JWK: JSON.stringify(key.publicJwk), NODE_ENV: "production", ...extraEnvironment },
    `${peerIssuer}/.well-known/openid-configuration`,
  );
  const codes = JSON.parse(readFileSync(codesFile, "utf8")) as string[];
  rmSync(codesFile);
  return { issuer: peerIssuer, child, codes, tokenUrl: `${peerIssuer}/token`, jwksUrl: `${peerIssuer}/jwks` };
}
started = performance.now();
const bare = await startPeer(values["bare-port"], {});
const peerDatabaseUrl = await freshDatabase(adminUrl, "careid_bench_peer");
const peer = await startPeer(values["peer-port"], { BENCH_PEER_DATABASE_URL: peerDatabaseUrl });
console.log(
  `Minted ${2 * total} codes in the peers in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
// Both databases as a deployment that has been running has them: autovacuum analyzes a table
// after its first thousands of rows, but a minute may pass before it does, longer than a run.
// Without statistics PostgreSQL plans the service's code lookup with a scan of every session
// (and keeps that plan for the prepared statement), which no running deployment sees.
await analyzeDatabase(databaseUrl);
await analyzeDatabase(peerDatabaseUrl);

started = performance.now();
const bodiesFor = async (audience: string, codes: string[]) => {
  const assertions = await signAssertions(key, audience, codes.length);
  return codes.map((code, index) =>
    new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: benchRedirectUri,
      code_verifier: codeVerifier,
      client_id: benchClientId,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertions[index] as string,
    }).toString(),
  );
};
const ourTokenUrl = `${issuer}/access_token`;
const ourBodies = await bodiesFor(ourTokenUrl, ourCodes);
const bareBodies = await bodiesFor(bare.tokenUrl, bare.codes);
const peerBodies = await bodiesFor(peer.tokenUrl, peer.codes);
console.log(
  `Signed ${3 * total} client assertions in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);

/** One exchange checked in full: 200, an ID token that verifies against the JWKS, the claims. */
async function sanity(label: string, tokenUrl: string, jwksUrl: string, body: string, expectIss: string) {
  const response = await fetch(tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  const answer = (await response.json()) as { id_token?: string; error_description?: string };
  if (!response.ok || !answer.id_token)
    throw new Error(`${label}: ${response.status} ${JSON.stringify(answer)}`);
  const { payload, protectedHeader } = await jwtVerify(
    answer.id_token,
    createRemoteJWKSet(new URL(jwksUrl)),
    {
      issuer: expectIss,
      audience: benchClientId,
    },
  );
  console.log(`${label}: ID token ${protectedHeader.alg} claims ${Object.keys(payload).sort().join(" ")}`);
}
await sanity("service", ourTokenUrl, `${issuer}/connect/jwk_uri`, ourBodies[0] as string, issuer);
await sanity("bare", bare.tokenUrl, bare.jwksUrl, bareBodies[0] as string, bare.issuer);
await sanity("peer", peer.tokenUrl, peer.jwksUrl, peerBodies[0] as string, peer.issuer);

const hasIdToken = (text: string) => text.includes('"id_token"');
const run = (url: string, bodies: string[]) => fire(url, bodies, concurrency, hasIdToken);
const line = (label: string, result: LoadResult) =>
  `${label.padEnd(34)} ${result.perSecond.toFixed(0).padStart(6)} exchanges/s  p50 ${percentile(result.latencies, 0.5).toFixed(1)} ms  p99 ${percentile(result.latencies, 0.99).toFixed(1)} ms  (${result.completed} in ${result.seconds.toFixed(1)} s, ${result.failed} failed${result.firstFailure ? `: ${result.firstFailure}` : ""})`;

// Warm both (JIT, pools, PostgreSQL's caches) on the first codes, then measure the rest.
console.log(line("warm-up: service", await run(ourTokenUrl, ourBodies.slice(1, warmup + 1))));
console.log(line("warm-up: bare oidc-provider", await run(bare.tokenUrl, bareBodies.slice(1, warmup + 1))));
console.log(
  line("warm-up: oidc-provider + PostgreSQL", await run(peer.tokenUrl, peerBodies.slice(1, warmup + 1))),
);
// CPU spent per exchange by the server process and by PostgreSQL (the backends of the service's
// database), to see where the two cores go.
cis2.stop();
await store.close();
const serverPids = [server.pid as number];

/**
 * One measured run, with the CPU its server process and its PostgreSQL backends spent. A pool
 * closes idle connections and opens new ones under load, so the backends are listed at the end
 * too: one that began during the run is charged all its CPU.
 */
async function measure(url: string, bodies: string[], processPids: number[], databaseUrl?: string) {
  const backendsBefore = databaseUrl ? await backendPids(databaseUrl) : [];
  const before = { process: cpuSeconds(processPids), postgres: cpuSeconds(backendsBefore) };
  const result = await run(url, bodies.slice(warmup + 1));
  const backendsAfter = databaseUrl ? await backendPids(databaseUrl) : [];
  const began = backendsAfter.filter((pid) => !backendsBefore.includes(pid));
  return {
    result,
    processCpu: cpuSeconds(processPids) - before.process,
    // A backend that ended during the run keeps its CPU out of the sum: a pool under load keeps its own.
    postgresCpu: cpuSeconds(backendsBefore) - before.postgres + cpuSeconds(began),
  };
}
// The fair peer first, then the service, then the ceiling: all on the same warmed machine.
const peerFirst = await measure(peer.tokenUrl, peerBodies, [peer.child.pid as number], peerDatabaseUrl);
const ours = await measure(ourTokenUrl, ourBodies, serverPids, databaseUrl);
const theirs = await measure(bare.tokenUrl, bareBodies, [bare.child.pid as number]);
const perExchange = (seconds: number) => `${((seconds * 1000) / measured).toFixed(2)} ms`;
console.log(`\nToken endpoint, private_key_jwt, ${concurrency} in flight, ${measured} exchanges each:`);
console.log(line("service (PostgreSQL)", ours.result));
console.log(line("oidc-provider + PostgreSQL adapter", peerFirst.result));
console.log(line("bare oidc-provider (in memory)", theirs.result));
console.log(
  `ratio service / oidc-provider + PostgreSQL: ${(ours.result.perSecond / peerFirst.result.perSecond).toFixed(2)}`,
);
console.log(`ratio service / bare: ${(ours.result.perSecond / theirs.result.perSecond).toFixed(2)}`);
console.log(
  `CPU per exchange: service ${perExchange(ours.processCpu)} + PostgreSQL ${perExchange(ours.postgresCpu)}; ` +
    `peer ${perExchange(peerFirst.processCpu)} + PostgreSQL ${perExchange(peerFirst.postgresCpu)}; bare ${perExchange(theirs.processCpu)}`,
);

await stopProcess(server);
await stopProcess(bare.child);
await stopProcess(peer.child);
