/**
 * CIS2 sign-ins with a security key and with the authenticator app, whole, over PostgreSQL:
 * authorize, the sign-in pages, the WebAuthn assertion (or password and TOTP code), role
 * selection, the code exchanged by openid-client with private_key_jwt, then UserInfo, against
 * `careid serve` on a fresh database. Each user's security key is a software authenticator
 * (bench/software-authenticator.ts) enrolled through a real enrolment link; each user's app
 * secret is read from the enrolment page as a person would scan it.
 *
 *   BENCH_ADMIN_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npm run bench:webauthn-sign-in -- \
 *     [--users 256] [--sign-ins 3000] [--warmup 300] [--concurrency 32] \
 *     [--totp-users 512] [--totp-sign-ins 600] [--attestation full|packed|none]
 *
 * The users are synthetic people (one or two positions each, so some choose a role). Each
 * concurrent sign-in works through its own share of the users, so no two sign-ins of one person
 * overlap: their signature counters rise in order and their TOTP codes are each used once.
 */
import { execFileSync } from "node:child_process";
import { KeyObject } from "node:crypto";
import http from "node:http";
import { parseArgs } from "node:util";
import * as client from "openid-client";
import { operatorActor } from "../src/audit/actor.ts";
import { issueEnrolmentLink } from "../src/authenticators/enrolment/links.ts";
import { passwordHashParameters, setPassword } from "../src/authenticators/password/passwords.ts";
import { codeAt, timeStep } from "../src/authenticators/totp/codes.ts";
import { seedSynthetic } from "../src/seed/synthetic.ts";
import { attestationBatch, writeFiles } from "../test/support/attestation-ca.ts";
import {
  backendPids,
  benchAdminUrl,
  benchClientId,
  benchRedirectUri,
  benchScope,
  cpuSeconds,
  percentile,
  prepareService,
  startProcess,
  stopProcess,
  workstationAddress,
} from "./cis2-support.ts";
import { formAction, HttpBrowser, type Page, unescapeHtml } from "./http-browser.ts";
import { SoftwareAuthenticator } from "./software-authenticator.ts";

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
  },
});
const adminUrl = benchAdminUrl();
const concurrency = Number(values.concurrency);
const keyUsers = Number(values.users);
const appUsers = Number(values["totp-users"]);
const password = "benchmark password for synthetic people";
if (keyUsers < concurrency || (appUsers > 0 && appUsers < concurrency))
  throw new Error("give every concurrent sign-in users of its own: --users and --totp-users ≥ --concurrency");

const { databaseUrl, issuer, environment, store, cis2, key } = await prepareService({
  adminUrl,
  database: "careid_bench_webauthn",
  port: values.port,
  poolSize: 8,
});
await seedSynthetic(store, operatorActor(), { people: keyUsers + appUsers, positionsPerPerson: 1.5 });
const synthetic = await store.db
  .selectFrom("people")
  .select("uuid")
  .where("ni_number", "like", "S%")
  .where("status", "=", "active")
  .orderBy("uuid")
  .execute();
const keyPeople = synthetic.slice(0, keyUsers).map((row) => row.uuid);
const appPeople = synthetic.slice(keyUsers, keyUsers + appUsers).map((row) => row.uuid);
await pool(appPeople, 4, (uuid) => setPassword(store.db, operatorActor(), uuid, password));

// A security key is FIDO2 (AAL3) only with an attestation chaining to a trusted root: the
// benchmark's keys carry a batch certificate from a root the service is told to trust.
const batch = await attestationBatch();
const attestation =
  values.attestation === "full"
    ? {
        x5c: batch.batch.chain.slice(0, -1).map((certificate) => Buffer.from(certificate.rawData)),
        privateKey: KeyObject.from(batch.batch.keys.privateKey),
      }
    : values.attestation === "packed"
      ? "packed"
      : "none";
environment.CAREID_WEBAUTHN_ATTESTATION_ROOTS = writeFiles({
  "attestation-root.pem": batch.root.certificate.toString("pem"),
})["attestation-root.pem"] as string;
const origin = `http://127.0.0.1:${values.port}`;
const server = await startProcess(
  ["src/main.ts", "serve"],
  environment,
  `${issuer}/.well-known/openid-configuration`,
);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * 2 });

// Enrolment through the enrolment-link pages, as each person would do it.
const authenticators = new Map<string, SoftwareAuthenticator>();
const appSecrets = new Map<string, { secret: string; lastStep: number }>();
let started = performance.now();
await pool(keyPeople, 8, async (uuid) => {
  const { token } = await issueEnrolmentLink(store.db, operatorActor(), { uuid });
  const browser = new HttpBrowser(origin, agent);
  const page = await browser.open(`${origin}/authenticators/enrol/${token}/security-key`);
  const options = JSON.parse(unescapeHtml(/data-webauthn-options="([^"]+)"/.exec(page.body)?.[1] ?? ""));
  const authenticator = new SoftwareAuthenticator(origin, attestation);
  const registered = await browser.submit(formAction(page), {
    response: JSON.stringify(authenticator.create(options)),
  });
  if (!registered.body.includes("Your security key is registered"))
    throw new Error(`enrolment refused for ${uuid}: ${registered.status} ${registered.body.slice(0, 300)}`);
  authenticators.set(uuid, authenticator);
});
await pool(appPeople, 8, async (uuid) => {
  const { token } = await issueEnrolmentLink(store.db, operatorActor(), { uuid });
  const browser = new HttpBrowser(origin, agent);
  const page = await browser.open(`${origin}/authenticators/enrol/${token}/app`);
  const secret = /data-secret="([A-Z2-7]+)"/.exec(page.body)?.[1] ?? "";
  const now = new Date();
  const confirmed = await browser.submit(formAction(page), { code: codeAt(secret, now) });
  if (!confirmed.body.includes("Your authenticator app is set up"))
    throw new Error(`app enrolment refused for ${uuid}: ${confirmed.status}`);
  appSecrets.set(uuid, { secret, lastStep: timeStep(now) });
});
console.log(
  `Enrolled ${keyPeople.length} security keys (${values.attestation} attestation) and ${appPeople.length} authenticator apps through enrolment links in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
cis2.stop();
await store.close();

const configuration = await client.discovery(
  new URL(issuer),
  benchClientId,
  { token_endpoint_auth_signing_alg: "RS256" },
  client.PrivateKeyJwt({ key: key.privateKey, kid: key.publicJwk.kid }),
  { execute: [client.allowInsecureRequests] },
);

/** The form each sign-in page asks for; undefined for a page no sign-in should reach. */
function answer(page: Page, uuid: string): Record<string, string> {
  const action = formAction(page);
  if (action.endsWith("/identify")) return { identifier: uuid };
  if (action.endsWith("/role")) return { role: /name="role"[^>]*value="([^"]+)"/.exec(page.body)?.[1] ?? "" };
  if (action.endsWith("/security-key")) {
    const options = JSON.parse(unescapeHtml(/data-webauthn-options="([^"]+)"/.exec(page.body)?.[1] ?? ""));
    return { response: JSON.stringify((authenticators.get(uuid) as SoftwareAuthenticator).get(options)) };
  }
  if (action.endsWith("/app")) {
    const app = appSecrets.get(uuid) as { secret: string; lastStep: number };
    // A code is accepted once, within a step either side of now: the next unused step.
    const step = Math.max(app.lastStep + 1, timeStep(new Date()) - 1);
    app.lastStep = step;
    return { password, code: codeAt(app.secret, new Date(step * 30_000)) };
  }
  throw new Error(`unexpected form ${action} (${page.status})`);
}

/** One whole sign-in, checked: the method and class in the ID token, the role, UserInfo agreeing. */
async function signIn(uuid: string, acr: string, method: string): Promise<void> {
  const browser = new HttpBrowser(origin, agent, workstationAddress(uuid));
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: benchRedirectUri,
    scope: benchScope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
    acr_values: acr,
  });
  let page = await browser.open(url.href);
  for (let pages = 0; pages < 6 && !page.url.startsWith(benchRedirectUri); pages++)
    page = await browser.submit(formAction(page), answer(page, uuid));
  if (!page.url.startsWith(benchRedirectUri)) throw new Error(`no redirect to the client: ${page.status}`);
  const tokens = await client.authorizationCodeGrant(configuration, new URL(page.url), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  if (claims?.sub !== uuid || claims.acr !== acr || (claims.amr as string[])?.[0] !== method)
    throw new Error(`unexpected ID token ${JSON.stringify(claims)}`);
  if (!claims.selected_roleid) throw new Error(`no role selected for ${uuid}`);
  const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, uuid);
  if (userinfo.selected_roleid !== claims.selected_roleid) throw new Error("UserInfo disagrees");
}

type Run = { times: number[]; failed: number; firstFailure?: string; seconds: number; perSecond: number };

/** `count` sign-ins, `concurrency` at once; sign-in number i of worker w uses that worker's own users. */
async function run(people: string[], count: number, acr: string, method: string): Promise<Run> {
  const usable = (uuid: string) =>
    method !== "TOTP" || (appSecrets.get(uuid)?.lastStep ?? 0) < timeStep(new Date()) + 1;
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
        if (!usable(uuid)) {
          // Every code this user could give now is spent: wait for the next time step.
          if (own.every((other) => !usable(other))) await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        next++;
        const sent = performance.now();
        try {
          await signIn(uuid, acr, method);
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
  `${label.padEnd(30)} ${result.perSecond.toFixed(1).padStart(6)} sign-ins/s  p50 ${percentile(result.times, 0.5).toFixed(0)} ms  p99 ${percentile(result.times, 0.99).toFixed(0)} ms  max ${percentile(result.times, 1).toFixed(0)} ms  (${result.times.length} in ${result.seconds.toFixed(1)} s, ${result.failed} failed${result.firstFailure ? `: ${result.firstFailure}` : ""})`;

const pids = { server: [server.pid as number], postgres: await backendPids(databaseUrl) };
/** Runs and reports a measured round with the CPU each part spent per sign-in. */
async function measured(label: string, people: string[], count: number, acr: string, method: string) {
  const before = {
    server: cpuSeconds(pids.server),
    postgres: cpuSeconds(pids.postgres),
    me: process.cpuUsage(),
  };
  const result = await run(people, count, acr, method);
  const generator = process.cpuUsage(before.me);
  const perSignIn = (seconds: number) => `${((seconds * 1000) / count).toFixed(1)} ms`;
  console.log(report(label, result));
  console.log(
    `  CPU per sign-in: service ${perSignIn(cpuSeconds(pids.server) - before.server)} + PostgreSQL ${perSignIn(cpuSeconds(pids.postgres) - before.postgres)}; browser and relying party ${perSignIn((generator.user + generator.system) / 1e6)}`,
  );
}

console.log(`load average before: ${execFileSync("uptime").toString().trim()}`);
started = performance.now();
console.log(
  report("warm-up (security key)", await run(keyPeople, Number(values.warmup), "AAL3_FIDO2", "FIDO2")),
);
pids.postgres = await backendPids(databaseUrl);
await measured(
  `security key, ${concurrency} at once`,
  keyPeople,
  Number(values["sign-ins"]),
  "AAL3_FIDO2",
  "FIDO2",
);
if (appUsers > 0) {
  pids.postgres = await backendPids(databaseUrl);
  await measured(
    `app (Argon2id m=${passwordHashParameters.memoryCost} KiB t=${passwordHashParameters.timeCost} p=${passwordHashParameters.parallelism} + TOTP), ${concurrency} at once`,
    appPeople,
    Number(values["totp-sign-ins"]),
    "AAL2_TOTP",
    "TOTP",
  );
}
console.log(`load average after: ${execFileSync("uptime").toString().trim()}`);
agent.destroy();
await stopProcess(server);

async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}
