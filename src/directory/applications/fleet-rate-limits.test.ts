import assert from "node:assert/strict";
import { test } from "node:test";
import { onPostgres, testStore } from "../../../test/support/test-store.ts";
import { openStore, type Store } from "../../store/database.ts";
import { FleetRateLimits } from "./fleet-rate-limits.ts";

const minute = 60_000;

test("two nodes count one key's requests together: each sees the other's after a flush", async (t) => {
  const store = await testStore(t);
  // On PostgreSQL the second node has a pool of its own on the same database, as another process would.
  const second = onPostgres ? await openStore({ databaseUrl: databaseUrlOf(store.location) }) : store;
  const [nodeA, nodeB] = [new FleetRateLimits(store.db), new FleetRateLimits(second.db)];
  try {
    await countTogether(store, nodeA, nodeB);
  } finally {
    nodeA.stop();
    nodeB.stop();
    // Before the test's database is dropped, which waits for every session on it to end.
    if (second !== store) await second.close();
  }
});

async function countTogether(store: Store, nodeA: FleetRateLimits, nodeB: FleetRateLimits): Promise<void> {
  const now = Date.UTC(2026, 11, 2, 10, 0, 15);

  for (let request = 1; request <= 30; request++)
    assert.equal(nodeA.count("/fhir:key-1", minute, now).current, request);
  for (let request = 1; request <= 20; request++) nodeB.count("/fhir:key-1", minute, now);
  assert.equal(nodeB.count("/fhir:key-2", minute, now).current, 1, "keys count apart");
  await nodeA.flush(now);
  await nodeB.flush(now);
  await nodeA.flush(now);
  const next = nodeA.count("/fhir:key-1", minute, now + 1000);
  assert.equal(next.current, 51, "node A decides on the fleet's 50 plus its own");
  assert.equal(next.ttl, 44_000, "the window ends on the minute, alike on every node");
  assert.equal(nodeB.count("/fhir:key-1", minute, now + 1000).current, 51, "node B too, after its flush");
  await nodeA.flush(now + 1000);
  await nodeB.flush(now + 1000);

  const nextWindow = now + minute;
  assert.equal(nodeA.count("/fhir:key-1", minute, nextWindow).current, 1, "a new window starts from nothing");
  await nodeA.flush(nextWindow);
  const rows = await store.db
    .selectFrom("api_rate_limits")
    .select(["key", "count"])
    .orderBy("window_start")
    .execute();
  assert.deepEqual(
    rows.filter((row) => row.key === "/fhir:key-1").map((row) => row.count),
    [52, 1],
    "each window's count is the fleet's",
  );
}

test("while the database is away, counts are kept and added when it answers again", async (t) => {
  const store = await testStore(t);
  const limits = new FleetRateLimits(store.db);
  t.after(() => limits.stop());
  const now = Date.UTC(2026, 11, 2, 10, 0, 15);
  for (let request = 0; request < 5; request++) limits.count("/fhir:key-1", minute, now);
  await store.db.schema.alterTable("api_rate_limits").renameTo("api_rate_limits_away").execute();
  await assert.rejects(limits.flush(now));
  await store.db.schema.alterTable("api_rate_limits_away").renameTo("api_rate_limits").execute();
  await limits.flush(now);
  const row = await store.db.selectFrom("api_rate_limits").select("count").executeTakeFirstOrThrow();
  assert.equal(row.count, 5, "nothing counted was lost");
});

function databaseUrlOf(location: string): string {
  const url = new URL(location);
  url.password = new URL(process.env.TEST_DATABASE_URL as string).password;
  return url.toString();
}
