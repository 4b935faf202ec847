import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import pg from "pg";
import { demoClientConfiguration, exchange, signIn } from "../cis2/journey.ts";
import { accessTokenFor, api } from "../registration/cim-api.ts";
import type { Cis2Server } from "../support/cis2-server.ts";
import { startPrivatePostgres } from "../support/private-postgres.ts";
import { cimRelyingParty, serviceMasterKey, startServiceProcess } from "../support/service-process.ts";
import { onPostgres } from "../support/test-store.ts";

/**
 * PostgreSQL restarts under the service while it is busy: the service process lives on,
 * readiness fails while the database is away and passes again by itself, requests in the gap are
 * told to retry (never shown internals), and every write it acknowledged is there afterwards.
 * The test's own PostgreSQL is restarted, never the one other tests share; it runs in the
 * PostgreSQL pass of the suite.
 */
const internals =
  /ECONNREFUSED|ECONNRESET|57P0\d|terminat|at [\w.<>]+ \(|node_modules|\.ts:\d+|postgres:\/\//;
const seconds = (milliseconds: number) => Math.round(milliseconds / 100) / 10;

type Observation = { at: number; url: string; status: number; body: string };

test("a PostgreSQL restart in the middle of sign-ins, CIM writes and reads is survived and loses nothing acknowledged", {
  skip: onPostgres ? false : "runs in the PostgreSQL pass (TEST_DATABASE_URL)",
}, async (t) => {
  const postgres = await startPrivatePostgres(t);
  const admin = new pg.Client({ connectionString: postgres.url() });
  await admin.connect();
  await admin.query("CREATE DATABASE careid");
  await admin.end();
  const databaseUrl = postgres.url("careid");
  const service = await startServiceProcess(t, { DATABASE_URL: databaseUrl });
  const server = { origin: service.origin, issuer: service.issuer } as Cis2Server;
  const configuration = await demoClientConfiguration(server);
  const managerToken = await accessTokenFor(server, "margaret.oconnell@nhs.net", {
    relyingParty: await cimRelyingParty(service),
  });

  // Every response the test's clients receive, so that none showing internals goes unseen.
  const observed: Observation[] = [];
  const originalFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const response = await originalFetch(input, init);
    if (response.status >= 500) {
      const url = input instanceof Request ? input.url : String(input);
      observed.push({ at: Date.now(), url, status: response.status, body: await response.clone().text() });
    }
    return response;
  };
  t.after(() => {
    globalThis.fetch = originalFetch;
  });

  const acknowledged = { positions: [] as string[], accessTokens: [] as string[] };
  const successes: Record<"signIn" | "write" | "read", number[]> = { signIn: [], write: [], read: [] };
  const readiness: { at: number; status: number }[] = [];
  let running = true;
  const loop = async (work: () => Promise<void>) => {
    while (running) {
      try {
        await work();
      } catch {
        // Refused in the gap: the outcome is not acknowledged, so nothing is owed.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  let written = 0;
  const load = [
    loop(async () => {
      const journey = await signIn(server, configuration, {
        identifier: "tunde.adebayo@nhs.net",
        acr: "AAL1_USERPASS",
        chooseRole: (html) => /name="role" type="radio" value="(\d{12})"/.exec(html)?.[1],
      });
      const tokens = await exchange(configuration, journey);
      acknowledged.accessTokens.push(tokens.access_token);
      successes.signIn.push(Date.now());
    }),
    loop(async () => {
      const name = `Restart ward ${++written}`;
      const response = await fetch(`${service.origin}${api}/organisations/RZZ/positions`, {
        method: "POST",
        headers: { authorization: `Bearer ${managerToken}`, "content-type": "application/json" },
        body: JSON.stringify({ name, accessProfiles: [{ jobRole: "R8001" }] }),
      });
      if (response.status !== 201) throw new Error(`not written: ${response.status}`);
      acknowledged.positions.push(name);
      successes.write.push(Date.now());
    }),
    loop(async () => {
      const response = await fetch(`${service.origin}/api/organisations/RZZ`);
      if (response.status !== 200) throw new Error(`not read: ${response.status}`);
      successes.read.push(Date.now());
    }),
    loop(async () => {
      const response = await fetch(`${service.origin}/health/ready`);
      readiness.push({ at: Date.now(), status: response.status });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }),
  ];

  await new Promise((resolve) => setTimeout(resolve, 3000));
  const stoppedAt = Date.now();
  postgres.stop();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  postgres.start();
  const backAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  running = false;
  await Promise.all(load);

  assert.equal(service.child.exitCode, null, `the service died:\n${service.output()}`);
  assert.ok(
    readiness.some((probe) => probe.at > stoppedAt && probe.at < backAt && probe.status === 503),
    "readiness failed while PostgreSQL was away",
  );
  const ready = readiness.find((probe) => probe.at > backAt && probe.status === 200);
  assert.ok(ready, "readiness passed again by itself");
  assert.ok(
    ready.at - backAt < 10_000,
    `readiness passed ${seconds(ready.at - backAt)} s after PostgreSQL was back`,
  );
  for (const [kind, times] of Object.entries(successes)) {
    assert.ok(
      times.some((at) => at < stoppedAt),
      `${kind} worked before the restart`,
    );
    const first = times.find((at) => at > backAt);
    assert.ok(first, `${kind} worked again after the restart`);
    assert.ok(
      first - backAt < 10_000,
      `${kind} recovered ${seconds(first - backAt)} s after PostgreSQL was back`,
    );
  }
  for (const failure of observed) {
    assert.doesNotMatch(failure.body, internals, `${failure.status} at ${failure.url} shows internals`);
    assert.equal(
      failure.status,
      503,
      `${failure.url} answered ${failure.status}: ${failure.body.slice(0, 300)}`,
    );
  }

  const listed = await fetch(`${service.origin}${api}/organisations/RZZ/positions`, {
    headers: { authorization: `Bearer ${managerToken}` },
  });
  const names = new Set(((await listed.json()) as { name: string }[]).map((definition) => definition.name));
  const lost = acknowledged.positions.filter((name) => !names.has(name));
  assert.deepEqual(lost, [], "every position definition answered 201 is there");
  const userinfo = configuration.serverMetadata().userinfo_endpoint as string;
  for (const token of acknowledged.accessTokens) {
    const answer = await fetch(userinfo, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200, "every access token issued still works");
  }
  const verified = execFileSync(
    process.execPath,
    [new URL("../../src/main.ts", import.meta.url).pathname, "audit", "verify"],
    {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        CAREID_MASTER_KEY: serviceMasterKey,
        LOG_LEVEL: "silent",
      },
      encoding: "utf8",
    },
  );
  assert.match(verified, /The audit log is intact/);
  t.diagnostic(
    `before/after: ${successes.signIn.length} sign-ins, ${acknowledged.positions.length} writes, ${successes.read.length} reads; ${observed.length} answers of 503 in the gap`,
  );
});
