import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import pg from "pg";
import { startServiceProcess } from "../support/service-process.ts";
import { withDatabase } from "../support/test-store.ts";

const main = new URL("../../src/main.ts", import.meta.url).pathname;

/** Where a service keeps its data in this test: a fresh PostgreSQL database in the PostgreSQL pass, else a data folder. */
async function freshDatabase(t: TestContext): Promise<Record<string, string>> {
  const folder = mkdtempSync(join(tmpdir(), "careid-start-"));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) return { CAREID_DATA_DIR: folder, DATABASE_URL: "" };
  const name = `careid_start_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  t.after(async () => {
    const dropper = new pg.Client({ connectionString: adminUrl });
    await dropper.connect();
    await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await dropper.end();
  });
  return { CAREID_DATA_DIR: folder, DATABASE_URL: withDatabase(adminUrl, name) };
}

function serveOnce(environment: Record<string, string>) {
  return spawnSync(process.execPath, [main, "serve"], {
    env: { ...process.env, LOG_LEVEL: "warn", PORT: "0", CAREID_LDAP_PORT: "0", ...environment },
    encoding: "utf8",
    timeout: 60_000,
  });
}

test("a start that cannot complete exits 1 with one line saying why: no database, another master key", async (t) => {
  const unreachable = serveOnce({
    DATABASE_URL: "postgres://careid:secret@127.0.0.1:1/careid",
    CAREID_MASTER_KEY: "cd".repeat(32),
  });
  assert.equal(unreachable.status, 1);
  assert.equal(unreachable.stderr.trim().split("\n").length, 1, unreachable.stderr);
  assert.match(
    unreachable.stderr,
    /^careid serve: cannot start: the database at postgres:\/\/careid@127\.0\.0\.1:1\/careid is unreachable \(ECONNREFUSED\)/,
  );
  assert.doesNotMatch(unreachable.stderr, /secret/);

  const database = await freshDatabase(t);
  const first = await startServiceProcess(t, { ...database, CAREID_MASTER_KEY: "ab".repeat(32) });
  first.child.kill("SIGTERM");
  assert.equal(await first.exited(), 0);
  const otherKey = serveOnce({ ...database, CAREID_MASTER_KEY: "cd".repeat(32) });
  assert.equal(otherKey.status, 1, "a node with another master key stops instead of hanging");
  assert.equal(otherKey.stderr.trim().split("\n").length, 1, otherKey.stderr);
  assert.match(
    otherKey.stderr,
    /^careid serve: cannot start: .*sealed under another master key.*CAREID_MASTER_KEY/,
  );
});

test("SIGTERM drains: readiness fails at once, requests are still answered, then the process exits 0", async (t) => {
  const service = await startServiceProcess(t, { ...(await freshDatabase(t)), CAREID_DRAIN_SECONDS: "2" });
  assert.equal((await fetch(`${service.origin}/health/ready`)).status, 200);
  const signalled = Date.now();
  service.child.kill("SIGTERM");
  await new Promise((resolve) => setTimeout(resolve, 300));
  const ready = await fetch(`${service.origin}/health/ready`);
  assert.equal(ready.status, 503);
  assert.match(await ready.text(), /shutting down/);
  assert.equal((await fetch(`${service.origin}/health/live`)).status, 200);
  assert.equal(
    (await fetch(`${service.origin}/api/organisations/RZZ`)).status,
    200,
    "still serving while draining",
  );
  assert.equal(await service.exited(), 0);
  assert.ok(Date.now() - signalled >= 2000, "it waited for the drain before closing");
});
