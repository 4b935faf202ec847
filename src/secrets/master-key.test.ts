import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError } from "../config.ts";
import { loadMasterKey } from "./master-key.ts";

test("the embedded database gets a key made once in its data directory, readable by its user alone", (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "careid-key-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const made = loadMasterKey({ masterKey: undefined, dataDir, databaseUrl: undefined });
  assert.equal(made.length, 32);
  assert.equal(statSync(join(dataDir, "master.key")).mode & 0o777, 0o600);
  assert.deepEqual(loadMasterKey({ masterKey: undefined, dataDir, databaseUrl: undefined }), made, "kept");
  assert.equal(readFileSync(join(dataDir, "master.key"), "utf8"), made.toString("base64"));
});

test("on PostgreSQL a key must be given: none is made", (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "careid-key-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const onPostgres = { dataDir, databaseUrl: "postgres://careid@db.example/careid" };
  assert.throws(
    () => loadMasterKey({ ...onPostgres, masterKey: undefined }),
    (error) =>
      error instanceof ConfigError &&
      /^Invalid configuration: CAREID_MASTER_KEY \(or CAREID_MASTER_KEY_FILE\) is required/.test(
        error.message,
      ),
  );
  assert.throws(() => statSync(join(dataDir, "master.key")), /ENOENT/);
  const given = Buffer.alloc(32, 5);
  assert.equal(loadMasterKey({ ...onPostgres, masterKey: given }), given);
});
