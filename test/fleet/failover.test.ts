import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import {
  assertAuditIntact,
  careid,
  checkFleetTools,
  databaseIn,
  deploy,
  onCleanup,
  startFleet,
  temporaryDirectory,
} from "./fleet.ts";
import { demoPeople, fleetSignIn, type SignedIn } from "./sign-in.ts";

/**
 * Patroni's failover under load: sign-ins, writes to the accredited systems registry (its admin
 * API) and FHIR reads run through two nodes while the primary's Patroni and PostgreSQL are
 * killed. The nodes are not told: they must find the promoted replica through HAProxy by
 * themselves.
 */
const resumeWithinSeconds = 30;

test("the primary killed under load: Patroni promotes the replica, writing resumes within 30 s, no acknowledged write is lost", async (t) => {
  checkFleetTools();
  const clusterDir = temporaryDirectory(t, "patroni");
  onCleanup(t, () => deploy("patroni.sh", ["down", clusterDir]));
  await deploy("patroni.sh", ["up", clusterDir, "25100"]);
  const database = databaseIn(clusterDir);
  const fleet = await startFleet(t, database, { nodes: 2, port: 4800, demo: true });
  const people = (await demoPeople(fleet.origin)).filter((person) => person.positions.length === 1);
  const issued = await careid(["apps", "add", "--name", "Registry admin", "--admin"], fleet.env);
  assert.equal(issued.code, 0, issued.stderr);
  const apikey = /API key \(shown once\): (\S+)/.exec(issued.stdout)?.[1] ?? "";

  const acknowledged: string[] = [];
  const signedIn: SignedIn[] = [];
  const serverErrors: string[] = [];
  let killedAt: number | undefined;
  let firstWriteAfterKill: number | undefined;
  let writes = 0;
  let running = true;

  const write = async () => {
    const partyKey = `A99002-${900000 + ++writes}`;
    const started = Date.now();
    const response = await fetch(`${fleet.origin}/api/directory/systems`, {
      method: "POST",
      headers: { apikey, "content-type": "application/json" },
      body: JSON.stringify({
        odsCode: "A99002",
        manufacturerOdsCode: "YGD04",
        productKey: "7001",
        productName: `Failover write ${writes}`,
        partyKey,
        interactions: ["urn:nhs:names:services:gpconnect:fhir:rest:read:location"],
      }),
    }).catch(() => undefined);
    if (response?.status === 201) {
      acknowledged.push(((await response.json()) as { asid: string }).asid);
      // Resumed: a write begun after the primary was dead is acknowledged.
      if (killedAt && started > killedAt && !firstWriteAfterKill) firstWriteAfterKill = Date.now();
    } else if (response?.status === 500) serverErrors.push(`write: 500 ${await response.text()}`);
  };
  const read = async () => {
    const response = await fetch(
      `${fleet.origin}/healthcare-worker/FHIR/R4/Practitioner/${people[0]?.uuid}`,
      {
        headers: { apikey, accept: "application/fhir+json" },
      },
    ).catch(() => undefined);
    if (response?.status === 500) serverErrors.push(`read: 500 ${await response.text()}`);
  };
  let next = 0;
  const signIn = async () => {
    const person = people[next++ % people.length];
    signedIn.push(
      await fleetSignIn({
        issuer: fleet.issuer,
        identifier: person?.uuid ?? "",
        via: () => fleet.origin,
        retrySeconds: resumeWithinSeconds + 15,
      }),
    );
  };
  // A bounded load: each worker waits a little between requests.
  const worker = async (work: () => Promise<void>, pause: number) => {
    while (running) {
      await work().catch((error: Error) => serverErrors.push(error.message));
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  };
  const workers = [
    worker(write, 100),
    worker(write, 100),
    worker(read, 50),
    worker(signIn, 200),
    worker(signIn, 200),
  ];

  let before = 0;
  try {
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.ok(acknowledged.length > 0, "writes succeed before the failover");
    before = acknowledged.length;
    t.diagnostic(await deploy("patroni.sh", ["kill-primary", clusterDir]));
    killedAt = Date.now();
    const deadline = killedAt + resumeWithinSeconds * 1000;
    while (!firstWriteAfterKill && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    for (const k of [1, 2])
      assert.doesNotThrow(() => process.kill(fleet.nodePid(k), 0), `node ${k} is still running`);
    assert.ok(firstWriteAfterKill, `writing resumed within ${resumeWithinSeconds} s`);
    t.diagnostic(`writing resumed ${((firstWriteAfterKill - killedAt) / 1000).toFixed(1)} s after the kill`);
    // Load goes on for a while on the new primary, then stops.
    const resumedAt = acknowledged.length;
    while (acknowledged.length < resumedAt + 20 && Date.now() < deadline + 15_000)
      await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    running = false;
    await Promise.all(workers);
  }
  assert.deepEqual(serverErrors, [], "no 500 and no sign-in left unfinished");
  assert.ok(acknowledged.length >= before + 20, "writes go on after the failover");
  assert.ok(signedIn.length > 0);

  // Every acknowledged write is on the new primary, every token issued still works.
  const check = new pg.Client({ connectionString: database.url });
  await check.connect();
  try {
    const { rows } = await check.query<{ asid: string }>(
      "SELECT asid FROM accredited_systems WHERE asid = ANY($1::text[])",
      [acknowledged],
    );
    assert.equal(rows.length, acknowledged.length, "every acknowledged write is present");
    const recovery = await check.query<{ in_recovery: boolean }>("SELECT pg_is_in_recovery() AS in_recovery");
    assert.equal(recovery.rows[0]?.in_recovery, false);
  } finally {
    await check.end();
  }
  for (const { accessToken } of signedIn) {
    const userinfo = await fetch(`${fleet.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    assert.equal(userinfo.status, 200, "a token issued before, during or after the failover works");
  }
  t.diagnostic(`${acknowledged.length} writes and ${signedIn.length} sign-ins acknowledged`);
  await assertAuditIntact(fleet.env);
});
