import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import pg from "pg";
import {
  assertAuditIntact,
  checkFleetTools,
  deploy,
  onCleanup,
  postgresCluster,
  startFleet,
  temporaryDirectory,
} from "./fleet.ts";
import { demoPeople, fleetSignIn } from "./sign-in.ts";

async function auditEvents(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>("SELECT count(*) AS count FROM audit_events");
    return Number(rows[0]?.count);
  } finally {
    await client.end();
  }
}

test("a base backup and the WAL archive restore into a new cluster the service runs on", async (t) => {
  checkFleetTools();
  const database = await postgresCluster(t, 55901);
  const original = await startFleet(t, database, { nodes: 1, port: 4900, demo: true });
  const people = (await demoPeople(original.origin)).filter((person) => person.positions.length === 1);
  await fleetSignIn({
    issuer: original.issuer,
    identifier: people[0]?.uuid ?? "",
    via: () => original.origin,
  });

  const backup = temporaryDirectory(t, "backup");
  await deploy("backup.sh", [`host=${database.dir} port=55901 user=postgres`, backup]);
  // Written after the base backup: only the WAL archive carries it to the restored cluster.
  await fleetSignIn({
    issuer: original.issuer,
    identifier: people[1]?.uuid ?? "",
    via: () => original.origin,
  });
  const admin = new pg.Client({ connectionString: database.adminUrl });
  await admin.connect();
  await admin.query("SELECT pg_switch_wal()");
  await admin.query("CHECKPOINT");
  await admin.end();
  const written = await auditEvents(database.ownerUrl);
  // The last segment is archived once archive_command has copied it.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await deploy("nodes.sh", ["down", original.dir]);
  await deploy("postgres.sh", ["down", database.dir]);

  const restoredDir = temporaryDirectory(t, "restored");
  await deploy("restore.sh", [backup, join(database.dir, "archive"), restoredDir, "55902"]);
  onCleanup(t, () => deploy("postgres.sh", ["down", restoredDir]));
  const port = (url: string) => url.replace(":55901/", ":55902/");
  const restored = {
    ...database,
    dir: restoredDir,
    url: port(database.url),
    ownerUrl: port(database.ownerUrl),
  };
  assert.equal(
    await auditEvents(restored.ownerUrl),
    written,
    "every event written before the backup and after it",
  );

  // The master key is backed up apart from the database: the restored secrets open only with it.
  const fleet = await startFleet(t, restored, {
    nodes: 1,
    port: 4950,
    demo: true,
    masterKey: original.masterKey,
  });
  const signedIn = await fleetSignIn({
    issuer: fleet.issuer,
    identifier: people[2]?.uuid ?? "",
    via: () => fleet.origin,
  });
  assert.equal(signedIn.sub, people[2]?.uuid);
  await assertAuditIntact(fleet.env);
});
