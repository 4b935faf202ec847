/**
 * What the CIS2 benchmarks share: the benchmark relying party, its key, authorization codes
 * minted through oidc-provider's own models, pre-signed client assertions, the service started as
 * its own process on a fresh PostgreSQL database, and a small HTTP load generator.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import type Provider from "oidc-provider";
import * as client from "openid-client";
import pg from "pg";
import { startCis2 } from "../src/app/start-cis2.ts";
import { operatorActor } from "../src/audit/actor.ts";
import { withAuditKey } from "../src/audit/chain-key.ts";
import { addClient } from "../src/cis2/clients.ts";
import { clientValidator } from "../src/cis2/start.ts";
import { loadConfig, realmPath } from "../src/config.ts";
import { readCodeLists, syncCodeLists } from "../src/rbac/code-lists.ts";
import { seedDemo } from "../src/seed/demo.ts";
import { openStore } from "../src/store/database.ts";
import { migrate } from "../src/store/migrate.ts";

export const benchClientId = "888888888888.apps.national";
export const benchRedirectUri = "http://127.0.0.1:3001/callback";
/** A typical CIS2 request: identity, the person's roles and the role chosen for this session. */
export const benchScope = "openid profile nationalrbacaccess selectedrole";
export const benchMasterKey = "cd".repeat(32);
/** One PKCE pair for every minted code: the server still hashes and compares it each time. */
export const codeVerifier = "bench-code-verifier-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG";
const codeChallenge = createHash("sha256").update(codeVerifier).digest("base64url");

export type ClientKey = {
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  publicJwk: JWK;
};

/** RS256 2048, as CIS2 asks of relying parties. */
export async function clientKey(): Promise<ClientKey> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", {
    modulusLength: 2048,
    extractable: true,
  });
  return {
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid: "bench-1", alg: "RS256", use: "sig" },
  };
}

export function benchClientMetadata(publicJwk: JWK) {
  return {
    client_id: benchClientId,
    client_name: "Benchmark relying party",
    token_endpoint_auth_method: "private_key_jwt",
    token_endpoint_auth_signing_alg: "RS256",
    jwks: { keys: [publicJwk] },
    redirect_uris: [benchRedirectUri],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    scope: benchScope,
    id_token_signed_response_alg: "RS256",
  };
}

/** Client assertions signed ahead of the run (each with its own jti), so the generator only sends. */
export async function signAssertions(key: ClientKey, audience: string, count: number): Promise<string[]> {
  const assertions: string[] = [];
  const now = Math.floor(Date.now() / 1000);
  for (let index = 0; index < count; index++) {
    assertions.push(
      await new SignJWT({})
        .setProtectedHeader({ alg: "RS256", kid: key.publicJwk.kid })
        .setIssuer(benchClientId)
        .setSubject(benchClientId)
        .setAudience(audience)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + 900)
        .sign(key.privateKey),
    );
  }
  return assertions;
}

export type Account = { uuid: string; roleProfileId?: string };

/**
 * Mints authorization codes as a finished sign-in leaves them: for each code a Session and a
 * Grant of its own (payloads shaped exactly as the sign-in journey stores them), saved through
 * the provider's models and so through whatever adapter it has. Codes live `lifetime` seconds
 * (the service's own 60 s would expire before a long run reaches them).
 */
export async function mintCodes(
  provider: Provider,
  accounts: Account[],
  count: number,
  options: {
    lifetime?: number;
    concurrency?: number;
    onSession?: (sessionUid: string, account: Account) => Promise<void>;
  } = {},
): Promise<string[]> {
  const codes: string[] = new Array(count);
  let next = 0;
  const mintOne = async (index: number) => {
    const account = accounts[index % accounts.length] as Account;
    const authTime = Math.floor(Date.now() / 1000);
    const grant = new provider.Grant({ clientId: benchClientId, accountId: account.uuid });
    grant.addOIDCScope(benchScope);
    grant.addOIDCClaims(["selected_roleid"]);
    const grantId = await grant.save();
    const sid = randomUUID();
    const Session = provider.Session as unknown as new (
      payload: Record<string, unknown>,
    ) => { uid: string; save(ttl: number): Promise<string> };
    const session = new Session({
      accountId: account.uuid,
      acr: "AAL1_USERPASS",
      amr: ["pwd"],
      loginTs: authTime,
      authorizations: { [benchClientId]: { sid, grantId } },
    });
    await session.save(12 * 3600);
    await options.onSession?.(session.uid, account);
    const code = new provider.AuthorizationCode({
      accountId: account.uuid,
      acr: "AAL1_USERPASS",
      amr: ["pwd"],
      authTime,
      claims: {
        id_token: {
          acr: { values: ["AAL1_USERPASS"] },
          amr: null,
          sid: null,
          auth_time: { essential: true },
          selected_roleid: null,
        },
      },
      clientId: benchClientId,
      codeChallenge,
      codeChallengeMethod: "S256",
      expiresIn: options.lifetime ?? 1800,
      expiresWithSession: true,
      grantId,
      nonce: randomUUID(),
      redirectUri: benchRedirectUri,
      scope: benchScope,
      sessionUid: session.uid,
      sid,
    } as never);
    codes[index] = await code.save();
  };
  await Promise.all(
    Array.from({ length: options.concurrency ?? 8 }, async () => {
      while (next < count) await mintOne(next++);
    }),
  );
  return codes;
}

/** Drops and creates a database beside the admin one; returns its URL. */
/** The PostgreSQL database a benchmark creates its own databases from, named by BENCH_ADMIN_URL. */
export function benchAdminUrl(): string {
  const adminUrl = process.env.BENCH_ADMIN_URL;
  if (!adminUrl)
    throw new Error("Set BENCH_ADMIN_URL to a PostgreSQL database this user may create databases from");
  return adminUrl;
}

export async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const target = new URL(adminUrl);
  target.pathname = `/${name}`;
  return target.toString();
}

/** Starts a program as its own process and waits until `ready` answers 200. */
export async function startProcess(
  args: string[],
  env: Record<string, string>,
  ready: string,
  cwd?: string,
): Promise<ChildProcess> {
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(ready)).ok) return child;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`${args.join(" ")} exited with ${child.exitCode}`);
    if (attempt > 300) throw new Error(`${args.join(" ")} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

export type LoadResult = {
  completed: number;
  failed: number;
  seconds: number;
  perSecond: number;
  latencies: number[];
  firstFailure?: string;
};

/**
 * Sends one request per body with `concurrency` in flight over keep-alive connections; each
 * answer must be 200 and carry what `check` looks for.
 */
export async function fire(
  url: string,
  bodies: string[],
  concurrency: number,
  check: (body: string) => boolean,
): Promise<LoadResult> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const send = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            "content-length": Buffer.byteLength(body),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          response.on("error", reject);
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++] as string;
        const sent = performance.now();
        const answer = await send(body).catch((error: Error) => ({ status: 0, text: error.message }));
        latencies.push(performance.now() - sent);
        if (answer.status !== 200 || !check(answer.text)) {
          failed++;
          firstFailure ??= `${answer.status} ${answer.text.slice(0, 300)}`;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return {
    completed: bodies.length - failed,
    failed,
    seconds,
    perSecond: (bodies.length - failed) / seconds,
    latencies,
    firstFailure,
  };
}

export function percentile(milliseconds: number[], fraction: number): number {
  const sorted = [...milliseconds].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

/** CPU seconds (user and system) the given processes have used so far, from /proc (Linux). */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process has gone
    }
  }
  return ticks / 100;
}

/** Updates the planner's statistics of every table of a database, as autovacuum would in time. */
export async function analyzeDatabase(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query("ANALYZE");
  await client.end();
}

/** The server processes of PostgreSQL serving one database (to charge their CPU to a run). */
export async function backendPids(databaseUrl: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const result = await client.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
  );
  await client.end();
  return result.rows.map((row) => row.pid);
}

/**
 * A fresh service database for a CIS2 benchmark: migrated, the demo directory loaded, CIS2
 * started in-process (demo client and passwords seeded) and the benchmark client registered.
 * Returns the environment for `careid serve` on that database, and the open store and CIS2 for
 * further setup; the caller stops and closes them before measuring.
 */
export async function prepareService(options: {
  adminUrl: string;
  database: string;
  port: string;
  poolSize: number;
  extraEnvironment?: Record<string, string>;
}) {
  const databaseUrl = await freshDatabase(options.adminUrl, options.database);
  const issuer = `http://127.0.0.1:${options.port}${realmPath}`;
  const environment: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    CAREID_MASTER_KEY: benchMasterKey,
    CAREID_ISSUER: issuer,
    PORT: options.port,
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    CAREID_LDAP_PORT: "0",
    // Each simulated person signs in from an address of their own (workstationAddress), as
    // people at many workstations would; the sign-in throttles count per address.
    CAREID_TRUST_PROXY: "true",
    ...options.extraEnvironment,
  };
  const store = withAuditKey(
    await openStore({ databaseUrl, poolSize: options.poolSize }),
    Buffer.from(benchMasterKey, "hex"),
  );
  await migrate(store);
  await syncCodeLists(store.db, operatorActor());
  await seedDemo(store.db, operatorActor());
  const lists = await readCodeLists(store.db);
  const cis2 = await startCis2(loadConfig(environment), store, lists, { seed: true, actor: operatorActor() });
  const key = await clientKey();
  await addClient(
    store.db,
    operatorActor(),
    cis2.sealer,
    benchClientMetadata(key.publicJwk),
    clientValidator(cis2.host),
  );
  return { databaseUrl, issuer, environment, store, lists, cis2, key };
}

export type SignInRun = {
  times: number[];
  failed: number;
  firstFailure?: string;
  seconds: number;
  perSecond: number;
};

/** Runs `count` sign-ins, `users` at a time, each timed whole; a failure is counted, not fatal. */
export async function runSignIns(
  count: number,
  users: number,
  oneSignIn: (index: number) => Promise<void>,
): Promise<SignInRun> {
  const times: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: users }, async () => {
      while (next < count) {
        const index = next++;
        const begun = performance.now();
        try {
          await oneSignIn(index);
          times.push(performance.now() - begun);
        } catch (error) {
          failed++;
          firstFailure ??= (error as Error).message;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { times, failed, firstFailure, seconds, perSecond: times.length / seconds };
}

export function reportSignIns(label: string, result: SignInRun): string {
  const at = (fraction: number) => percentile(result.times, fraction).toFixed(0);
  const failures = `${result.failed} failed${result.firstFailure ? `: ${result.firstFailure}` : ""}`;
  return `${label.padEnd(22)} ${result.perSecond.toFixed(1).padStart(6)} sign-ins/s  p50 ${at(0.5)} ms  p99 ${at(0.99)} ms  max ${at(1)} ms  (${result.times.length} in ${result.seconds.toFixed(1)} s, ${failures})`;
}

/**
 * The X-Forwarded-For of a simulated person's workstation: a documentation address (RFC 5737)
 * of their own, so that a benchmark's many people are not throttled as one address would be.
 */
export function workstationAddress(person: string): Record<string, string> {
  const digest = createHash("sha256").update(person).digest();
  return { "x-forwarded-for": `198.51.${digest[0]}.${digest[1]}` };
}

/** The benchmark relying party as openid-client sees it: discovered, signing its assertions with its key. */
export function benchRelyingParty(issuer: string, key: ClientKey): Promise<client.Configuration> {
  return client.discovery(
    new URL(issuer),
    benchClientId,
    { token_endpoint_auth_signing_alg: "RS256" },
    client.PrivateKeyJwt({ key: key.privateKey, kid: key.publicJwk.kid }),
    { execute: [client.allowInsecureRequests] },
  );
}

/**
 * A code-flow authorization request as the benchmark relying party makes it (PKCE S256, state,
 * nonce, the assurance asked for), and the exchange of the code it comes back with, checked.
 */
export async function benchAuthorization(configuration: client.Configuration, acr: string) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: benchRedirectUri,
    scope: benchScope,
    acr_values: acr,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const exchange = (callback: string) =>
    client.authorizationCodeGrant(configuration, new URL(callback), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
  return { url, exchange };
}
